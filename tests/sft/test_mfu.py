from __future__ import annotations

import pytest

from fcray.sft.mfu import flops_per_token, mfu, peak_flops


def test_flops_per_token_qwen3_0_6b_shape():
    # Qwen3-0.6B: ~0.44B non-embedding parameters, 28 layers, hidden 1024; at 2048 tokens of context.
    flops = flops_per_token(440_000_000, 28, 1024, 2048)
    assert flops == pytest.approx(6 * 440e6 + 12 * 28 * 1024 * 2048)


@pytest.mark.parametrize(("name", "dtype", "tflops"), [
    ("NVIDIA H100 80GB HBM3", "bfloat16", 989.0), ("NVIDIA H200", "bfloat16", 989.0),
    ("NVIDIA A100-SXM4-80GB", "float32", 19.5), ("NVIDIA A10G", "float16", 125.0)])
def test_peak_flops_by_device_name(name, dtype, tflops):
    assert peak_flops(name, dtype) == tflops * 1e12


def test_unknown_device_has_no_peak_and_mfu_is_a_ratio():
    assert peak_flops("Some Future GPU", "bfloat16") is None
    assert mfu(10_000, 3e9, 1e14) == pytest.approx(0.3)
