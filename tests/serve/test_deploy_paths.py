"""The two ways users deploy, on a fresh local Ray head: Ray's own `serve deploy serve_configs/tiny.yaml`,
then `fcray serve` (same app, same head), then `fcray serve --stop`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fcray.cli import main
from fcray.cluster import free_port
from fcray.serve.config import SERVE_CONFIGS

pytestmark = pytest.mark.slow


def _models(url: str) -> list[str]:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as response:
            return [m["id"] for m in json.loads(response.read())["data"]]
    except OSError:
        return []


def test_serve_deploy_of_the_generated_config_and_fcray_serve(tiny_model_dir, monkeypatch, capsys):
    from fcray.cluster import ray_head
    from fcray.serve.launch import app_status

    monkeypatch.setenv("FCRAY_RAY_DASHBOARD_PORT", str(free_port()))  # a head of its own
    url = "http://127.0.0.1:8000/v1"  # the port serve_configs/tiny.yaml sets
    with ray_head(num_cpus=4) as head:
        for key, value in head.env.items():
            monkeypatch.setenv(key, value)
        serve_cli = Path(sys.executable).with_name("serve")
        subprocess.run([str(serve_cli), "deploy", str(SERVE_CONFIGS / "tiny.yaml"), "--address", head.address],
                       check=True)
        deadline = time.time() + 900
        while "fcray-tiny" not in _models(url):
            assert time.time() < deadline, f"serve deploy: app not up ({app_status(head.address)})"
            time.sleep(3)

        monkeypatch.setenv("RAY_ADDRESS", head.address)  # fcray serve uses the running cluster
        assert main(["serve", "--preset", "tiny", "--model", str(tiny_model_dir)]) == 0
        assert "'fcray-tiny'" in capsys.readouterr().out and "fcray-tiny" in _models(url)

        assert main(["serve", "--preset", "tiny", "--stop"]) == 0
        assert "fcray did not start that Ray cluster; it keeps running" in capsys.readouterr().out
        deadline = time.time() + 120
        while _models(url):
            assert time.time() < deadline, "the app is still serving after fcray serve --stop"
            time.sleep(2)
