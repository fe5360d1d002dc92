"""fcray's LLMServer keeps Serve's request log alive after vLLM's logging setup. vLLM applies its logging
config with ``dictConfig`` when the engine starts in the replica, which closes Serve's ``MemoryHandler``
(its target dropped): the access-log records then pile up in memory for good (the soak's +1.15 MiB/min).
Here the real trigger (vLLM's ``configure_logging``) runs in a child process, with and without the fix."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import json, logging, logging.handlers, sys
from fcray.serve.llm_server import buffered_log_targets, restore_log_targets

logger = logging.getLogger("ray.serve")   # as Serve configures a replica's logger
logger.propagate = False
memory = logging.handlers.MemoryHandler(capacity=1, target=logging.handlers.RotatingFileHandler(sys.argv[1]),
                                        flushLevel=logging.ERROR)
logger.addHandler(memory)
held = buffered_log_targets()

from vllm.config.logging import LoggingConfig
from vllm.logger import configure_logging
configure_logging(LoggingConfig())        # what AsyncLLM does as the engine starts
if sys.argv[2] == "restore":
    restore_log_targets(held)
for i in range(100):
    logger.info("CALL chat OK %d", i)
print(json.dumps({"buffered": len(memory.buffer), "has_target": memory.target is not None}))
"""


@pytest.mark.parametrize("mode, buffered, written", [
    ("as vLLM leaves it", 100, 0),   # the leak: every record kept, none written
    ("restore", 0, 100),             # fcray's LLMServer: written and dropped
])
def test_serve_log_after_vllm_configures_logging(tmp_path, mode, buffered, written):
    log = tmp_path / "replica.log"
    out = subprocess.run([sys.executable, "-c", CHILD, str(log), mode], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state == {"buffered": buffered, "has_target": mode == "restore"}
    lines = log.read_text().splitlines() if log.exists() else []
    assert len([line for line in lines if "CALL chat OK" in line]) == written


def test_the_served_configs_deploy_fcrays_llm_server():
    from fcray.config import load_config
    from fcray.serve.config import SERVER_CLS, llm_config
    from fcray.serve.llm_server import FcrayLLMServer

    for preset in ("tiny", "qwen3-0.6b"):
        assert llm_config(load_config(preset), "m")["server_cls"] == SERVER_CLS
    module, name = SERVER_CLS.split(":")
    assert getattr(__import__(module, fromlist=[name]), name) is FcrayLLMServer
