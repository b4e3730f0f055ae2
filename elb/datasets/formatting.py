"""Text formats the published pipelines fed to the model (no chat template anywhere)."""
from __future__ import annotations

from typing import Literal

import pandas as pd

TextFormat = Literal["pipeline", "validation"]

TEMPLATES: dict[str, str] = {
    # ELB Phase 2 pipelines A/B
    "pipeline": "Scenario: {scenario}\nResponse: {response}",
    # ELB validation, null, length scripts
    "validation": "{scenario}\n\nResponse: {response}",
}


def format_texts(texts: pd.DataFrame, text_format: TextFormat) -> list[str]:
    template = TEMPLATES[text_format]
    return [template.format(scenario=s, response=r) for s, r in zip(texts["scenario"], texts["response"])]
