"""Typed configuration: dataclasses per stage, YAML presets, dotted overrides."""

from fcray.config.loader import RENAMED, available_presets, config_to_dict, explain, load_config
from fcray.config.schema import (
    AugmentConfig,
    BFCLConfig,
    BenchConfig,
    ConfigError,
    DataConfig,
    DecodingConfig,
    EdgeConfig,
    GGUF_TYPES,
    EvalConfig,
    FcrayConfig,
    GRPOConfig,
    ModelConfig,
    EngineConfig,
    LoraAdapterConfig,
    RayTrainConfig,
    ServeConfig,
    SweepConfig,
    SFTConfig,
    TinyModelConfig,
    TrackingConfig,
)

__all__ = [
    "AugmentConfig", "BFCLConfig", "BenchConfig", "ConfigError", "DataConfig", "DecodingConfig", "EdgeConfig", "EvalConfig", "GGUF_TYPES", "FcrayConfig", "GRPOConfig",
    "EngineConfig", "LoraAdapterConfig", "ModelConfig", "RayTrainConfig", "SFTConfig", "ServeConfig", "SweepConfig", "TinyModelConfig", "TrackingConfig", "available_presets", "config_to_dict",
    "explain", "load_config", "RENAMED",
]
