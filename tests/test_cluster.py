from __future__ import annotations

import socket

import pytest

from fcray import cluster


@pytest.fixture()
def current_cluster_file(monkeypatch, tmp_path):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_TMPDIR", str(tmp_path))  # where Ray (and so fcray) looks for the current cluster
    path = tmp_path / "ray" / "ray_current_cluster"
    path.parent.mkdir()
    return path


def test_ray_address_env_wins(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "http://10.0.0.1:8265")
    assert cluster.init_address() == "http://10.0.0.1:8265"


def test_stale_cluster_file_starts_a_new_local_instance(current_cluster_file):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    current_cluster_file.write_text(f"127.0.0.1:{port}")
    assert cluster.init_address() == "local"
    current_cluster_file.unlink()
    assert cluster.init_address() == "local"


def test_live_local_cluster_is_reused(current_cluster_file):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        current_cluster_file.write_text(f"127.0.0.1:{server.getsockname()[1]}")
        assert cluster.init_address() == "auto"


def test_a_head_that_asks_for_a_token_gets_token_auth_clients(monkeypatch):
    import http.server
    import threading

    class Guarded(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(401)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Guarded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
        assert cluster._client_env(address) == {"RAY_AUTH_MODE": "token"}
        monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the caller's own choice wins
        assert cluster._client_env(address) == {}
    finally:
        server.shutdown()
