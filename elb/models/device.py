"""Device and dtype selection: CUDA with fp16 (as the published runs) when present, CPU fp32 otherwise."""
from __future__ import annotations

import torch

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def select_device(requested: str = "auto") -> torch.device:
    """`auto` picks CUDA when available; an explicit `cuda` without a GPU is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch sees no GPU; use device: auto or cpu")
    return torch.device(requested)


def select_dtype(requested: str, device: torch.device) -> torch.dtype:
    """`auto`: fp16 on GPU, the published checkpoints' dtype; fp32 on CPU (choose bfloat16 explicitly if you want it)."""
    if requested != "auto":
        if requested not in DTYPES:
            raise ValueError(f"dtype {requested!r} is not one of auto, {', '.join(DTYPES)}")
        return DTYPES[requested]
    if device.type == "cuda":
        return torch.float16
    return torch.float32
