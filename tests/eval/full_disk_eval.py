"""Run inside a mount namespace with a small tmpfs at argv[1] (tests/eval/test_run.py's full-disk test): an
eval against the fault server writes its predictions there until the disk is full; then the tmpfs grows
("space is freed") and the same eval resumes. Prints what it saw as JSON."""

import json
import subprocess
import sys
from pathlib import Path

from fcray.config import EvalConfig
from fcray.eval.errors import EvalError
from fcray.eval.run import load_predictions, run_eval
from fcray.synth.generator import generate_examples
from tests.fault_server import FaultServer

out = Path(sys.argv[1]) / "eval"
examples = generate_examples(int(sys.argv[2]), seed=3)
config = EvalConfig(backend="endpoint", endpoint="http://unset/v1", bootstrap_samples=100, batch_size=8,
                    concurrency=1, max_examples=None)
seen = {}
with FaultServer() as server:
    try:
        run_eval(server.model, examples, EvalConfig(**{**config.__dict__, "endpoint": server.url}), out,
                 log=lambda *_: None)
        seen["error"] = None
    except EvalError as error:
        seen["error"] = str(error)
    seen["kept"] = len(load_predictions(out))
    seen["kept_ids_unique"] = len({p["id"] for p in load_predictions(out)}) == seen["kept"]
    seen["generated"] = len(server.served)
    subprocess.run(["mount", "-o", "remount,size=16m", sys.argv[1]], check=True)
    results = run_eval(server.model, examples, EvalConfig(**{**config.__dict__, "endpoint": server.url}), out,
                       log=lambda *_: None)
    seen["resumed_generated"] = len(server.served) - seen["generated"]
    seen["final"] = len(load_predictions(out))
    seen["examples"] = results["examples"]
print(json.dumps(seen))
