"""Typed configuration: dataclasses per stage, YAML presets, dotted overrides."""

from fcray.config.loader import available_presets, config_to_dict, load_config
from fcray.config.schema import (
    AugmentConfig,
    BFCLConfig,
    BenchConfig,
    ConfigError,
    DataConfig,
    EvalConfig,
    FcrayConfig,
    GRPOConfig,
    ModelConfig,
    RolloutConfig,
    ServeConfig,
    SweepConfig,
    SFTConfig,
    TinyModelConfig,
)

__all__ = [
    "AugmentConfig", "BFCLConfig", "BenchConfig", "ConfigError", "DataConfig", "EvalConfig", "FcrayConfig", "GRPOConfig",
    "ModelConfig", "RolloutConfig", "SFTConfig", "ServeConfig", "SweepConfig", "TinyModelConfig", "available_presets", "config_to_dict",
    "load_config",
]
