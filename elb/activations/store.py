"""Activation files: safetensors tensors + a JSON sidecar (row index, layers, provenance). Never pickle."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from elb.io import write_json, write_with


@dataclass
class ActivationSet:
    """Pooled activations of one text format: tensors [n_texts, n_layers, d] plus what they are."""

    tensors: dict[str, torch.Tensor]
    text_ids: list[str]
    blocks: list[int]
    meta: dict[str, Any]

    def at(self, pooling: str, block: int, rows: list[str] | None = None) -> np.ndarray:
        """float64 features of one pooling and block, for the given text ids (default: all, in order)."""
        tensor = self.tensors[pooling][:, self.blocks.index(block)]
        if rows is not None:
            position = {text_id: i for i, text_id in enumerate(self.text_ids)}
            missing = [r for r in rows if r not in position]
            if missing:
                raise KeyError(f"activations lack text ids {missing[:3]} (rerun the activations stage)")
            tensor = tensor[[position[r] for r in rows]]
        return tensor.double().numpy()


def save_set(folder: Path, name: str, data: ActivationSet) -> None:
    tensors = {k: v.contiguous() for k, v in data.tensors.items()}
    write_with(folder / f"{name}.safetensors", lambda path: save_file(tensors, str(path)))
    write_json(folder / f"{name}.json", {"text_ids": data.text_ids, "blocks": data.blocks, **data.meta})


def load_set(folder: Path, name: str) -> ActivationSet:
    sidecar = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    tensors = load_file(str(folder / f"{name}.safetensors"))
    text_ids, blocks = sidecar.pop("text_ids"), sidecar.pop("blocks")
    for pooling, tensor in tensors.items():
        if tensor.shape[:2] != (len(text_ids), len(blocks)):
            raise ValueError(f"{folder / name}.safetensors: {pooling} has shape {tuple(tensor.shape)}, "
                             f"expected ({len(text_ids)}, {len(blocks)}, d)")
    return ActivationSet(tensors, text_ids, blocks, sidecar)
