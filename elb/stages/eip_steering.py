"""DVC stage: EIP steering with real generation on the configured model, written in the published steering-file
format and scored through the same reader as the published files."""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from tqdm.auto import tqdm

from elb.activations.steering import generate_cell, prompt_ids
from elb.artifacts import read_measurements, write_measurements
from elb.config import Params, load_params
from elb.datasets.eip import SCENARIOS, Scenario, load_scenarios
from elb.io import write_json
from elb.measures.catalogue import EIP_CATALOGUE
from elb.measures.steering import V0_ALPHAS, V0_LAYERS, V0_SCENARIOS, SteeringFile, SteeringRun
from elb.models.loading import LoadedModel, load_model, model_depth
from elb.models.registry import sha256_of
from elb.plan import eip_layer_refs
from elb.provenance import base_provenance
from elb.stages.eip_measures import eip_folder

STEERING = next(m for m in EIP_CATALOGUE if m.stage == "eip_steering")


def steering_layers(aurocs: dict[int, float], n: int) -> list[int]:
    """The n published layers of highest test AUROC (ties keep layer order), as the published run chose its three."""
    return sorted(aurocs, key=lambda layer: -aurocs[layer])[:n]


def random_direction(d_model: int, seed: int) -> torch.Tensor:
    vector = np.random.default_rng(seed).standard_normal(d_model)
    return torch.from_numpy((vector / np.linalg.norm(vector)).astype(np.float32))


V0_STREAM = 1_000_000  # seed stream of the v0 cells (0: the empathy direction, 1..: random directions)


class Steerer:
    """Generates every (scenario, alpha) cell of one direction at one layer and measures its effect size."""

    def __init__(self, model: LoadedModel, params: Params, scenarios: dict[str, Scenario]):
        self.model, self.cfg, self.seed = model, params.eip.steering, params.seed
        self.prompts = {sid: prompt_ids(model, s.prompt(), self.cfg.prompt == "chat") for sid, s in scenarios.items()}
        self.v0_prompts = {sid: prompt_ids(model, s.objective, False)  # v0: the objective alone, raw
                           for sid, s in list(scenarios.items())[:V0_SCENARIOS]}
        self.scenarios, self.tokens, self.seconds = scenarios, 0, 0.0

    def layer_result(self, layer: int, block: int, direction: torch.Tensor, stream: int,
                     progress: tqdm) -> tuple[dict[str, Any], dict[float, float]]:
        """One layer's experiments in the published format, and mean KL per alpha over its scenarios (the v0
        stream: the v0 prompts and alphas)."""
        cfg, experiments, kls = self.cfg, [], []
        prompts, alphas = (self.v0_prompts, V0_ALPHAS) if stream == V0_STREAM else (self.prompts, cfg.alphas)
        for position, (sid, ids) in enumerate(prompts.items()):
            seed = int(np.random.SeedSequence([self.seed, stream, layer, position]).generate_state(1)[0])
            start = time.perf_counter()
            cell = generate_cell(self.model, ids, block, direction, alphas, cfg.samples, cfg.new_tokens,
                                 cfg.temperature, seed, cfg.kl_steps)
            self.seconds += time.perf_counter() - start
            self.tokens += cell.new_tokens.numel()
            kls.append(cell.kl)
            scenario = self.scenarios[sid]
            experiments.append({"scenario": sid, "title": scenario.title,
                                "empathy_pressure": scenario.empathy_pressure,
                                "conditions": [{"alpha": a, "samples": cell.texts[a]} for a in alphas]})
            progress.update()
        return {"layer": layer, "experiments": experiments}, {a: float(np.mean([k[a] for k in kls])) for a in kls[0]}


def run(params_path: str = "params.yaml", model: str | None = None) -> Path:
    params = load_params(params_path, model)
    cfg, folder = params.eip, eip_folder(params)
    probes, probe_provenance = read_measurements(folder / "measurements.json")
    layers = steering_layers({layer: probes[f"eip.probe.auroc@L{layer}"].value for layer in cfg.layers},
                             cfg.steering.layers)
    directions = load_file(str(folder / "directions.safetensors"))
    refs = eip_layer_refs(params, model_depth(params.model))
    model = load_model(params.model)
    steerer = Steerer(model, params, load_scenarios(cfg.data_dir))
    v0_layers = [layer for layer in V0_LAYERS if layer in cfg.layers]
    cells = (len(steerer.prompts) * (len(layers) + cfg.steering.random_directions)
             + len(steerer.v0_prompts) * len(v0_layers))
    empathy, randoms, v0, kl = [], [], [], {}
    with tqdm(total=cells, desc="EIP steering cells", unit="cell") as progress:
        for layer in layers:
            result, kl[layer] = steerer.layer_result(layer, refs[layer].block, directions[f"L{layer}"], 0, progress)
            empathy.append(result)
        for i in range(cfg.steering.random_directions):
            direction = random_direction(model.d_model, params.seed + 1 + i)
            randoms.append(steerer.layer_result(layers[0], refs[layers[0]].block, direction, i + 1, progress)[0])
        for layer in v0_layers:
            v0.append(steerer.layer_result(layer, refs[layer].block, directions[f"L{layer}"], V0_STREAM, progress)[0])
    header = {"model": params.model.name, "alphas_tested": cfg.steering.alphas,
              "num_samples_per_condition": cfg.steering.samples}
    v0_header = {**header, "alphas_tested": V0_ALPHAS, "prompt": "objective alone, raw (v0)"}
    provenance = {**base_provenance(params.seed), "model": model.provenance,
                  "scenarios_sha256": sha256_of(cfg.data_dir / SCENARIOS),
                  "layers": {f"L{layer}": refs[layer].describe() for layer in layers},
                  "generation_config": model.hf_model.generation_config.to_diff_dict(),
                  "settings": cfg.steering.model_dump(), "generated_tokens": steerer.tokens,
                  "generation_seconds": round(steerer.seconds, 1),
                  "tokens_per_second": round(steerer.tokens / max(steerer.seconds, 1e-9), 1)}
    write_json(folder / "steering.json", {**header, "layer_results": empathy, "provenance": provenance,
                                          "effect_kl": {str(k): v for k, v in kl.items()},
                                          "random_directions": [{**header, "layer_results": [r]} for r in randoms],
                                          "v0": {**v0_header, "layer_results": v0}})
    steering_run = SteeringRun(SteeringFile.model_validate({**header, "layer_results": empathy}),
                               [SteeringFile.model_validate({**header, "layer_results": [r]}) for r in randoms],
                               SteeringFile.model_validate({**v0_header, "layer_results": v0}), kl,
                               int(probes["eip.probe.best_layer"].value),
                               f"EIP steering at layers {layers} ({', '.join(refs[layer].describe() for layer in layers)})")
    measured = STEERING.run(steering_run, cfg, params.seed)
    write_measurements(folder / "steering_measurements.json", [m.row() for m in measured],
                       {**probe_provenance.model_dump(mode="json"), "steering": provenance})
    print(f"EIP steering: {steerer.tokens} tokens in {steerer.seconds:.0f} s "
          f"({provenance['tokens_per_second']} tokens/s)")
    return folder


if __name__ == "__main__":
    run(*sys.argv[1:])  # optional: another params.yaml, then the key of one model of its grid
