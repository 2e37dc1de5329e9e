"""The vectorised step agrees with the plain per-agent Mesa reference, agent for agent."""

from __future__ import annotations

import numpy as np
import pytest

from diffusion_sim.model import DiffusionModel
from diffusion_sim.reference import ReferenceModel
from diffusion_sim.scenario import Scenario, apply_overrides

CASES = {
    # deterministic rules: identical by construction
    "fractional threshold": {"behaviour.external": 0.0, "behaviour.abandonment.rate": 0.0},
    "absolute threshold": {
        "behaviour.threshold_rule": "absolute",
        "behaviour.external": 0.0,
        "behaviour.abandonment.rate": 0.0,
        "roles.household.threshold.mean": 4.0,
        "roles.household.threshold.sd": 1.5,
    },
    # stochastic rules: identical too, because both draw the same counter-based uniforms
    "default (threshold + media + abandonment)": {},
    "cascade + imitation + spontaneous": {
        "behaviour.threshold_rule": "none",
        "behaviour.cascade_probability": 0.15,
        "behaviour.imitation": 0.2,
        "behaviour.spontaneous": 0.002,
        "behaviour.abandonment.rate": 0.05,
        "behaviour.abandonment.peer_support": 0.5,
    },
    "sceptics": {"behaviour.scepticism.share": 0.4, "behaviour.scepticism.threshold_increase": 0.15},
    "certain cascade": {
        "behaviour.threshold_rule": "none",
        "behaviour.cascade_probability": 1.0,
        "behaviour.external": 0.0,
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_vectorised_step_equals_per_agent_reference(case):
    sc = apply_overrides(Scenario(), {"community.households": 900, "community.villages": 3, **CASES[case]})
    model = DiffusionModel(sc, seed=17)
    ref = ReferenceModel(sc, seed=17, community=model.community)
    for step in range(25):
        model.step()
        ref.step()
        assert model.coverage() == ref.coverage_series[-1], f"coverage differs at step {step + 1}"
    state = ref.state()
    for key in ("adopted", "adopted_at", "channel", "abandoned_at", "threshold"):
        np.testing.assert_array_equal(getattr(model, key)[:, 0], state[key], err_msg=key)
    # the case really exercised the rules: something spread and (where on) something was abandoned
    seeds = (model.adopted_at == 0).sum()
    assert model.adopted.sum() > seeds
    assert model.adopted.sum() < model.n or case == "certain cascade"
    if sc.behaviour.abandonment.rate > 0:
        assert (model.abandoned_at >= 0).any()


def test_reference_agrees_on_a_replicate_other_than_zero():
    sc = apply_overrides(Scenario(), {"community.households": 400, "community.villages": 2})
    batch = DiffusionModel(sc, seed=5, replicates=[0, 3])
    ref = ReferenceModel(sc, seed=5, replicate=3, community=batch.community)
    for _ in range(15):
        batch.step()
        ref.step()
    np.testing.assert_array_equal(batch.adopted[:, 1], ref.state()["adopted"])
    assert not np.array_equal(batch.adopted[:, 0], batch.adopted[:, 1])
