"""The measurement catalogue: declared quantities match what the functions produce; the plan and pins derive from it."""
from __future__ import annotations

import numpy as np
import pytest

from elb.claims.registry import load_registry
from elb.config import Params
from elb.datasets.formatting import TEMPLATES
from elb.measures.catalogue import CATALOGUE, SUBSETS, known_quantities, method_pins
from elb.measures.phase2 import Probed
from elb.plan import activation_sets, blocks_for, layer_refs

PARAMS = Params.model_validate({"analysis": {"bootstrap": 10, "null_test": {"permutations": 9,
                                                                           "length_permutations": 9}}})


def _probed(classes: tuple[str, ...], rng: np.random.Generator) -> Probed:
    labels, n = np.repeat(np.array(classes), 20), 20 * len(classes)
    features = rng.normal(size=(n, 12)) + 3 * np.repeat(np.eye(len(classes), 12), 20, axis=0)
    return Probed(features, labels, classes, "synthetic", rng.uniform(100, 300, size=n))


@pytest.mark.parametrize("measure", CATALOGUE, ids=[m.name for m in CATALOGUE])
def test_each_measure_produces_exactly_its_declared_quantities(measure):
    rng = np.random.default_rng(0)
    classes = SUBSETS[measure.inputs.subset].classes
    data = ({layer: _probed(classes, rng) for layer in measure.inputs.published_layers(PARAMS)}
            if measure.inputs.is_sweep else _probed(classes, rng))
    produced = [m.quantity for m in measure.run(data, PARAMS.analysis, 0)]
    assert sorted(produced) == sorted(measure.expanded(PARAMS))


def test_every_claim_reads_a_catalogue_quantity_and_prediction_claims_have_a_seed_spread():
    known = known_quantities(PARAMS)
    for claim in load_registry(quantities=known):
        if claim.decide_by == "prediction":
            assert known[claim.quantity].spread, f"{claim.id}: {claim.quantity} needs a measure with spread=True"


def test_activation_plan_derives_from_the_catalogue():
    assert activation_sets() == {"pipeline": ("triplets", "non_empathy", "valence_stripped"),
                                 "validation": ("triplets", "non_empathy")}
    refs = layer_refs(PARAMS, 30)
    assert set(refs) == {4, 8, 12, 16, 20, 24} and refs[16].block == 15
    assert blocks_for(PARAMS, 30, "pipeline") == [15]
    assert blocks_for(PARAMS, 30, "validation") == [4, 8, 11, 15, 19, 23]


def test_method_pins_are_rendered_from_the_implementation():
    pins = method_pins(known_quantities(PARAMS)["pipeline_b.test_accuracy"], PARAMS)
    assert pins["text_format"] == TEMPLATES["pipeline"]
    assert pins["pooling"].startswith("mean_with_padding: Mean over every position")
    assert "pipeline_b.epochs=50" in pins["settings"] and pins["layer"].startswith("resid_post[16] of 32")
    sweep = method_pins(known_quantities(PARAMS)["validation.layer_sweep.max_cos_cognitive_affective"], PARAMS)
    assert sweep["layer"].startswith("resid_post[4, 8, 12, 16, 20, 24]")


def test_readme_lists_the_catalogue_quantities():
    from elb.measures.catalogue import quantities_table

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- quantities:start -->\n", 1)[1].split("<!-- quantities:end -->", 1)[0]
    assert block.strip() == quantities_table(Params()).strip(), "regenerate with `elb quantities` (README block)"
