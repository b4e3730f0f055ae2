"""Load a causal LM into a TransformerLens TransformerBridge, from a shipped GGUF, a local folder or a hub id."""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

from elb.config import ModelConfig
from elb.io import write_json
from elb.models.registry import CHUNK, SHIPPED, ShippedModel, sha256_of

HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
RESIDUAL = {  # keyed by whether the model uses LayerNorm
    True: "mean-centred over d_model, as TransformerLens from_pretrained (center_writing_weights) reports it",
    False: "as computed (RMSNorm: TransformerLens from_pretrained leaves it unchanged)",
}


@dataclass
class LoadedModel:
    """A booted Bridge plus everything a result needs to say where it came from."""

    bridge: Any
    tokenizer: Any  # the Bridge's: TransformerLens reloads it with add_bos_token=True where it can
    hf_model: Any
    hf_tokenizer: Any  # AutoTokenizer with its own defaults (EIP's scripts tokenized with it)
    n_layers: int
    d_model: int
    centre_residual: bool = False  # mean-centre resid over d_model, as TransformerLens reports LayerNorm models
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
    import torch
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
        try:
            staging.replace(folder)
        except OSError:  # another process (a parallel stage of the same weights) finished this conversion first
            if not (folder / "config.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


@dataclass(frozen=True)
class Source:
    """Where a model's weights are, found from its name without reading them."""

    kind: Literal["shipped-gguf", "local-gguf", "local-folder", "hub"]
    path: Path | None  # the GGUF file or the folder; None for a hub id


def locate(config: ModelConfig) -> Source:
    """Classify model.name: shipped key, local folder (safetensors or one GGUF), or hub id; else fail at once."""
    if config.name in SHIPPED:
        shipped = SHIPPED[config.name]
        return Source("shipped-gguf", _assemble(shipped, cache_root() / "gguf" / shipped.key))
    local = local_folder(config.name)
    if local is not None:
        ggufs = sorted(local.glob("*.gguf"))
        if ggufs and not (local / "config.json").exists():
            return Source("local-gguf", ggufs[0])
        return Source("local-folder", local)
    if not HUB_ID.fullmatch(config.name):
        raise FileNotFoundError(
            f"model {config.name!r} is not a shipped model ({', '.join(SHIPPED)}), "
            "not an existing local folder, and not a hub id of the form owner/name"
        )
    return Source("hub", None)


def local_folder(name: str) -> Path | None:
    """The existing folder `name` names; None for anything else. A path-like name naming no folder is an error."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    if _looks_like_path(name):
        raise FileNotFoundError(f"model.name {name!r} looks like a local folder, but {path.absolute()} is no folder "
                                "(a hub id has exactly the form owner/name)")
    return None


def _looks_like_path(name: str) -> bool:
    """Starts like a path, or has separators but is no owner/name hub id, or its first part is a local folder."""
    if name.startswith(("./", "../", "~", ".\\", "..\\")) or Path(name).is_absolute():
        return True
    if not any(separator in name for separator in {"/", os.sep}):
        return False
    return not HUB_ID.fullmatch(name) or Path(name).parent.is_dir()


def resolve_source(config: ModelConfig) -> tuple[str, dict[str, Any]]:
    """Turn a model name into a loadable folder or hub id, plus the provenance of its weights."""
    source = locate(config)
    if source.kind == "hub":
        return config.name, {"source": "hub", "hub_id": config.name, "revision": config.revision}
    if source.kind == "local-folder":
        weights = sorted(source.path.glob("*.safetensors")) or sorted(source.path.glob("*.bin"))
        return str(source.path), {"source": "local-folder", "path": str(source.path.resolve()),
                                  "weights_sha256": {w.name: cached_sha256(w) for w in weights}}
    digest = cached_sha256(source.path)
    quantization = gguf_quantization(source.path)
    if source.kind == "local-gguf":
        return str(_convert_gguf(source.path, digest)), {
            "source": "local-gguf", "weights_file": str(source.path), "weights_sha256": digest,
            "quantization": quantization}
    shipped = SHIPPED[config.name]
    shipped.verify(digest)
    return str(_convert_gguf(source.path, digest)), {
        "source": "shipped-gguf", "weights_file": source.path.name, "weights_sha256": digest,
        "quantization": quantization, "package": shipped.install, "chat_template": shipped.chat_template}


def checkpoint_quantization(hf_config: Any) -> str:
    """A folder's or hub checkpoint's own quantization method, else its stored dtype."""
    quantized = getattr(hf_config, "quantization_config", None)
    if quantized:
        return f"{dict(quantized).get('quant_method', 'unknown')}-quantized checkpoint"
    return f"none ({str(hf_config.dtype).removeprefix('torch.')} checkpoint)"


def model_depth(config: ModelConfig) -> int:
    """The model's number of blocks, from GGUF metadata or its config.json: known before any weights load."""
    from transformers import AutoConfig

    source = locate(config)
    if source.kind in ("shipped-gguf", "local-gguf"):
        return gguf_metadata(source.path)[0]
    name = str(source.path) if source.path else config.name
    try:
        hf_config = AutoConfig.from_pretrained(name, revision=config.revision,
                                               trust_remote_code=config.trust_remote_code)
    except OSError as error:
        if source.kind != "hub":
            raise
        raise _hub_error(config, error) from error
    return int(hf_config.get_text_config().num_hidden_layers)


@functools.lru_cache(maxsize=8)
def gguf_metadata(path: Path) -> tuple[int, str]:
    """Block count and weight type (`general.file_type`: Q4_1, Q4_K_M, F16, ...) from a GGUF's metadata, read
    once per process (no tensor is read, but parsing a large vocabulary takes seconds)."""
    from gguf import GGUFReader, LlamaFileType

    reader = GGUFReader(path)
    architecture = reader.get_field("general.architecture").contents()
    file_type = reader.get_field("general.file_type")
    kind = LlamaFileType(file_type.contents()).name.removeprefix("MOSTLY_") if file_type else "(type unstated)"
    return int(reader.get_field(f"{architecture}.block_count").contents()), kind


def gguf_quantization(path: Path) -> str:
    """What the weights were and what loading makes of them, e.g. "GGUF Q4_1 dequantized to float32"."""
    kind = gguf_metadata(path)[1]
    return f"GGUF {kind} {'dequantized' if kind.startswith(('Q', 'IQ', 'TQ')) else 'converted'} to float32"


def model_identity(config: ModelConfig) -> dict[str, Any]:
    """What decides the weights, without loading them: sha256 of every weight file, or the hub id and revision."""
    if config.name in SHIPPED:
        files = SHIPPED[config.name].locate_parts()
    else:
        source = locate(config)  # fails at once on a name that is neither a folder nor a hub id
        if source.path is None:
            return {"model": config.name, "revision": config.revision}
        folder = source.path if source.path.is_dir() else source.path.parent
        files = [f for f in sorted(folder.iterdir()) if f.is_file() and not f.name.startswith(".")]
    return {"model": config.name, "files_sha256": {f.name: cached_sha256(f) for f in files}}


def cached_sha256(path: Path) -> str:
    """sha256 of a file, remembered under cache_root() by path, size and modification time."""
    stat = path.stat()
    key = f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    index = cache_root() / "sha256.json"
    known = json.loads(index.read_text(encoding="utf-8")) if index.exists() else {}
    if key not in known:
        known[key] = sha256_of(path)
        write_json(index, known)
    return known[key]


def _hub_error(config: ModelConfig, error: OSError) -> OSError:
    """A failure to reach a hub model, with what to use instead."""
    return OSError(f"cannot load hub model {config.name!r} (revision {config.revision}): {error}\n"
                   f"Without access to the Hugging Face hub, use a shipped model ({', '.join(SHIPPED)}) "
                   "or a local folder as model.name.")


def load_model(config: ModelConfig) -> LoadedModel:
    """Load tokenizer and weights with transformers, then boot a TransformerBridge on the chosen device."""
    from transformer_lens.model_bridge import TransformerBridge
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from elb.models.device import select_device, select_dtype  # imports torch: not needed to locate a model

    source, weights = resolve_source(config)
    device = select_device(config.device)
    dtype = select_dtype(config.dtype, device)
    hub_kwargs = {"revision": config.revision, "trust_remote_code": config.trust_remote_code}
    try:
        weights.setdefault("quantization", checkpoint_quantization(AutoConfig.from_pretrained(source, **hub_kwargs)))
        tokenizer = AutoTokenizer.from_pretrained(source, **hub_kwargs)
        hf_model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **hub_kwargs).to(device).eval()
    except OSError as error:
        if weights["source"] != "hub":
            raise
        raise _hub_error(config, error) from error
    hf_model.config.architectures = [type(hf_model).__name__]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    bridge = TransformerBridge.boot_transformers(source, hf_model=hf_model, tokenizer=tokenizer, device=device)
    if weights["source"] == "hub":
        weights["revision"] = getattr(hf_model.config, "_commit_hash", None) or config.revision
    centre = bridge.cfg.normalization_type in ("LN", "LNPre")  # where TransformerLens centres writing weights
    provenance = {
        "model": config.name,
        "architecture": type(hf_model).__name__,
        **weights,
        "device": str(device),
        "dtype": str(dtype).removeprefix("torch."),
        "n_layers": bridge.cfg.n_layers,
        "d_model": bridge.cfg.d_model,
        "normalization": bridge.cfg.normalization_type,
        "residual": RESIDUAL[centre],
        "trust_remote_code": config.trust_remote_code,
        "versions": {pkg: version(pkg) for pkg in ("torch", "transformers", "transformer-lens")},
    }
    return LoadedModel(bridge, bridge.tokenizer, hf_model, tokenizer, bridge.cfg.n_layers, bridge.cfg.d_model, centre, provenance)
