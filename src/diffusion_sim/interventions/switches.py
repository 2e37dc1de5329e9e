"""Switching interventions on and off during a run, recorded so the run replays exactly.

A switch acts from the next step: switching an intervention on at step ``t`` (after ``t - 1``
steps have run) is the same as a scenario listing it with ``start: t``; switching it off is the
same as ``end: t - 1``. So what was played is itself a scenario (:func:`played_scenario`), and
running that scenario with the same seed gives the same numbers as the live run: the replay goes
through the one run path, not through a second copy of the dynamics.

This holds because an intervention's set-up depends only on the community and its own streams,
never on the state of the run, so setting it up at step ``t`` or before step 1 is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import TypeAdapter, ValidationError

from diffusion_sim.scenario.intervention_schema import INTERVENTION_TYPES, Intervention, stream_identities
from diffusion_sim.scenario.schema import Scenario

if TYPE_CHECKING:
    from diffusion_sim.interventions.base import InterventionImpl
    from diffusion_sim.model import DiffusionModel

__all__ = ["Switch", "acting_order", "played_scenario", "start_intervention", "stop_intervention"]

_INTERVENTION = TypeAdapter(Intervention)


@dataclass(frozen=True)
class Switch:
    """One switch: from ``step`` on, the intervention ``identity`` acts (``on``) or stops (``off``)."""

    step: int
    action: Literal["on", "off"]
    identity: str
    label: str


def acting_order(impls: list[InterventionImpl]) -> list[InterventionImpl]:
    """Interventions in the order they act: family by family, then by stream identity."""
    return sorted(impls, key=lambda iv: (INTERVENTION_TYPES.index(iv.spec.type), iv.identity))


def _as_spec(spec: Any) -> Any:
    if isinstance(spec, dict):
        try:
            return _INTERVENTION.validate_python(spec)
        except ValidationError as err:
            raise ValueError(f"not a valid intervention: {err}") from None
    return spec


def _check_can_switch(model: DiffusionModel) -> int:
    if model.recorder is None:
        raise RuntimeError("this model's state was released (release()); build a new model to run again")
    t = model.steps + 1
    if t > model.params.schedule.steps:
        raise ValueError(f"the run has ended (step {model.steps} of {model.params.schedule.steps}); reset to switch")
    return t


def start_intervention(model: DiffusionModel, spec: Any) -> str:
    """Switch an intervention on from the next step; returns its stream identity.

    ``spec`` is an intervention of the scenario schema (or its mapping). Its window is moved to
    start at the next step and keeps its length (``end - start``), cut at the end of the run. An
    intervention whose identity is already in the run gets a new identity (``<identity>.<k>``), so
    switching one on again after switching it off draws from streams of its own.
    """
    from diffusion_sim.interventions import REGISTRY

    t = _check_can_switch(model)
    spec = _as_spec(spec)
    horizon = model.params.schedule.steps
    length = None if spec.end is None else spec.end - spec.start
    end = None if length is None or t + length >= horizon else t + length
    current = list(model.params.interventions)
    ids, labels = stream_identities(current), {iv.label for iv in current}
    identity = spec.id if spec.id is not None else spec.type
    base, k = identity, 1
    while identity in ids:
        k += 1
        identity = f"{base}.{k}"
    update: dict[str, Any] = {"start": t, "end": end, "id": identity if (identity != spec.type) else spec.id}
    label, k = spec.label, 1
    while label in labels:
        k += 1
        label = f"{spec.label} #{k}"
    if label != spec.label:
        update["name"] = label
    new = spec.model_copy(update=update)
    # several interventions of one type: each must carry its id explicitly (the scenario schema's rule)
    same_type = [j for j, iv in enumerate(current) if iv.type == new.type and iv.id is None]
    for j in same_type:
        current[j] = current[j].model_copy(update={"id": current[j].type})
    if same_type and new.id is None:
        new = new.model_copy(update={"id": new.type})
    for impl in model.interventions:
        impl.spec = current[impl.index]
    current.append(new)
    model.params = model.params.model_copy(update={"interventions": current})
    model.recorder.add_intervention(new.label)
    impl = REGISTRY[new.type](new, len(current) - 1, identity)
    impl.setup(model)
    model.interventions = acting_order([*model.interventions, impl])
    model.switches.append(Switch(t, "on", identity, new.label))
    return identity


def stop_intervention(model: DiffusionModel, identity: str) -> None:
    """Switch an intervention off from the next step (its effects end as when its window ends).

    An intervention that has not started yet is removed (it has booked nothing); one that already
    ended is left alone.
    """
    t = _check_can_switch(model)
    current = list(model.params.interventions)
    ids = stream_identities(current)
    if identity not in ids:
        raise ValueError(f"no intervention {identity!r} in this run; expected one of: {', '.join(ids) or '(none)'}")
    k = ids.index(identity)
    spec = current[k]
    if spec.end is not None and spec.end < t:
        return  # already over
    model.switches.append(Switch(t, "off", identity, spec.label))
    if spec.start >= t:  # not started: it never acts
        del current[k]
        model.recorder.remove_intervention(k)
        model.interventions = [iv for iv in model.interventions if iv.index != k]
        for impl in model.interventions:
            impl.index -= impl.index > k
            impl.spec = current[impl.index]
    else:
        current[k] = spec.model_copy(update={"end": t - 1})
        for impl in model.interventions:
            impl.spec = current[impl.index]
    model.params = model.params.model_copy(update={"interventions": current})


def played_scenario(model: DiffusionModel) -> Scenario:
    """The scenario that replays this run: its interventions with the windows they were switched to."""
    try:
        return Scenario.model_validate(model.params.model_dump(mode="python"))
    except ValidationError as err:  # a bug here, not a user's mistake
        raise RuntimeError(f"the played scenario does not validate: {err}") from None
