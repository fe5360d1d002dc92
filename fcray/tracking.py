"""Experiment tracking: TRL's and fcray's metrics in TensorBoard, MLflow or Weights & Biases.

Every stage keeps writing its own ``metrics.jsonl`` (what fcray's curves and report read); trackers get the
same figures under the same names, so a user can follow a run in the tool they already use:

* the trainers (SFT, GRPO) pass ``report_to`` to TRL, whose callbacks log every step on rank 0 only (one
  event file / one MLflow run per training run, however many Ray Train workers); fcray's own step figures
  (tokens/s, MFU, reward components' time split, weight-sync time, rollout tokens/s) are added to the logged
  dict *before* TRL's callbacks see it (:func:`add_first`), so they land in the same tracker run;
* the evaluation logs each model's metrics (``eval/<metric>``, per category ``eval/<category>/<metric>``)
  through :class:`ScalarLogger`, one tracker run per model.

Where things go (:func:`resolve`):

* TensorBoard: ``<run folder>/tensorboard`` for a training run, ``<workdir>/eval/<stage>/tensorboard`` for
  an evaluation (``tensorboard --logdir <workdir>`` shows them all);
* MLflow: ``tracking.mlflow_tracking_uri``, else ``$MLFLOW_TRACKING_URI``, else a SQLite store at
  ``<workdir>/mlflow.db`` (MLflow's recommended local store; its file store is deprecated; browse it with
  ``mlflow ui --backend-store-uri sqlite:///<workdir>/mlflow.db``), experiment ``tracking.experiment``
  (default ``fcray-<preset>``), one MLflow run named after the fcray run;
* W&B: project ``tracking.experiment``, one W&B run named after the fcray run, its files under the run
  folder (``<run folder>/wandb``, unless ``WANDB_DIR`` says otherwise); its credentials and mode come from
  W&B's own environment (``WANDB_API_KEY``, ``WANDB_MODE=offline``), which fcray carries from the driver to
  the Ray Train worker that logs (rank 0), as it carries the run itself.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The Python package each tracker needs, and how to get it.
_PACKAGES = {"tensorboard": ("tensorboard", "pip install tensorboard"),
             "mlflow": ("mlflow", "pip install 'fcray[tracking]' (mlflow-skinny with its SQLite store) or pip install mlflow"),
             "wandb": ("wandb", "pip install wandb (or the fcray[tracking] extra)")}


@dataclass
class Tracking:
    """Where one fcray run (a training run or one model's evaluation) logs; picklable, so it travels to Ray
    Train workers inside the job object."""

    report_to: list[str] = field(default_factory=list)  # without "none"
    tensorboard_dir: str = ""
    mlflow_tracking_uri: str | None = None
    experiment: str = "fcray"
    run_name: str = "fcray"
    # W&B's settings from the driver's environment (WANDB_MODE, WANDB_API_KEY, ...), applied where the
    # tracker runs: a Ray Train worker does not inherit the environment of the process that submitted it
    wandb_env: dict[str, str] = field(default_factory=dict)

    @property
    def run_folder(self) -> str:
        """The folder of this run (the TensorBoard folder's parent): where W&B's files go."""
        return str(Path(self.tensorboard_dir).parent) if self.tensorboard_dir else "."

    @property
    def wandb_dir(self) -> str:
        """Where W&B writes this run's files: ``WANDB_DIR`` when the user set it, else the run folder."""
        return self.wandb_env.get("WANDB_DIR") or os.environ.get("WANDB_DIR") or self.run_folder

    def apply_wandb_env(self) -> None:
        """W&B's environment in a trainer's process, before transformers' W&B callback calls ``wandb.init``
        (it takes no folder or project but W&B's variables): the driver's WANDB_* settings (this process's
        own win), the run's folder and the experiment as project."""
        for key, value in self.wandb_env.items():
            os.environ.setdefault(key, value)
        os.environ["WANDB_DIR"] = self.wandb_dir
        os.environ.setdefault("WANDB_PROJECT", self.experiment)

    @property
    def enabled(self) -> bool:
        return bool(self.report_to)

    def trl_report_to(self) -> list[str] | str:
        """The value for transformers' ``TrainingArguments.report_to``."""
        return list(self.report_to) or "none"

    def require(self) -> None:
        """Fail before any work starts if a tracker's package is missing, saying how to install it."""
        for name in self.report_to:
            module, how = _PACKAGES[name]
            if importlib.util.find_spec(module) is None:
                raise RuntimeError(f"report_to names '{name}', but the '{module}' package is not installed: "
                                   f"{how}, or drop '{name}' from report_to")


def resolve(config: Any, report_to: list[str] | None, tensorboard_dir: str | Path, run_name: str) -> Tracking:
    """The :class:`Tracking` of one run of ``config``: ``report_to`` is the stage's own list (None: the
    ``tracking.report_to`` default)."""
    from fcray import workdir as workdir_layout

    names = [n for n in (config.tracking.report_to if report_to is None else report_to) if n != "none"]
    uri = config.tracking.mlflow_tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if "mlflow" in names and not uri:
        uri = f"sqlite:///{workdir_layout.root(config) / 'mlflow.db'}"
    wandb_env = {k: v for k, v in os.environ.items() if k.startswith("WANDB_")} if "wandb" in names else {}
    return Tracking(report_to=names, tensorboard_dir=str(tensorboard_dir), mlflow_tracking_uri=uri,
                    experiment=config.tracking.experiment or f"fcray-{config.preset}", run_name=run_name,
                    wandb_env=wandb_env)


@contextlib.contextmanager
def trainer_construction(tracking: Tracking) -> Iterator[None]:
    """Around the construction of a transformers Trainer: its TensorBoard callback reads its folder from
    ``TENSORBOARD_LOGGING_DIR`` when it is built (the documented way; the variable is restored after)."""
    saved = os.environ.get("TENSORBOARD_LOGGING_DIR")
    os.environ["TENSORBOARD_LOGGING_DIR"] = tracking.tensorboard_dir
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TENSORBOARD_LOGGING_DIR", None)
        else:
            os.environ["TENSORBOARD_LOGGING_DIR"] = saved


def numeric(values: dict[str, Any]) -> dict[str, float]:
    """The entries a tracker can plot (numbers; not None, not text)."""
    return {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def add_first(trainer: Any, callback: Any) -> None:
    """Add ``callback`` ahead of the trackers' callbacks: transformers calls ``on_log`` of each callback in
    order with the same dict, so the figures a callback adds there reach TensorBoard/MLflow/W&B too."""
    trainer.callback_handler.callbacks.insert(0, callback)


def trainer_callback(tracking: Tracking):
    """A callback (add it with :func:`add_first`) that points MLflow at fcray's store and experiment on rank 0
    before transformers' MLflow callback starts its run; W&B's project likewise."""
    from transformers import TrainerCallback

    class TrackerSetup(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            if "mlflow" in tracking.report_to:
                import mlflow

                mlflow.set_tracking_uri(tracking.mlflow_tracking_uri)
                mlflow.set_experiment(tracking.experiment)
            if "wandb" in tracking.report_to:  # before transformers' W&B callback calls wandb.init
                tracking.apply_wandb_env()

    return TrackerSetup()


class ScalarLogger:
    """Figures logged outside a trainer (an evaluation's metrics) to the same trackers: one TensorBoard
    folder, one MLflow run, one W&B run. Use as a context manager."""

    def __init__(self, tracking: Tracking, params: dict[str, Any] | None = None) -> None:
        self.tracking, self.params = tracking, params or {}
        self._writers: list[Callable[[dict[str, float], int], None]] = []
        self._closers: list[Callable[[], None]] = []

    def __enter__(self) -> ScalarLogger:
        self.tracking.require()
        if "tensorboard" in self.tracking.report_to:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=self.tracking.tensorboard_dir)
            self._writers.append(lambda values, step: [writer.add_scalar(k, v, step) for k, v in values.items()])
            self._closers.append(writer.close)
        if "mlflow" in self.tracking.report_to:
            import mlflow

            client = mlflow.MlflowClient(tracking_uri=self.tracking.mlflow_tracking_uri)
            experiment = client.get_experiment_by_name(self.tracking.experiment)
            experiment_id = (experiment.experiment_id if experiment is not None
                             else client.create_experiment(self.tracking.experiment))
            mlflow_run = client.create_run(experiment_id, run_name=self.tracking.run_name)
            for key, value in self.params.items():
                client.log_param(mlflow_run.info.run_id, key, str(value)[:250])  # MLflow's limit on a parameter value

            def log_mlflow(values: dict[str, float], step: int) -> None:
                for key, value in values.items():
                    client.log_metric(mlflow_run.info.run_id, key, value, step=step)

            self._writers.append(log_mlflow)
            self._closers.append(lambda: client.set_terminated(mlflow_run.info.run_id))
        if "wandb" in self.tracking.report_to:
            import wandb

            wandb_run = wandb.init(project=self.tracking.experiment, name=self.tracking.run_name,
                                   config=self.params, dir=self.tracking.wandb_dir, reinit="create_new")
            self._writers.append(lambda values, step: wandb_run.log(values, step=step))
            self._closers.append(wandb_run.finish)
        return self

    def log(self, values: dict[str, Any], step: int = 0) -> None:
        values = numeric(values)
        for write in self._writers:
            write(values, step)

    def __exit__(self, *exc: Any) -> None:
        for close in self._closers:
            close()


def eval_scalars(results: dict[str, Any]) -> dict[str, float]:
    """An evaluation's results (fcray.eval.run) as tracker scalars: ``eval/<metric>`` (the mean) and
    ``eval/<category>/<metric>``.

    >>> eval_scalars({"metrics": {"parse_rate": {"mean": 0.9}}, "by_category": {"single": {"parse_rate": {"mean": 1.0}}}})
    {'eval/parse_rate': 0.9, 'eval/single/parse_rate': 1.0}
    """
    scalars = {f"eval/{name}": value["mean"] for name, value in results.get("metrics", {}).items()}
    for category, metrics in results.get("by_category", {}).items():
        scalars.update({f"eval/{category}/{name}": value["mean"] for name, value in metrics.items()})
    return numeric(scalars)
