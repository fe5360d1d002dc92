"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model per test session, also used by the load-test tests)."""
