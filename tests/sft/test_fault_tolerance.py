"""A training worker killed mid-run on a multi-node local cluster: Ray restarts the worker group, training
resumes from the latest checkpoint and completes with the planned number of steps."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from fcray.cluster import free_port
from fcray.config import load_config


@pytest.fixture()
def multi_node_cluster():
    import ray
    from ray.cluster_utils import Cluster

    # the state API (list_actors) needs the head's dashboard: on a free port, in case another Ray holds 8265
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "dashboard_port": free_port()})
    for _ in range(2):
        cluster.add_node(num_cpus=1)  # two worker nodes, one training worker each
    ray.init(address=cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()


def _step_records(path):
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["kind"] == "step"]


@pytest.mark.slow
def test_killed_worker_resumes_from_checkpoint(tmp_path, tiny_model_dir, multi_node_cluster):
    from ray.util.state import list_actors

    from fcray.sft.train import run_sft

    config = load_config("tiny", overrides=[
        f"workdir={tmp_path}", "data.num_examples=160", "sft.per_device_train_batch_size=2", "sft.logging_steps=1",
        "sft.save_steps=2", "sft.max_steps=10", "sft.ray_train.num_workers=2", "sft.ray_train.max_failures=2"])
    metrics = tmp_path / "runs" / "sft-fault" / "metrics.jsonl"
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(result=run_sft(config, "sft-fault")))
    thread.start()

    deadline = time.time() + 300
    while time.time() < deadline and len(_step_records(metrics)) < 5:  # a checkpoint (step 2 or 4) exists
        time.sleep(0.5)
    assert len(_step_records(metrics)) >= 5, "training did not reach step 5"
    workers = [a for a in list_actors(filters=[("class_name", "=", "RayTrainWorker"), ("state", "=", "ALIVE")])]
    assert len({w.node_id for w in workers}) == 2  # the workers run on two different nodes
    os.kill(workers[0].pid, signal.SIGKILL)
    killed_at = _step_records(metrics)[-1]["step"]

    thread.join(timeout=600)
    result = outcome["result"]
    assert result.error is None and result.metrics["step"] == 10
    steps = [r["step"] for r in _step_records(metrics)]
    assert steps[-1] == 10 and max(steps) == 10
    restart = next(i for i in range(1, len(steps)) if steps[i] <= steps[i - 1])  # where the resumed run starts
    assert 2 < steps[restart] <= killed_at + 1  # from a checkpoint, not from step 1
    assert steps[restart:] == list(range(steps[restart], 11))
