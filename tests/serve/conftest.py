"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model for the bench and serve folders)."""
