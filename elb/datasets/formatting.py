"""Text formats the published pipelines fed to the model (no chat template anywhere)."""
from __future__ import annotations

from typing import Literal

import pandas as pd

TextFormat = Literal["pipeline", "validation", "pipeline_single_newline"]

TEMPLATES: dict[str, str] = {
    # ELB Phase 2 pipelines A/B (experiments/tripartite/scripts/extract_activations.py): a blank line between
    "pipeline": "Scenario: {scenario}\n\nResponse: {response}",
    # ELB validation, null, length scripts: no "Scenario:" prefix
    "validation": "{scenario}\n\nResponse: {response}",
    # our earlier pipeline format (one newline): not the published one, kept only as a named variant
    "pipeline_single_newline": "Scenario: {scenario}\nResponse: {response}",
}


def format_texts(texts: pd.DataFrame, text_format: TextFormat) -> list[str]:
    """Each row's scenario and response in the named format, in row order."""
    template = TEMPLATES[text_format]
    return [template.format(scenario=s, response=r) for s, r in zip(texts["scenario"], texts["response"])]
