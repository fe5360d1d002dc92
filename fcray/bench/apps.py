"""Serve apps the benchmarks deploy on the connected cluster beside a user's own (the sweep's trials, the
overhead check): waiting until one runs, with the failed deployment's own message when it does not."""

from __future__ import annotations


def wait_running(app_name: str, timeout_s: float = 900) -> None:
    """Until Serve reports ``app_name`` RUNNING; a RuntimeError naming each failed deployment's message if
    it fails to deploy, a TimeoutError after ``timeout_s``."""
    from ray import serve

    from fcray.readiness import wait_until

    def running() -> bool:  # one status query per poll
        status = serve.status().applications.get(app_name)
        if status is not None and status.status in ("DEPLOY_FAILED", "UNHEALTHY"):
            # the app's message only says which deployment failed; the deployment's has the replica's error
            details = [f"{name}: {d.message}" for name, d in status.deployments.items() if d.message]
            raise RuntimeError("\n".join([f"{app_name}: {status.status}: {status.message}", *details]))
        return status is not None and status.status == "RUNNING"

    wait_until(running, f"the Serve app {app_name}", timeout_s, interval_s=2)
