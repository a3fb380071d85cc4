"""The pytest plugin: its hooks, the lab session, progress, the journal recorder, scheduling."""
