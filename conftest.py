"""The repository's own pytest settings. The harness itself is the ``labharness`` plugin
(``harness/plugin/hooks.py``), loaded through its pytest11 entry point by ``pip install -e .``."""
