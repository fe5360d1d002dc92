"""fcray.credentials: keys by reference (env:NAME, file:PATH), never by value; clear errors naming the field."""

from __future__ import annotations

import pytest

from fcray.credentials import CredentialError, bearer, check_reference, client_api_key, resolve


@pytest.mark.parametrize("reference, ok", [
    (None, True), ("env:FCRAY_API_KEY", True), ("file:/run/secrets/key", True), ("file:~/.fcray/key", True),
    ("sk-live-123", False), ("env:", False), ("file:", False), ("vault:x", False), ("", False),
])
def test_only_references_are_accepted(reference, ok):
    if ok:
        check_reference(reference, "serve.api_key")
    else:
        with pytest.raises(ValueError, match="serve.api_key: give where the key is"):
            check_reference(reference, "serve.api_key")


def test_a_reference_resolves_to_its_key_or_says_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("FCRAY_TEST_KEY", " k-env\n")
    assert resolve("env:FCRAY_TEST_KEY", "serve.api_key") == "k-env"
    (tmp_path / "key").write_text("k-file\n")
    assert resolve(f"file:{tmp_path / 'key'}", "serve.api_key") == "k-file"
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve("file:~/key", "serve.api_key") == "k-file"
    (tmp_path / "empty").write_text("\n")
    monkeypatch.delenv("FCRAY_NO_SUCH_KEY", raising=False)
    for reference, message in [("env:FCRAY_NO_SUCH_KEY", "FCRAY_NO_SUCH_KEY is not set"),
                               (f"file:{tmp_path / 'nope'}", "cannot read"), (f"file:{tmp_path / 'empty'}", "is empty")]:
        with pytest.raises(CredentialError, match=f"serve.api_key={reference}: .*{message}"):
            resolve(reference, "serve.api_key")


def test_a_client_sends_the_referenced_key_else_openai_api_key_else_none(tmp_path, monkeypatch):
    (tmp_path / "key").write_text("k-file")
    monkeypatch.setenv("OPENAI_API_KEY", "k-openai")
    assert client_api_key(f"file:{tmp_path / 'key'}", "eval.api_key") == "k-file"
    assert client_api_key(None, "eval.api_key") == "k-openai"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert client_api_key(None, "eval.api_key") == "EMPTY"
    assert bearer("EMPTY") == {} and bearer("k") == {"Authorization": "Bearer k"}
