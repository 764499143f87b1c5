"""The planner: a pure function from desired x observed x policy to what must happen to each processor.

Called by the reconciler (for `plan`, `apply`, `status` and every daemon pass) and nowhere else. It does
no I/O and logs nothing; it returns data. Its rules are product.md's "Plan semantics":

* face-search processors cannot be updated in place: every non-tag change replaces them;
* connected-home labels, min confidence, regions of interest and data sharing update in place; clearing
  a value uses `ParametersToDelete`;
* `protect` blocks replace and delete; pruning needs the policy flag and this stack's tag;
* a processor whose name the spec wants but which carries no (or another) stack tag is a conflict and is
  never touched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from spd.model import (
    DEFAULT_MIN_CONFIDENCE,
    BoundingBox,
    ConnectedHome,
    DesiredProcessor,
    DesiredState,
    FaceSearch,
    Kind,
    ObservedProcessor,
    ObservedState,
    ProcessorConfig,
    ProcessorId,
    RegionOfInterest,
    RunState,
    Status,
    UpdateRequest,
    f32,
)


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    NOOP = "noop"


SUMMARY_ACTIONS = (
    Action.CREATE,
    Action.UPDATE,
    Action.REPLACE,
    Action.START,
    Action.STOP,
    Action.DELETE,
    Action.NOOP,
)

# Statuses in which a face-search processor is (or is about to be) processing video.
_ACTIVE = frozenset({Status.STARTING, Status.RUNNING})


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs: `before` is observed, `after` desired (JSON-friendly values)."""

    field: str
    before: Any
    after: Any
    forces_replacement: bool = False


@dataclass(frozen=True, slots=True)
class TagChange:
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


@dataclass(frozen=True, slots=True)
class Policy:
    """What the operator allows this run to do."""

    stack: str
    prune: bool = False
    targets: frozenset[str] | None = None
    """Limit the plan to these processor names (`--target`); None means all."""


@dataclass(frozen=True, slots=True)
class ProcessorPlan:
    """Everything that should happen to one processor, and why."""

    id: ProcessorId
    actions: tuple[Action, ...]
    changes: tuple[Change, ...] = ()
    blocked: str | None = None
    """Why the actions will not be carried out (protected, conflict, pruning off); None if they will."""
    desired: DesiredProcessor | None = None
    observed: ObservedProcessor | None = None
    update: UpdateRequest = field(default_factory=UpdateRequest)
    tags: TagChange = field(default_factory=TagChange)
    unreadable: str | None = None
    """Why the live processor could not be read; nothing is planned for it (the others still are)."""

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def actionable(self) -> bool:
        return self.blocked is None and self.unreadable is None and self.actions != (Action.NOOP,)

    @property
    def drifted(self) -> bool:
        """The live processor differs from the spec (whatever spd will do about it)."""
        return self.actions != (Action.NOOP,)


@dataclass(frozen=True, slots=True)
class Plan:
    stack: str
    processors: tuple[ProcessorPlan, ...]

    def summary(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for p in self.processors:
            if p.unreadable is not None:
                counts["unreadable"] += 1
                continue
            if p.blocked is not None:
                counts["blocked"] += 1
                continue
            for action in p.actions:
                counts[action.value] += 1
        out = {a.value: counts.get(a.value, 0) for a in SUMMARY_ACTIONS}
        out["blocked"] = counts.get("blocked", 0)
        out["unreadable"] = counts.get("unreadable", 0)
        return out

    @property
    def has_changes(self) -> bool:
        return any(p.actionable for p in self.processors)

    def unreadable(self) -> tuple[ProcessorPlan, ...]:
        """The processors that could not be read, so could not be planned."""
        return tuple(p for p in self.processors if p.unreadable is not None)

    def actionable(self) -> tuple[ProcessorPlan, ...]:
        return tuple(p for p in self.processors if p.actionable)


# ---------------------------------------------------------------------------------------------------
# Field comparison


def _roi_json(region: RegionOfInterest) -> dict[str, Any]:
    if isinstance(region, BoundingBox):
        return {
            "bounding_box": {
                "left": region.left,
                "top": region.top,
                "width": region.width,
                "height": region.height,
            }
        }
    return {"polygon": [{"x": p.x, "y": p.y} for p in region.points]}


def regions_json(regions: Iterable[RegionOfInterest]) -> list[dict[str, Any]]:
    return [_roi_json(r) for r in regions]


def _settings_fields(config: ProcessorConfig) -> dict[str, Any]:
    s = config.settings
    if isinstance(s, FaceSearch):
        return {
            "face_search.collection_id": s.collection_id,
            "face_search.face_match_threshold": s.face_match_threshold,
        }
    assert isinstance(s, ConnectedHome)
    return {
        "connected_home.labels": list(s.labels),
        "connected_home.min_confidence": s.min_confidence,
    }


def config_fields(config: ProcessorConfig) -> dict[str, Any]:
    """The comparable fields of a config, flattened to the spec's key paths."""
    fields: dict[str, Any] = {
        "kind": config.kind.value,
        "role_arn": config.role_arn,
        "input.kinesis_video_stream_arn": config.kinesis_video_stream_arn,
        "output.kinesis_data_stream_arn": config.kinesis_data_stream_arn,
        "output.s3_bucket": config.s3_bucket,
        "output.s3_key_prefix": config.s3_key_prefix,
        "notification_channel.sns_topic_arn": config.sns_topic_arn,
        "kms_key_id": config.kms_key_id,
        "regions_of_interest": regions_json(config.regions_of_interest),
        "data_sharing": config.data_sharing,
    }
    fields.update(_settings_fields(config))
    return fields


_UPDATABLE_CONNECTED_HOME = frozenset(
    {"connected_home.labels", "connected_home.min_confidence", "regions_of_interest", "data_sharing"}
)


def _forces_replacement(field_name: str, desired: ProcessorConfig, observed: ProcessorConfig) -> bool:
    if desired.kind is not observed.kind or desired.kind is Kind.FACE_SEARCH:
        return True
    return field_name not in _UPDATABLE_CONNECTED_HOME


def diff_config(desired: ProcessorConfig, observed: ProcessorConfig) -> tuple[Change, ...]:
    """Field-level changes from observed to desired, each marked in place or replacing."""
    want = config_fields(desired)
    have = config_fields(observed)
    changes = []
    for name in sorted(set(want) | set(have)):
        before, after = have.get(name), want.get(name)
        if before != after:
            changes.append(Change(name, before, after, _forces_replacement(name, desired, observed)))
    return tuple(changes)


def diff_tags(desired: DesiredProcessor, observed_tags: dict[str, str]) -> tuple[TagChange, list[Change]]:
    want = desired.tag_dict
    have = {k: v for k, v in observed_tags.items() if not k.startswith("aws:")}
    add = tuple(sorted((k, v) for k, v in want.items() if have.get(k) != v))
    remove = tuple(sorted(k for k in have if k not in want))
    changes = [Change(f"tags.{k}", have.get(k), v) for k, v in add]
    changes += [Change(f"tags.{k}", have[k], None) for k in remove]
    return TagChange(add, remove), sorted(changes, key=lambda c: c.field)


def update_request(desired: ProcessorConfig, observed: ProcessorConfig) -> UpdateRequest:
    """The UpdateStreamProcessor call that turns `observed` into `desired` (connected home only)."""
    want, have = desired.settings, observed.settings
    assert isinstance(want, ConnectedHome)
    assert isinstance(have, ConnectedHome)
    to_delete: list[str] = []
    labels = want.labels if want.labels != have.labels else None
    min_confidence: float | None = None
    if want.min_confidence != have.min_confidence:
        # Going back to the service default is a deletion, not a write of 50: that is what the API
        # documents, and it keeps an unset value unset.
        if want.min_confidence == f32(DEFAULT_MIN_CONFIDENCE):
            to_delete.append("ConnectedHomeMinConfidence")
        else:
            min_confidence = want.min_confidence
    regions: tuple[RegionOfInterest, ...] | None = None
    if desired.regions_of_interest != observed.regions_of_interest:
        if desired.regions_of_interest:
            regions = desired.regions_of_interest
        else:
            to_delete.append("RegionsOfInterest")
    data_sharing = desired.data_sharing if desired.data_sharing != observed.data_sharing else None
    return UpdateRequest(labels, min_confidence, regions, data_sharing, tuple(to_delete))


# ---------------------------------------------------------------------------------------------------
# Run state


def _run_state_actions(desired: DesiredProcessor, status: Status) -> tuple[Action, ...]:
    if desired.config.kind is Kind.CONNECTED_HOME:
        # Sessions start on demand and end by themselves; spd never starts or stops them.
        return ()
    if desired.run_state is RunState.RUNNING:
        return () if status in _ACTIVE else (Action.START,)
    return (Action.STOP,) if status in _ACTIVE else ()


def run_state_change(desired: DesiredProcessor, observed: ObservedProcessor) -> Change | None:
    actions = _run_state_actions(desired, observed.status)
    if not actions:
        return None
    return Change("status", observed.status.value, desired.run_state.value.upper())


# ---------------------------------------------------------------------------------------------------
# The planner


def _plan_create(desired: DesiredProcessor) -> ProcessorPlan:
    actions: tuple[Action, ...] = (Action.CREATE,)
    if desired.config.kind is Kind.FACE_SEARCH and desired.run_state is RunState.RUNNING:
        actions += (Action.START,)
    changes = tuple(Change(k, None, v) for k, v in config_fields(desired.config).items() if v is not None)
    return ProcessorPlan(desired.id, actions, changes, desired=desired)


def plan_processor(
    desired: DesiredProcessor, observed: ObservedProcessor | None, policy: Policy
) -> ProcessorPlan:
    """Plan one processor of the spec against what the service holds under its name."""
    if observed is None:
        return _plan_create(desired)
    owner = observed.stack()
    if owner != policy.stack:
        why = (
            "name taken by a processor without the spd:stack tag; spd never changes it"
            if owner is None
            else f"name taken by a processor of stack {owner!r}; spd never changes it"
        )
        return ProcessorPlan(
            desired.id, (Action.CREATE,), blocked=f"conflict: {why}", desired=desired, observed=observed
        )
    assert observed.config is not None, "a full observation carries the config"
    config_changes = diff_config(desired.config, observed.config)
    tag_change, tag_changes = diff_tags(desired, observed.tag_dict)
    replace = any(c.forces_replacement for c in config_changes)
    if replace:
        actions: list[Action] = [Action.REPLACE]
        if desired.config.kind is Kind.FACE_SEARCH and desired.run_state is RunState.RUNNING:
            actions.append(Action.START)
        blocked = "protected: protect is true, so spd will not replace it" if desired.protect else None
        return ProcessorPlan(
            desired.id,
            tuple(actions),
            config_changes + tuple(tag_changes),
            blocked=blocked,
            desired=desired,
            observed=observed,
            tags=tag_change,
        )
    actions = []
    update = UpdateRequest()
    if config_changes:
        update = update_request(desired.config, observed.config)
    if config_changes or not tag_change.empty:
        actions.append(Action.UPDATE)
    changes = list(config_changes) + tag_changes
    run_actions = _run_state_actions(desired, observed.status)
    status_change = run_state_change(desired, observed)
    if status_change is not None:
        changes.append(status_change)
    actions.extend(run_actions)
    return ProcessorPlan(
        desired.id,
        tuple(actions) or (Action.NOOP,),
        tuple(changes),
        desired=desired,
        observed=observed,
        update=update,
        tags=tag_change,
    )


def _plan_orphan(observed: ObservedProcessor, policy: Policy) -> ProcessorPlan:
    blocked = None if policy.prune else "not in the spec; pruning is off (use --prune to delete it)"
    changes = (Change("status", observed.status.value, None),)
    return ProcessorPlan(observed.id, (Action.DELETE,), changes, blocked=blocked, observed=observed)


def plan(desired: DesiredState, observed: ObservedState, policy: Policy) -> Plan:
    """Plan every processor of the spec, and this stack's processors the spec no longer names."""
    seen = observed.by_id()
    wanted = desired.by_id()
    spec_regions = set(desired.regions)

    def targeted(pid: ProcessorId) -> bool:
        return policy.targets is None or pid.name in policy.targets

    unreadable = dict(observed.unreadable)
    plans = [
        plan_processor(d, seen.get(pid), policy)
        for pid, d in wanted.items()
        if targeted(pid) and pid not in unreadable
    ]
    for pid, obs in seen.items():
        if pid in wanted or not targeted(pid) or pid.region not in spec_regions:
            continue
        if obs.stack() == policy.stack:
            plans.append(_plan_orphan(obs, policy))
    for pid, error in unreadable.items():
        # Unread, its owner is unknown: it may be this stack's (to update, or to prune), so say so.
        if targeted(pid) and (pid in wanted or (policy.prune and pid.region in spec_regions)):
            plans.append(ProcessorPlan(pid, (Action.NOOP,), desired=wanted.get(pid), unreadable=error))
    plans.sort(key=lambda p: (p.id.region, p.id.name))
    return Plan(desired.stack, tuple(plans))


# ---------------------------------------------------------------------------------------------------
# The status sweep: run state only, from ListStreamProcessors


@dataclass(frozen=True, slots=True)
class SweepItem:
    desired: DesiredProcessor
    status: Status
    action: Action


def plan_sweep(
    desired: DesiredState, statuses: dict[ProcessorId, Status], owned: frozenset[ProcessorId]
) -> tuple[SweepItem, ...]:
    """Start or stop owned processors whose run state drifted; nothing else is decided here.

    `owned` comes from the last full pass: a List response carries no tags, so ownership and config
    are only known from there. Processors not in `owned` (new, conflicting, deleted) wait for the next
    full pass.
    """
    items = []
    for d in desired.processors:
        if d.id not in owned or d.id not in statuses:
            continue
        status = statuses[d.id]
        for action in _run_state_actions(d, status):
            items.append(SweepItem(d, status, action))
    return tuple(items)
