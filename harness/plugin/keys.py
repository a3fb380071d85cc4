"""Names the plugin's parts share, kept apart so that they import downward only.

A check's result and a finished environment travel from xdist workers to the controller in a
report's ``user_properties`` under these keys; the controller's recorder, progress lines and the
distributed controller read them there. ``SESSION_KEY`` finds the run's ``LabSession`` in
``config.stash``.
"""

from __future__ import annotations

from typing import Any

import pytest

RESULT_KEY = "labharness.check"
ENV_KEY = "labharness.env"
SESSION_KEY = pytest.StashKey[Any]()  # harness.plugin.hooks.LabSession
