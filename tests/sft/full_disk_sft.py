"""Run inside a mount namespace with a small tmpfs at argv[1] (tests/sft/test_full_disk.py): SFT on a local
Ray cluster whose checkpoint storage is that tmpfs, until a checkpoint no longer fits; then the tmpfs grows
("space is freed") and the same run name is submitted again. Prints what it saw as JSON.

argv: storage (the tmpfs), workdir (on the normal disk), the tiny model's folder is found through FCRAY_CACHE.
"""

import json
import subprocess
import sys
from pathlib import Path

import ray

from fcray.config import load_config
from fcray.ray_trainer import CheckpointWriteError, kept_checkpoints
from fcray.sft.train import run_sft

storage, workdir = Path(sys.argv[1]), Path(sys.argv[2])
RUN = "sft-full-disk"
overrides = [f"workdir={workdir}", f"sft.ray_train.storage_path={storage}", "data.num_examples=60",
             "sft.per_device_train_batch_size=2", "sft.logging_steps=1", "sft.save_steps=2", "sft.max_steps=6",
             "sft.ray_train.num_workers=1", "sft.ray_train.max_failures=1", "sft.ray_train.num_to_keep=10"]
ray.init(address="local", num_cpus=2, include_dashboard=False)
seen: dict = {}
try:
    run_sft(load_config("tiny", overrides=overrides), RUN)
    seen["error"] = None
except CheckpointWriteError as error:
    seen["error"] = str(error)
seen["kept"] = kept_checkpoints(storage / RUN)
seen["folders"] = sorted(p.name for p in (storage / RUN).glob("checkpoint_*") if p.is_dir())  # with any cut short
seen["snapshot_bytes"] = (storage / RUN / "checkpoint_manager_snapshot.json").stat().st_size
seen["free_bytes"] = __import__("shutil").disk_usage(storage).free

subprocess.run(["mount", "-o", "remount,size=2g", str(storage)], check=True)
result = run_sft(load_config("tiny", overrides=overrides), RUN)
seen["resumed_step"] = result.metrics["step"]
seen["snapshot_set_aside"] = (storage / RUN / "checkpoint_manager_snapshot.json.unreadable").exists()
lines = [json.loads(line) for line in (workdir / "runs" / RUN / "metrics.jsonl").read_text().splitlines()]
seen["steps_logged"] = [r["step"] for r in lines if r["kind"] == "step"]
seen["model"] = (workdir / "runs" / RUN / "model" / "config.json").exists()
ray.shutdown()
print(json.dumps(seen))
