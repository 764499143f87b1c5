"""The planner: a pure function from desired x observed x policy to what must happen to each processor.

Called by the reconciler (for `plan`, `apply`, `status`, every daemon pass and every status sweep) and
nowhere else. It does no I/O and logs nothing; it returns data, in types: what blocks a processor is a
`BlockReason`, what a change is about a `ChangeKind`, and which fields exist, which update in place and
how they are cleared comes from the field table `spd.api.fields.FIELDS`. Its rules are those of
docs/explanation/plan-semantics.md:

* face-search processors cannot be updated in place: every non-tag change replaces them;
* connected-home labels, min confidence, regions of interest and data sharing update in place; clearing
  a value uses `ParametersToDelete`;
* `protect` blocks replace and delete; pruning needs the policy flag and this stack's tag;
* a processor whose name the spec wants but which carries no (or another) stack tag is a conflict and is
  never touched; with `Policy.adopt`, one that carries no `spd:stack` tag at all is adopted instead
  (tagged for this stack, then planned as this stack's); another stack's processor never is;
* under `Scope.RUN_STATE` (the status sweep: a List page, status only) only start and stop are planned,
  for the spec's processors a previous full read proved this stack's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from spd.api.fields import BY_SPEC, FIELDS, UPDATABLE, UPDATABLE_KINDS, Codec, ConfigField
from spd.model import (
    STACK_TAG,
    DesiredProcessor,
    DesiredState,
    Kind,
    ObservedProcessor,
    ObservedState,
    ProcessorConfig,
    ProcessorId,
    RegionOfInterest,
    RunState,
    Status,
    UpdateRequest,
    canonical_tags,
    fleet_repr,
    region_document,
)


class Action(StrEnum):
    ADOPT = "adopt"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    START = "start"
    STOP = "stop"
    DELETE = "delete"
    NOOP = "noop"


SUMMARY_ACTIONS = (
    Action.ADOPT,
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


class ChangeKind(StrEnum):
    """What a `Change` is about: a configuration field, a tag, or the run state."""

    CONFIG = "config"
    TAG = "tag"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Change:
    """One field that differs: `before` is observed, `after` desired (JSON-friendly values)."""

    field: str
    before: Any
    after: Any
    forces_replacement: bool = False
    kind: ChangeKind = ChangeKind.CONFIG

    @property
    def section(self) -> str:
        """The top-level key the change is under (`connected_home`, `tags`, `status`): status tables group by it."""
        if self.kind is ChangeKind.TAG:
            return "tags"
        if self.kind is ChangeKind.STATUS:
            return "status"
        return self.field.split(".", 1)[0]


class BlockReason(StrEnum):
    """Why the planned actions on a processor will not be carried out."""

    PROTECTED = "protected"
    """`protect: true` and the change needs a replace."""
    CONFLICT_UNTAGGED = "conflict_untagged"
    """The spec's name is taken by a processor without the `spd:stack` tag."""
    CONFLICT_STACK = "conflict_stack"
    """The spec's name is taken by a processor of another stack."""
    PRUNING_OFF = "pruning_off"
    """This stack's processor left the spec, and pruning is off."""
    UNREADABLE = "unreadable"
    """Describe or ListTagsForResource failed: nothing is known, so nothing is planned."""

    @property
    def conflict(self) -> bool:
        return self in (BlockReason.CONFLICT_UNTAGGED, BlockReason.CONFLICT_STACK)


@dataclass(frozen=True, slots=True)
class Block:
    """A reason with its detail (the other stack's name, the read error); `text` is what people read."""

    reason: BlockReason
    detail: str | None = None

    @property
    def text(self) -> str:
        match self.reason:
            case BlockReason.PROTECTED:
                return "protected: protect is true, so spd will not replace it"
            case BlockReason.CONFLICT_UNTAGGED:
                return (
                    "conflict: name taken by a processor without the spd:stack tag; spd never changes it "
                    "unless adopted (re-run with --adopt to tag it for this stack and manage it)"
                )
            case BlockReason.CONFLICT_STACK:
                return f"conflict: name taken by a processor of stack {self.detail!r}; spd never changes it"
            case BlockReason.PRUNING_OFF:
                return "not in the spec; pruning is off (use --prune to delete it)"
            case BlockReason.UNREADABLE:
                return self.detail or "could not be read"


@dataclass(frozen=True, slots=True)
class TagChange:
    add: tuple[tuple[str, str], ...] = ()
    remove: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.add and not self.remove


class Scope(StrEnum):
    """What a plan may decide."""

    FULL = "full"
    """Everything: create, update, replace, start, stop, delete (a full observation)."""
    RUN_STATE = "run_state"
    """Start and stop only, for processors known to be this stack's (the status sweep's List page)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """What the operator allows this run to do."""

    stack: str
    prune: bool = False
    only: frozenset[str] | None = None
    """Limit the plan to these processor names (the command line's `--target NAME`); None means all.
    Not a target: inside spd a target is always an account (`spd.model.Target`)."""
    scope: Scope = Scope.FULL
    owned: frozenset[ProcessorId] = frozenset()
    """Processors a previous full read proved this stack's: the owner of an observation that carries no
    tags (a List page). The executor re-reads the tag before acting on any of them."""
    adopt: bool = False
    """Take over the spec's processors that carry no `spd:stack` tag (`--adopt`): an operator's decision,
    never the daemon's. Processors of another stack are never adopted."""

    def owner(self, observed: ObservedProcessor) -> str | None:
        """The stack that owns `observed`: its tag when read, else what `owned` remembers."""
        if observed.tags is not None:
            return observed.stack()
        return self.stack if observed.id in self.owned else None


@dataclass(frozen=True, slots=True)
class ProcessorPlan:
    """Everything that should happen to one processor, and why."""

    id: ProcessorId
    actions: tuple[Action, ...]
    changes: tuple[Change, ...] = ()
    block: Block | None = None
    """Why the actions will not be carried out; None if they will."""
    desired: DesiredProcessor | None = None
    observed: ObservedProcessor | None = None
    update: UpdateRequest = field(default_factory=UpdateRequest)
    tags: TagChange = field(default_factory=TagChange)

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def blocked(self) -> str | None:
        """Why the actions will not be carried out (protected, conflict, pruning off), as people read it."""
        if self.block is None or self.block.reason is BlockReason.UNREADABLE:
            return None
        return self.block.text

    @property
    def unreadable(self) -> str | None:
        """Why the live processor could not be read; nothing is planned for it (the others still are)."""
        if self.block is None or self.block.reason is not BlockReason.UNREADABLE:
            return None
        return self.block.text

    @property
    def conflict(self) -> bool:
        return self.block is not None and self.block.reason.conflict

    @property
    def actionable(self) -> bool:
        return self.block is None and self.actions != (Action.NOOP,)

    @property
    def drifted(self) -> bool:
        """The live processor differs from the spec (whatever spd will do about it)."""
        return self.actions != (Action.NOOP,)


@dataclass(frozen=True, slots=True, repr=False)
class Plan:
    stack: str
    processors: tuple[ProcessorPlan, ...]
    failed_targets: tuple[tuple[str, str], ...] = ()
    """Targets that could not be read (target, why): none of their processors is planned; reported
    once per target."""

    def summary(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for p in self.processors:
            if p.block is not None:
                counts["unreadable" if p.block.reason is BlockReason.UNREADABLE else "blocked"] += 1
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
        return tuple(
            p for p in self.processors if p.block is not None and p.block.reason is BlockReason.UNREADABLE
        )

    def actionable(self) -> tuple[ProcessorPlan, ...]:
        return tuple(p for p in self.processors if p.actionable)

    def __repr__(self) -> str:
        return fleet_repr(self, processors=self.processors)


# ---------------------------------------------------------------------------------------------------
# Field comparison


def regions_json(regions: Iterable[RegionOfInterest]) -> list[dict[str, Any]]:
    return [region_document(r) for r in regions]


def _json(f: ConfigField, value: Any) -> Any:
    if f.codec is Codec.REGIONS:
        return regions_json(value)
    if f.codec is Codec.LABELS:
        return list(value)
    return value


def config_fields(config: ProcessorConfig) -> dict[str, Any]:
    """The comparable fields of a config (those of `spd.api.fields.FIELDS` its kind has), by spec key path."""
    fields: dict[str, Any] = {"kind": config.kind.value}
    for f in FIELDS:
        if f.applies_to(config.kind.value):
            fields[f.spec] = _json(f, config.value(f))
    return fields


def _forces_replacement(field_name: str, desired: ProcessorConfig, observed: ProcessorConfig) -> bool:
    if desired.kind is not observed.kind or desired.kind.value not in UPDATABLE_KINDS:
        return True
    f = BY_SPEC.get(field_name)
    return f is None or not f.updatable


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


def diff_tags(desired: DesiredProcessor, observed_tags: Mapping[str, str]) -> tuple[TagChange, list[Change]]:
    want = desired.tag_dict
    have = dict(canonical_tags(observed_tags))
    add = tuple(sorted((k, v) for k, v in want.items() if have.get(k) != v))
    remove = tuple(sorted(k for k in have if k not in want))
    changes = [Change(f"tags.{k}", have.get(k), v, kind=ChangeKind.TAG) for k, v in add]
    changes += [Change(f"tags.{k}", have[k], None, kind=ChangeKind.TAG) for k in remove]
    return TagChange(add, remove), sorted(changes, key=lambda c: c.field)


def update_request(desired: ProcessorConfig, observed: ProcessorConfig) -> UpdateRequest:
    """The UpdateStreamProcessor call that turns `observed` into `desired` (connected home only).

    Each updatable field that differs is sent; going back to a deletable field's default is a deletion,
    not a write of the default: that is what the API documents, and it keeps an unset value unset.
    """
    values: dict[str, Any] = {}
    to_delete: list[str] = []
    for f in UPDATABLE:
        want, have = desired.value(f), observed.value(f)
        if want is None or want == have:
            continue
        if f.delete is not None and want == f.default:
            to_delete.append(f.delete)
        else:
            values[f.leaf] = want
    return UpdateRequest(**values, parameters_to_delete=tuple(sorted(to_delete)))


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
    return Change("status", observed.status.value, desired.run_state.value.upper(), kind=ChangeKind.STATUS)


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
    """Plan one processor of the spec against what the service holds under its name.

    Under `Scope.RUN_STATE` the config and tags are not compared (the observation has neither): only
    the start or stop the run state needs is planned.
    """
    if observed is None:
        return _plan_create(desired)
    owner = policy.owner(observed)
    if _adoptable(observed, policy):
        return _plan_adopt(desired, observed, policy)
    if owner != policy.stack:
        block = (
            Block(BlockReason.CONFLICT_UNTAGGED)
            if owner is None
            else Block(BlockReason.CONFLICT_STACK, owner)
        )
        return ProcessorPlan(desired.id, (Action.CREATE,), block=block, desired=desired, observed=observed)
    diff = _Differences()
    if policy.scope is Scope.FULL:
        assert observed.config is not None, "a full observation carries the config"
        tag_change, tag_changes = diff_tags(desired, observed.tag_dict)
        diff = _Differences(diff_config(desired.config, observed.config), tag_change, tuple(tag_changes))
    if any(c.forces_replacement for c in diff.config):
        return _plan_replace(desired, observed, diff)
    return _plan_in_place(desired, observed, diff)


@dataclass(frozen=True, slots=True)
class _Differences:
    """What a full read found changed: the config's fields, and the tags as one change and as rows.

    Empty under `Scope.RUN_STATE`, whose observation carries neither config nor tags.
    """

    config: tuple[Change, ...] = ()
    tag_change: TagChange = field(default_factory=TagChange)
    tag_changes: tuple[Change, ...] = ()


def _plan_replace(
    desired: DesiredProcessor, observed: ObservedProcessor, diff: _Differences
) -> ProcessorPlan:
    """A field that cannot be updated in place changed: delete and create again (refused if protected)."""
    actions: list[Action] = [Action.REPLACE]
    if desired.config.kind is Kind.FACE_SEARCH and desired.run_state is RunState.RUNNING:
        actions.append(Action.START)
    return ProcessorPlan(
        desired.id,
        tuple(actions),
        diff.config + diff.tag_changes,
        block=Block(BlockReason.PROTECTED) if desired.protect else None,
        desired=desired,
        observed=observed,
        tags=diff.tag_change,
    )


def _plan_in_place(
    desired: DesiredProcessor, observed: ObservedProcessor, diff: _Differences
) -> ProcessorPlan:
    """An update of the changed fields and tags, then the start or stop the run state needs."""
    actions: list[Action] = []
    update = UpdateRequest()
    if diff.config:
        assert observed.config is not None
        update = update_request(desired.config, observed.config)
    if diff.config or not diff.tag_change.empty:
        actions.append(Action.UPDATE)
    changes = [*diff.config, *diff.tag_changes]
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
        tags=diff.tag_change,
    )


def _adoptable(observed: ObservedProcessor, policy: Policy) -> bool:
    """`--adopt` and a full read that proved the processor carries no `spd:stack` tag at all."""
    return (
        policy.adopt
        and policy.scope is Scope.FULL
        and observed.tags is not None
        and STACK_TAG not in observed.tag_dict
    )


def _plan_adopt(desired: DesiredProcessor, observed: ObservedProcessor, policy: Policy) -> ProcessorPlan:
    """Adopt, then whatever this stack's processor in that state would need.

    The rest is planned against the processor as it will be once tagged, so the `spd:stack` tag is the
    adopt step's (shown as an added tag) and not a tag update of its own.
    """
    tagged = replace(observed, tags=(*(observed.tags or ()), (STACK_TAG, policy.stack)))
    rest = plan_processor(desired, tagged, replace(policy, adopt=False))
    stack_tag = Change(f"tags.{STACK_TAG}", None, policy.stack, kind=ChangeKind.TAG)
    actions = tuple(a for a in rest.actions if a is not Action.NOOP)
    return replace(
        rest,
        actions=(Action.ADOPT, *actions),
        changes=_with_tag(rest.changes, stack_tag),
        observed=observed,
    )


def _with_tag(changes: tuple[Change, ...], tag: Change) -> tuple[Change, ...]:
    """`changes` with one more tag change, in the planner's order: config, tags by name, status."""
    config = [c for c in changes if c.kind is ChangeKind.CONFIG]
    tags = sorted([c for c in changes if c.kind is ChangeKind.TAG] + [tag], key=lambda c: c.field)
    status = [c for c in changes if c.kind is ChangeKind.STATUS]
    return (*config, *tags, *status)


def _plan_orphan(
    observed: ObservedProcessor, policy: Policy, moved_to: DesiredProcessor | None = None
) -> ProcessorPlan:
    """Delete this stack's processor the spec no longer names (only when pruning).

    `moved_to` is the spec's processor of the same region and name under another target: the old
    side of a target change, deleted under the same rules (pruning on, this stack's tag, `protect`).
    """
    block = None if policy.prune else Block(BlockReason.PRUNING_OFF)
    changes: tuple[Change, ...] = (Change("status", observed.status.value, None, kind=ChangeKind.STATUS),)
    if moved_to is not None:
        changes = (_target_change(observed.id.target, moved_to.target), *changes)
        if moved_to.protect:
            block = Block(BlockReason.PROTECTED)
    return ProcessorPlan(observed.id, (Action.DELETE,), changes, block=block, observed=observed)


def _target_change(before: str, after: str) -> Change:
    """A processor moved to another target: created in the new account, deleted in the old."""
    return Change("target", before or None, after or None, forces_replacement=True)


def _moved_from(plan: ProcessorPlan, old: ObservedProcessor | None) -> ProcessorPlan:
    """The new side of a target change: its create shown as the replace it is."""
    if old is None or plan.actions[:1] != (Action.CREATE,) or plan.block is not None:
        return plan
    return replace(plan, changes=(_target_change(old.id.target, plan.id.target), *plan.changes))


def plan(desired: DesiredState, observed: ObservedState, policy: Policy) -> Plan:
    """Plan every processor of the spec, and this stack's processors the spec no longer names.

    Under `Scope.RUN_STATE` (the status sweep) only the spec's processors that are listed and known to
    be this stack's are planned: the List page says nothing about the others' config or owner, so they
    wait for the next full pass.
    """
    seen = observed.by_id()
    failed = dict(observed.failed_targets)
    wanted = {pid: d for pid, d in desired.by_id().items() if pid.target not in failed}
    in_scope = set(desired.scope)

    def selected(pid: ProcessorId) -> bool:
        return policy.only is None or pid.name in policy.only

    if policy.scope is Scope.RUN_STATE:
        plans = [
            plan_processor(d, seen[pid], policy)
            for pid, d in wanted.items()
            if selected(pid) and pid in seen and policy.owner(seen[pid]) == policy.stack
        ]
        plans.sort(key=_order)
        return Plan(desired.stack, tuple(plans), observed.failed_targets)

    unreadable = dict(observed.unreadable)
    orphans = {
        pid: obs
        for pid, obs in seen.items()
        if pid not in wanted
        and selected(pid)
        and pid.location in in_scope
        and policy.owner(obs) == policy.stack
    }
    # A processor never moves between accounts: the same region and name under another target is a
    # replace (create there, delete here), both sides shown with the target change.
    wanted_by_name = {(pid.region, pid.name): d for pid, d in wanted.items()}
    orphan_by_name = {(pid.region, pid.name): obs for pid, obs in orphans.items()}
    plans = [
        _moved_from(plan_processor(d, seen.get(pid), policy), orphan_by_name.get((pid.region, pid.name)))
        for pid, d in wanted.items()
        if selected(pid) and pid not in unreadable
    ]
    for pid, obs in orphans.items():
        plans.append(_plan_orphan(obs, policy, wanted_by_name.get((pid.region, pid.name))))
    for pid, error in unreadable.items():
        # Unread, its owner is unknown: it may be this stack's (to update, or to prune), so say so.
        if selected(pid) and (pid in wanted or (policy.prune and pid.location in in_scope)):
            plans.append(
                ProcessorPlan(
                    pid, (Action.NOOP,), desired=wanted.get(pid), block=Block(BlockReason.UNREADABLE, error)
                )
            )
    plans.sort(key=_order)
    return Plan(desired.stack, tuple(plans), observed.failed_targets)


def _order(p: ProcessorPlan) -> tuple[str, str, str]:
    """Plans by target, then region, then name: the order output is grouped in."""
    return (p.id.target, p.id.region, p.id.name)
