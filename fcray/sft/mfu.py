"""Model FLOPs utilisation (MFU) for GPU training runs.

Training FLOPs per token follow the usual estimate (PaLM, nanoGPT): ``6 * N`` for the dense weights plus
``12 * layers * hidden * seq_len`` for attention, N counting non-embedding parameters (trained LoRA
runs still do the full forward and backward through the base). MFU = achieved FLOP/s per device
divided by the device's dense peak for the training dtype.
"""

from __future__ import annotations

# Dense (no sparsity) peak TFLOP/s per GPU by training dtype, from the vendors' data sheets.
PEAK_TFLOPS = {
    "H200": {"bfloat16": 989.0, "float16": 989.0, "float32": 67.0},
    "H100": {"bfloat16": 989.0, "float16": 989.0, "float32": 67.0},  # SXM
    "A100": {"bfloat16": 312.0, "float16": 312.0, "float32": 19.5},
    "L40S": {"bfloat16": 362.0, "float16": 362.0, "float32": 91.6},
    "A10G": {"bfloat16": 125.0, "float16": 125.0, "float32": 31.2},
}


def flops_per_token(n_params_non_embedding: int, n_layers: int, hidden_size: int, seq_len: int) -> float:
    return 6.0 * n_params_non_embedding + 12.0 * n_layers * hidden_size * seq_len


def peak_flops(device_name: str, dtype: str) -> float | None:
    """Peak FLOP/s of a GPU named like torch.cuda.get_device_name() ("NVIDIA H100 80GB HBM3"); None if unknown."""
    for key, table in PEAK_TFLOPS.items():
        if key in device_name.upper():
            return table.get(dtype, table["float32"]) * 1e12
    return None


def mfu(tokens_per_s_per_device: float, flops_per_token_: float, peak: float) -> float:
    return tokens_per_s_per_device * flops_per_token_ / peak
