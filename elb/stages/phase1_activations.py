"""DVC stage: ELB Phase 1 forward passes and generations for the configured model. Last-token states at
hidden_states[phase1.layer] of the Phase 1 pairs and the formal/casual control pairs; each vector (empathy, control)
steering generation from the held-out situations at every alpha; the unsteered model's reading of every generation
(NLL and probe-layer state) and of the coherence calibration texts."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from elb.activations.extract import hidden_states_pooled
from elb.activations.steering import continuation_scores, generate_cell, generated_tokens
from elb.artifacts import PHASE1_CALIBRATION, PHASE1_GENERATIONS
from elb.config import Params, load_params
from elb.datasets.loaders import load_pairs, validate
from elb.datasets.spec import FORMALITY, PHASE1_PROMPTS
from elb.io import staged_dir, write_json, write_with
from elb.models.loading import LoadedModel, load_model, model_depth
from elb.models.registry import sha256_of
from elb.plan import phase1_layer_ref
from elb.provenance import base_provenance

PROMPT = "{situation}\n\nResponse:"  # ours: the generation prompts were never published


def phase1_folder(params: Params) -> Path:
    return params.model_dir / "phase1"


def steering_vector(states: torch.Tensor, pairs: pd.DataFrame, category: str, n: int, scale: str) -> torch.Tensor:
    """mean(positive) - mean(negative) over the first n pairs of the category (rows of `pairs` align with states),
    or its unit direction."""
    chosen = (pairs["category"] == category).to_numpy() & (pairs["position"] < n).to_numpy()
    positive = (pairs["side"] == pairs["side"].iloc[0]).to_numpy()
    vector = states[chosen & positive].mean(0) - states[chosen & ~positive].mean(0)
    return vector / vector.norm() if scale == "unit" else vector


def calibration_texts(model: LoadedModel, unsteered: list[list[int]], seed: int) -> dict[str, list[list[int]]]:
    """The unsteered samples, the same words in a seeded random order, and their first token repeated."""
    rng, tokenizer = np.random.default_rng(seed), model.hf_tokenizer
    shuffled = []
    for tokens in unsteered:
        words = tokenizer.decode(tokens, skip_special_tokens=True).split()
        rng.shuffle(words)
        shuffled.append(tokenizer(" ".join(words), add_special_tokens=False)["input_ids"])
    repeated = [[tokens[0]] * len(tokens) if tokens else [] for tokens in unsteered]
    return {"unsteered": unsteered, "shuffled_words": shuffled, "repeated_token": repeated}


def id_string(tokens: list[int]) -> str:
    return " ".join(map(str, tokens))


class Sweeper:
    """Generates and scores one vector's every (prompt, alpha) cell."""

    def __init__(self, model: LoadedModel, params: Params, block: int, index: int):
        self.model, self.params, self.block, self.index = model, params, block, index
        self.tokens, self.seconds = 0, 0.0

    def cell(self, vector: torch.Tensor, ids: torch.Tensor,
             stream: int) -> tuple[pd.DataFrame, torch.Tensor, list[list[int]]]:
        """One row per sample, the samples' probe-layer states, and their generated token ids."""
        cfg = self.params.phase1.steering
        seed = int(np.random.SeedSequence([self.params.seed, stream]).generate_state(1)[0])
        start = time.perf_counter()
        made = generate_cell(self.model, ids, self.block, vector, cfg.alphas, cfg.samples, cfg.new_tokens,
                             cfg.temperature, seed, cfg.kl_steps)
        self.seconds += time.perf_counter() - start
        self.tokens += made.new_tokens.numel()
        continuations = generated_tokens(self.model, made.new_tokens)
        nll, states = continuation_scores(self.model, ids, continuations, self.index)
        alphas = np.repeat(cfg.alphas, cfg.samples)
        frame = pd.DataFrame({
            "alpha": alphas, "sample": np.tile(np.arange(cfg.samples), len(cfg.alphas)),
            "tokens": [id_string(c) for c in continuations], "nll": nll,
            "kl": [made.kl.get(float(a), 0.0) for a in alphas],
            "text": [t for a in cfg.alphas for t in made.texts[a]],
        })
        return frame, states, continuations


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    cfg, act = params.phase1, params.activations
    prompts = load_pairs(params.data_dir / PHASE1_PROMPTS.filename, PHASE1_PROMPTS)
    formality = load_pairs(params.data_dir / FORMALITY.filename, FORMALITY)
    used = prompts[prompts["position"] < cfg.pairs_per_category].reset_index(drop=True)
    control = formality[formality["position"] < cfg.control_pairs].reset_index(drop=True)
    held = prompts[(prompts["position"] >= cfg.pairs_per_category) & (prompts["side"] == PHASE1_PROMPTS.sides[0])]
    sweep = held[held["position"] < cfg.pairs_per_category + cfg.steering.generation_pairs]
    transfer_only = held[(held["category"] == cfg.transfer_category) & ~held.index.isin(sweep.index)
                         & (held["position"] < cfg.pairs_per_category + cfg.transfer_pairs)]
    needed = cfg.pairs_per_category + max(cfg.steering.generation_pairs, cfg.transfer_pairs)
    if sweep["category"].nunique() < len(PHASE1_PROMPTS.categories) or \
            (held["category"] == cfg.transfer_category).sum() < needed - cfg.pairs_per_category:
        raise ValueError(f"{params.data_dir / PHASE1_PROMPTS.filename}: phase1 needs {needed} pairs per category "
                         "(pairs_per_category, then the held-out ones whose situations prompt generation: "
                         "steering.generation_pairs per category, transfer_pairs of transfer_category)")
    cells = [(name, row, True) for name in ("empathy", "control") for _, row in sweep.iterrows()] + \
        [("empathy", row, False) for _, row in transfer_only.iterrows()]
    ref = phase1_layer_ref(params, model_depth(params.model))
    model = load_model(params.model)
    batch = act.batch_for(model.provenance["device"])  # last real token: independent of the batch
    read = {name: hidden_states_pooled(model, list(frame["text"]), [ref.mapped], batch, act.max_tokens,
                                       "last_token", f"Phase 1 {name} texts")[0][:, 0]
            for name, frame in (("empathy", used), ("control", control))}
    vectors = {"empathy": steering_vector(read["empathy"], used, cfg.vector_category, cfg.steering.vector_pairs,
                                          cfg.steering.vector_scale),
               "control": steering_vector(read["control"], control, FORMALITY.categories[0],
                                          cfg.steering.vector_pairs, cfg.steering.vector_scale)}
    residual = float(read["empathy"].norm(dim=1).mean())
    sweeper = Sweeper(model, params, ref.block, ref.mapped)
    frames, readouts, unsteered = [], [], []
    for stream, (name, row, in_sweep) in enumerate(tqdm(cells, desc="Phase 1 steering cells", unit="cell")):
        ids = torch.tensor([model.hf_tokenizer(PROMPT.format(situation=row["context"]))["input_ids"]])
        frame, states, continuations = sweeper.cell(vectors[name], ids, stream)
        frames.append(frame.assign(vector=name, sweep=in_sweep, prompt=row["pair_id"], category=row["category"]))
        readouts.append(states)
        if name == "empathy" and in_sweep:
            unsteered.append((row["pair_id"], ids, [continuations[i] for i in np.flatnonzero(frame["alpha"] == 0.0)]))
    calibration = []
    for prompt_id, ids, tokens in unsteered:
        for kind, texts in calibration_texts(model, tokens, params.seed).items():
            nll, _ = continuation_scores(model, ids, texts, ref.mapped)
            calibration.append(pd.DataFrame({"kind": kind, "prompt": prompt_id, "sample": range(len(texts)),
                                             "tokens": [id_string(t) for t in texts], "nll": nll,
                                             "text": [model.hf_tokenizer.decode(t, skip_special_tokens=True) for t in texts]}))
    generations = pd.concat(frames, ignore_index=True)[list(PHASE1_GENERATIONS.columns)]
    provenance = {
        **base_provenance(params.seed),
        "model": model.provenance,
        "data": {spec.filename: sha256_of(params.data_dir / spec.filename) for spec in (PHASE1_PROMPTS, FORMALITY)},
        "layers": {"phase1": ref.describe()},
        "loader_parity": {"not applicable": "read from HF hidden_states directly, as the Phase 1 script did"},
        "poolings": ["last_token"],
        "batch_size": batch,
        "max_tokens": act.max_tokens,
        "layer_convention": "HF hidden_states[i]: 0 = embeddings, i = output of decoder block i - 1; steering adds "
                            "alpha x vector to that block's output at every position on every step",
        "tokenization": "the model's own tokenizer defaults (its special tokens), truncation at activations.max_tokens, "
                        "right-padded masked batches, last real token (published: one text at a time, 8-bit weights)",
        "prompt": PROMPT, "texts": {"empathy": len(used), "control": len(control)},
        "sweep_prompts": sweep["pair_id"].tolist(), "transfer_only_prompts": transfer_only["pair_id"].tolist(),
        "vector_norms": {name: float(v.norm()) for name, v in vectors.items()},
        "mean_residual_norm": residual,
        "scale": {name: float(v.norm()) / residual for name, v in vectors.items()},
        "settings": cfg.model_dump(mode="json"),
        "generation_config": model.hf_model.generation_config.to_diff_dict(),
        "generated_tokens": sweeper.tokens, "generation_seconds": round(sweeper.seconds, 1),
        "tokens_per_second": round(sweeper.tokens / max(sweeper.seconds, 1e-9), 1),
    }
    final = phase1_folder(params) / "activations"
    with staged_dir(final) as staging:
        tensors = {"empathy": read["empathy"], "control": read["control"], "readouts": torch.cat(readouts)}
        write_with(staging / "states.safetensors",
                   lambda path: save_file({k: t.contiguous() for k, t in tensors.items()}, str(path)))
        validate(generations, PHASE1_GENERATIONS, staging / "generations.csv").to_csv(staging / "generations.csv",
                                                                                       index=False)
        calibrated = pd.concat(calibration, ignore_index=True)
        validate(calibrated, PHASE1_CALIBRATION, staging / "calibration.csv").to_csv(staging / "calibration.csv",
                                                                                     index=False)
        write_json(staging / "provenance.json", {**provenance, "labels": {
            "empathy": (used["side"] == PHASE1_PROMPTS.sides[0]).astype(int).tolist(),
            "control": (control["side"] == FORMALITY.sides[0]).astype(int).tolist()}})
    print(f"Phase 1 steering: {sweeper.tokens} tokens in {sweeper.seconds:.0f} s "
          f"({provenance['tokens_per_second']} tokens/s)")
    return final


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
