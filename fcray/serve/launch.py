"""`fcray serve`: deploy the Serve app (a generated ``serve deploy`` config) on a Ray cluster and wait until
the OpenAI API answers.

The deployment goes through Serve's REST API on the cluster's dashboard, exactly what ``serve deploy``
does, so `fcray serve` and `serve deploy serve_configs/<preset>.yaml` produce the same app.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fcray.config import FcrayConfig
from fcray.readiness import get_json, wait_until
from fcray.serve.config import APP_NAME, serve_deploy_config


@dataclass
class Deployment:
    url: str          # OpenAI base URL, e.g. http://127.0.0.1:8000/v1
    model_id: str     # what clients pass as `model`
    model: str        # the model folder / Hub id being served


def model_to_serve(config: FcrayConfig, model: str | None = None) -> str:
    """``--model``, else ``serve.model``: a folder or Hub id as given; ``tiny`` = the embedded model;
    ``pipeline`` = the newest model of this workdir's pipeline (GRPO "C", else SFT "B", else base "A")."""
    choice = model or config.serve.model
    if choice == "tiny":
        return "fcray:tiny"
    if choice != "pipeline":
        path = Path(choice).expanduser()
        if (path.exists() or choice.startswith(("/", ".", "~"))) and not (path / "config.json").exists():
            raise FileNotFoundError(f"model folder {choice} does not exist or has no config.json")
        return str(path.resolve()) if path.exists() else choice
    from fcray.model.tiny import resolve_model_path
    from fcray.workdir import newest_trained_model

    newest = newest_trained_model(config)
    if newest is not None:
        return newest
    return "fcray:tiny" if config.model.name_or_path == "tiny" else resolve_model_path(config.model.name_or_path,
                                                                                         config.model.tiny)


def app_status(dashboard: str) -> tuple[str, str]:
    """(status, message) of fcray's Serve app from the dashboard's Serve API."""
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    details = ServeSubmissionClient(dashboard).get_serve_details()
    app = (details.get("applications") or {}).get(APP_NAME) or {}
    return app.get("status", "NOT_STARTED"), app.get("message", "")


def deploy(config: FcrayConfig, dashboard: str, model: str | None = None, host: str = "127.0.0.1",
           timeout_s: float = 900.0, log=print) -> Deployment:
    """Deploy on the cluster whose dashboard is at ``dashboard`` and wait for the API to list the model."""
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    from fcray.credentials import bearer, client_api_key

    source = model_to_serve(config, model)
    headers = bearer(client_api_key(config.serve.api_key, "serve.api_key"))  # before deploying: fails fast
    ServeSubmissionClient(dashboard).deploy_applications(serve_deploy_config(config, source))
    url = f"http://{host}:{config.serve.port}/v1"
    log(f"[fcray serve] deploying {source} as '{config.serve.model_id}' on {dashboard}; API at {url}")
    state = {"status": "NOT_STARTED", "message": ""}

    def listed() -> bool:
        state["status"], state["message"] = app_status(dashboard)
        code, body = get_json(f"{url}/models", timeout=5, headers=headers)
        return state["status"] == "RUNNING" and code == 200 and any(
            m.get("id") == config.serve.model_id for m in (body or {}).get("data", []))

    def failed() -> str | None:
        if state["status"] in ("DEPLOY_FAILED", "UNHEALTHY"):
            return f"the Serve app failed to deploy ({state['status']}): {state['message']}"
        return None

    try:
        wait_until(listed, f"the Serve app at {url}", timeout_s, interval_s=2, failed=failed)
    except TimeoutError as error:
        raise TimeoutError(f"{error} (status {state['status']}: {state['message']})") from None
    return Deployment(url, config.serve.model_id, source)


def shutdown(dashboard: str) -> None:
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient

    ServeSubmissionClient(dashboard).delete_applications()
