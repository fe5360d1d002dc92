"""``fcray export push``: a model folder made by fcray (merged weights, tokenizer, Hub model card) uploaded
to the Hugging Face Hub with ``huggingface_hub``. The token comes from the environment (``HF_TOKEN``) or a
``hf auth login``, never from the command line; ``HF_ENDPOINT`` (or ``--endpoint``) points at another Hub."""

from __future__ import annotations

from pathlib import Path

REQUIRED = ("config.json", "README.md")  # a model folder with its card: what fcray's export writes


class PushError(RuntimeError):
    """The upload could not be made: the message says what is wrong and what to check."""


def push_model(folder: str | Path, repo_id: str, private: bool = False, endpoint: str | None = None,
               commit_message: str | None = None) -> str:
    """Create ``repo_id`` if needed and upload ``folder`` to it; returns the commit's URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    folder = Path(folder)
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        raise PushError(f"{folder} is not a model folder fcray can push: no {', '.join(missing)} "
                        f"(push the model/ folder of a training run, or `fcray export merge` output)")
    api = HfApi(endpoint=endpoint)  # token: HF_TOKEN or the cached login, read by huggingface_hub itself
    where = f"{api.endpoint}/{repo_id}"
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(folder_path=folder, repo_id=repo_id, repo_type="model",
                                   commit_message=commit_message or f"fcray: upload {folder.parent.name}")
    except Exception as error:
        # the Hub said no, a bad repo id, or no connection (an error of huggingface_hub's HTTP client, httpx
        # or httpx2 by version); anything else is a bug and goes up as it is
        if not (isinstance(error, (HfHubHTTPError, OSError, ValueError)) or type(error).__module__.startswith("httpx")):
            raise
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PushError(f"cannot push {folder} to {where}: {type(error).__name__}: {reason}. Check the "
                        f"repo id, the network, and that HF_TOKEN holds a token with write access") from error
    return commit.commit_url
