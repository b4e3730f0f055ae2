"""Load a causal LM into a TransformerLens TransformerBridge, from a shipped GGUF, a local folder or a hub id."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch

from elb.config import ModelConfig
from elb.models.device import select_device, select_dtype
from elb.models.registry import CHUNK, SHIPPED, ShippedModel, sha256_of

HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


@dataclass
class LoadedModel:
    """A booted Bridge plus everything a result needs to say where it came from."""

    bridge: Any
    tokenizer: Any
    hf_model: Any
    n_layers: int
    d_model: int
    provenance: dict[str, Any] = field(default_factory=dict)


def cache_root() -> Path:
    """Where converted models are cached (ELB_CACHE_DIR, else ~/.cache/elb)."""
    return Path(os.environ.get("ELB_CACHE_DIR", Path.home() / ".cache" / "elb"))


def _assemble(model: ShippedModel, dest: Path) -> Path:
    """Concatenate split parts into one GGUF (streamed); a single part is used in place."""
    parts = model.locate_parts()
    if len(parts) == 1:
        return parts[0]
    target = dest / model.gguf_name
    if not target.exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=dest, delete=False) as out:
            for part in parts:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, CHUNK)
        Path(out.name).replace(target)
    return target


def _convert_gguf(gguf: Path, digest: str) -> Path:
    """Dequantize a GGUF once into a safetensors folder keyed by its sha256; later loads take seconds."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = cache_root() / "converted" / digest[:32]
    if (folder / "config.json").exists():
        return folder
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.architectures = [type(model).__name__]
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.replace(folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def resolve_source(config: ModelConfig) -> tuple[str, dict[str, Any]]:
    """Turn a model name into a loadable folder or hub id, plus the provenance of its weights."""
    if config.name in SHIPPED:
        shipped = SHIPPED[config.name]
        gguf = _assemble(shipped, cache_root() / "gguf" / shipped.key)
        digest = sha256_of(gguf)
        shipped.verify(digest)
        folder = _convert_gguf(gguf, digest)
        return str(folder), {"source": "shipped-gguf", "weights_file": gguf.name, "weights_sha256": digest,
                             "package": shipped.install, "chat_template": shipped.chat_template}
    local = Path(config.name)
    if local.is_dir():
        ggufs = sorted(local.glob("*.gguf"))
        if ggufs and not (local / "config.json").exists():
            digest = sha256_of(ggufs[0])
            return str(_convert_gguf(ggufs[0], digest)), {
                "source": "local-gguf", "weights_file": str(ggufs[0]), "weights_sha256": digest}
        weights = sorted(local.glob("*.safetensors")) or sorted(local.glob("*.bin"))
        return str(local), {"source": "local-folder", "path": str(local.resolve()),
                            "weights_sha256": {w.name: sha256_of(w) for w in weights}}
    if not HUB_ID.fullmatch(config.name):
        raise FileNotFoundError(
            f"model {config.name!r} is not a shipped model ({', '.join(SHIPPED)}), "
            "not an existing local folder, and not a hub id of the form owner/name"
        )
    return config.name, {"source": "hub", "hub_id": config.name, "revision": config.revision}


def load_model(config: ModelConfig) -> LoadedModel:
    """Load tokenizer and weights with transformers, then boot a TransformerBridge on the chosen device."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source, weights = resolve_source(config)
    device = select_device(config.device)
    dtype = select_dtype(config.dtype, device)
    hub_kwargs = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **hub_kwargs)
        hf_model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **hub_kwargs).to(device).eval()
    except OSError as error:
        if weights["source"] != "hub":
            raise
        raise OSError(f"cannot load hub model {source!r} (revision {config.revision}): {error}\n"
                      f"Without access to the Hugging Face hub, use a shipped model ({', '.join(SHIPPED)}) "
                      "or a local folder as model.name.") from error
    hf_model.config.architectures = [type(hf_model).__name__]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    bridge = TransformerBridge.boot_transformers(source, hf_model=hf_model, tokenizer=tokenizer, device=device)
    if weights["source"] == "hub":
        weights["revision"] = getattr(hf_model.config, "_commit_hash", None) or config.revision
    provenance = {
        "model": config.name,
        "architecture": type(hf_model).__name__,
        **weights,
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "n_layers": bridge.cfg.n_layers,
        "d_model": bridge.cfg.d_model,
        "trust_remote_code": config.trust_remote_code,
        "versions": {pkg: version(pkg) for pkg in ("torch", "transformers", "transformer-lens")},
    }
    return LoadedModel(bridge, tokenizer, hf_model, bridge.cfg.n_layers, bridge.cfg.d_model, provenance)
