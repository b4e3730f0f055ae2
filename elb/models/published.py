"""The checkpoints the published studies ran: one entry per hub id, with the names their result files use.

A short name can mean different checkpoints in different parts of the studies ("qwen2.5-7b" is the base model
in ELB Phase 2 and the instruct model in ELB Phase 1 and EIP), so every name belongs to a `Study` part and
`resolve` takes the part where a name alone is ambiguous. Shapes are the checkpoints' own config values
(checked against the published files where those state them: probe `d_model`, round 3 `num_layers`, EIP
`hidden_size` and direction lengths).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from elb.models.layers import Convention

Study = Literal["elb-phase1", "elb-phase2", "elb-council", "eip"]
Norm = Literal["RMSNorm", "LayerNorm"]


class ModelNameError(LookupError):
    """A model name no published result file uses, or one that names several checkpoints."""


@dataclass(frozen=True)
class StudyUse:
    """How one part of the studies named a checkpoint and where it read its activations."""

    study: Study
    aliases: tuple[str, ...]  # names its result files use besides the hub id (matched case-insensitively)
    convention: Convention | None  # numbering of its published layers (elb.models.layers); None = never published
    layer: int | None = None  # its fixed layer in that convention; None where it swept layers or never said

    def describe(self) -> str:
        if self.convention is None:
            where = "layer not published"
        elif self.layer is None:
            where = f"{self.convention}[L], layers swept"
        else:
            where = f"{self.convention}[{self.layer}]"
        return f"{self.study}: {where}; files name it {', '.join(self.aliases)}"


@dataclass(frozen=True)
class PublishedModel:
    """A checkpoint one of the studies ran: its config's shape and each study part's use of it."""

    hub_id: str  # Hugging Face id as the studies wrote it
    family: str  # config model_type
    n_layers: int | None  # transformer blocks; None where the named checkpoint has no public config
    d_model: int | None  # residual stream width (hidden_size); None as above
    norm: Norm
    uses: tuple[StudyUse, ...]

    def names(self, study: Study | None = None) -> set[str]:
        """Lower-case hub id and aliases, of one study part or of all."""
        return {self.hub_id.lower()} | {a.lower() for u in self.uses if study in (None, u.study) for a in u.aliases}

    def use(self, study: Study) -> StudyUse | None:
        return next((u for u in self.uses if u.study == study), None)

    def describe(self) -> str:
        shape = f"{self.n_layers} x {self.d_model}" if self.n_layers else "shape unknown"
        return f"{self.family}, {shape}, {self.norm}"


# ELB Phase 1 reads hidden_states[24] of every model; ELB Phase 2 hooks TransformerLens resid_post at an absolute
# layer (n_layers // 2 in pipeline B; 16, or 14 for Qwen, in the validation scripts); EIP probes hook
# model.layers[L] for Phi-3 (= resid_post[L] = hidden_states[L + 1]) and read hidden_states[L] for Qwen and
# Dolphin, at layers 8-24; the council rounds never published their layers.
PUBLISHED: dict[str, PublishedModel] = {m.hub_id: m for m in [
    PublishedModel("Qwen/Qwen2.5-7B", "qwen2", 28, 3584, "RMSNorm",
                   (StudyUse("elb-phase2", ("qwen2.5-7b",), "resid_post", 14),)),
    PublishedModel("mistralai/Mistral-7B-v0.1", "mistral", 32, 4096, "RMSNorm",
                   (StudyUse("elb-phase2", ("mistral-7b",), "resid_post", 16),
                    StudyUse("elb-council", ("mistral-7b",), None))),
    PublishedModel("meta-llama/Meta-Llama-3-8B", "llama", 32, 4096, "RMSNorm",
                   (StudyUse("elb-phase2", ("llama-3-8b", "llama3-8b"), "resid_post", 16),)),
    PublishedModel("meta-llama/Llama-3.1-8B", "llama", 32, 4096, "RMSNorm",
                   (StudyUse("elb-phase2", ("llama-3.1-8b",), "resid_post", 16),)),
    PublishedModel("google/gemma-7b", "gemma", 28, 3072, "RMSNorm",
                   (StudyUse("elb-phase2", ("gemma-7b",), "resid_post", 16),)),
    PublishedModel("EleutherAI/pythia-1.4b", "gpt_neox", 24, 2048, "LayerNorm",
                   (StudyUse("elb-phase2", ("pythia-1.4b",), "resid_post", 12),)),
    PublishedModel("google/gemma-2-9b-it", "gemma2", 42, 3584, "RMSNorm",
                   (StudyUse("elb-phase1", ("gemma2-9b",), "hidden_states", 24),)),
    PublishedModel("meta-llama/Llama-3.1-8B-Instruct", "llama", 32, 4096, "RMSNorm",
                   (StudyUse("elb-phase1", ("llama-3.1-8b", "meta-llama/Meta-Llama-3.1-8B-Instruct"), "hidden_states",
                             24),)),
    # no public checkpoint has this id (DeepSeek published R1-Distill-Llama-8B and R1-Distill-Qwen-7B)
    PublishedModel("deepseek-ai/DeepSeek-R1-Distill-Llama-7B", "llama", None, None, "RMSNorm",
                   (StudyUse("elb-phase1", ("deepseek-r1-7b",), "hidden_states", 24),)),
    PublishedModel("Qwen/Qwen2.5-7B-Instruct", "qwen2", 28, 3584, "RMSNorm",
                   (StudyUse("elb-phase1", ("qwen2.5-7b",), "hidden_states", 24),
                    StudyUse("eip", ("qwen2.5-7b",), "hidden_states"))),
    PublishedModel("mistralai/Mistral-7B-Instruct-v0.3", "mistral", 32, 4096, "RMSNorm",
                   (StudyUse("elb-phase1", ("mistral-7b",), "hidden_states", 24),
                    StudyUse("elb-council", ("mistral7b",), None))),
    PublishedModel("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama", 22, 2048, "RMSNorm",
                   (StudyUse("elb-council", ("tinyllama",), None),)),
    PublishedModel("microsoft/phi-2", "phi", 32, 2560, "LayerNorm",
                   (StudyUse("elb-council", ("phi2",), None),)),
    PublishedModel("Qwen/Qwen2.5-3B-Instruct", "qwen2", 36, 2048, "RMSNorm",
                   (StudyUse("elb-council", ("qwen3b",), None),)),
    PublishedModel("microsoft/Phi-3-mini-4k-instruct", "phi3", 32, 3072, "RMSNorm",
                   (StudyUse("eip", ("phi3", "phi-3", "phi3-mini"), "resid_post"),)),
    PublishedModel("cognitivecomputations/dolphin-2.9.4-llama3.1-8b", "llama", 32, 4096, "RMSNorm",
                   (StudyUse("eip", ("dolphin-llama-3.1-8b",), "hidden_states"),)),
]}


def find(name: str, study: Study | None = None) -> PublishedModel | None:
    """The entry a result file's name means (in that study part), None for a name no file uses."""
    hits = [m for m in PUBLISHED.values() if name.lower() in m.names(study)]
    if len(hits) > 1:
        raise ModelNameError(f"{name!r} names {', '.join(m.hub_id for m in hits)}: give the study part "
                             f"({', '.join(sorted({u.study for m in hits for u in m.uses}))})")
    return hits[0] if hits else None


def resolve(name: str, study: Study | None = None) -> PublishedModel:
    """The entry for a hub id or alias (case-insensitive); an error with the closest names for unknown ones."""
    model = find(name, study)
    if model is None:
        known = sorted(set().union(*(m.names(study) for m in PUBLISHED.values())))
        close = difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(map(repr, close))}?" if close else f"known: {', '.join(PUBLISHED)}"
        raise ModelNameError(f"no published model is named {name!r}{f' in {study}' if study else ''}; {hint}")
    return model
