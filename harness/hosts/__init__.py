"""Reaching a host: the ``Host`` handle, testinfra backends with deadlines, SSH, the inventory."""
