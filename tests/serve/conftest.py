"""The serve tests share the ``served`` fixture of tests/conftest.py (one Serve deployment of the tiny
model, constrained decoding of tool calls on: its ingress adds fcray's grammar to requests that offer tools
with tool_choice auto and no constraint of their own)."""
