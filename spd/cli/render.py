"""Turning plans, outcomes and observations into text and JSON for people and CI.

Pure functions from data to strings, called by the plan/apply/status commands. The text follows
conventions operators already know from Terraform: `&` adopt (`--adopt`), `+` create, `~` update, `-/+` replace, `-` delete,
"# forces replacement", and a one-line summary. Symbols and statuses carry Terraform's colours (green
create, yellow update, magenta replace, red delete) as click styles; `click.echo` drops them when the
output is not a terminal, and the commands turn them off for `NO_COLOR` and `--no-color`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import click

from spd.model import ObservedState, ProcessorId, Status
from spd.reconcile.executor import ApplyResult
from spd.reconcile.plan import Action, BlockReason, Change, ChangeKind, Plan, ProcessorPlan

SYMBOLS = {
    Action.ADOPT: "&",
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.START: ">",
    Action.STOP: "||",
    Action.DELETE: "-",
    Action.NOOP: " ",
}

COLOURS = {
    Action.ADOPT: "cyan",
    Action.CREATE: "green",
    Action.UPDATE: "yellow",
    Action.REPLACE: "magenta",
    Action.DELETE: "red",
}

_STATUS_COLOURS = {
    Action.ADOPT: "cyan",
    Status.RUNNING: "green",
    Status.FAILED: "red",
    Status.STARTING: "yellow",
    Status.STOPPING: "yellow",
    Status.UPDATING: "yellow",
}


def _paint(text: str, action: Action) -> str:
    colour = COLOURS.get(action)
    return click.style(text, fg=colour) if colour else text


def display(value: Any) -> Any:
    """Floats as the service means them: float32, shown with the 7 digits it keeps (0.1, not 0.10000000149)."""
    if isinstance(value, float):
        return float(f"{value:.7g}")
    if isinstance(value, list):
        return [display(v) for v in value]
    if isinstance(value, dict):
        return {k: display(v) for k, v in value.items()}
    return value


def _value(value: Any) -> str:
    return json.dumps(display(value), sort_keys=True) if value is not None else "(none)"


def _added(field: str, value: Any) -> str:
    return f"      {_paint('+', Action.CREATE)} {field} = {_value(value)}"


def _change_line(change: Change, *, creating: bool) -> str:
    tag = change.kind is ChangeKind.TAG
    if creating or (change.before is None and tag):
        return _added(change.field, change.after)
    if change.after is None and tag:
        return f"      {_paint('-', Action.DELETE)} {change.field} = {_value(change.before)}"
    note = click.style("   # forces replacement", fg="red") if change.forces_replacement else ""
    tilde = _paint("~", Action.UPDATE)
    return f"      {tilde} {change.field}: {_value(change.before)} -> {_value(change.after)}{note}"


def _tag_lines(p: ProcessorPlan) -> list[str]:
    """Every tag the new processor of a create or replace carries, `spd:stack` included.

    On a replace, tags that change are shown as changes and the others as they will be, unmarked,
    because the processor is created again with all of them.
    """
    assert p.desired is not None
    changed = {c.field: c for c in p.changes if c.kind is ChangeKind.TAG}
    wanted = {f"tags.{k}": v for k, v in p.desired.tag_dict.items()}
    creating = p.actions[0] is Action.CREATE
    lines = []
    for field in sorted(wanted.keys() | changed.keys()):
        if field in changed and not creating:
            lines.append(_change_line(changed[field], creating=False))
        elif creating:
            lines.append(_added(field, wanted[field]))
        else:
            lines.append(f"        {field} = {_value(wanted[field])}")
    return lines


def _headline(p: ProcessorPlan) -> str:
    main = p.actions[0]
    rest = [a.value for a in p.actions[1:]]
    then = f" (then {', '.join(rest)})" if rest else ""
    return f"  {_paint(f'{SYMBOLS[main]:>3} {main.value:<8}', main)} {p.id}{then}"


def _detail_lines(p: ProcessorPlan) -> list[str]:
    main = p.actions[0]
    creating = main is Action.CREATE
    # A blocked create (a conflict) has no changes and creates nothing, so it lists no tags either.
    whole = p.desired is not None and (Action.REPLACE in p.actions or (creating and bool(p.changes)))
    lines = [
        _change_line(c, creating=creating)
        for c in p.changes
        if c.kind is not ChangeKind.STATUS
        and not (creating and c.after in ([], False))
        and not (whole and c.kind is ChangeKind.TAG)
    ]
    if whole:
        lines.extend(_tag_lines(p))
    tilde = _paint("~", Action.UPDATE)
    lines.extend(
        f"      {tilde} status: {c.before} -> {c.after}"
        for c in p.changes
        if c.kind is ChangeKind.STATUS and c.after is not None
    )
    return lines


def by_target(plan: Plan) -> bool:
    """Whether output is grouped under a heading per target: the spec declares targets (some processor
    has one, or a target failed); a spec without targets reads as it always has."""
    return bool(plan.failed_targets) or any(p.id.target for p in plan.processors)


def failed_targets_text(failed: tuple[tuple[str, str], ...]) -> str:
    """Each target that could not be read, once, with why (its processors were not planned)."""
    cross = click.style("x", fg="red")
    return "".join(
        f"Target {t}: {cross} not read, nothing planned or changed there: {why}\n" for t, why in failed
    )


def target_heading(target: str) -> str:
    return click.style(f"Target {target or '(ambient credentials)'}", bold=True)


def _grouped(
    targets: Iterable[str], failed: tuple[tuple[str, str], ...], body: Callable[[str], str]
) -> list[str]:
    """One part per target, in name order: a failed target's one line, or its heading over `body`."""
    reasons = dict(failed)
    return [
        failed_targets_text(((t, reasons[t]),)) if t in reasons else f"{target_heading(t)}\n{body(t)}"
        for t in sorted(set(targets) | set(reasons))
    ]


def plan_text(plan: Plan, *, verbose: bool = True) -> str:
    if not by_target(plan):
        return _plan_text(plan, verbose=verbose)

    def one(target: str) -> str:
        mine = Plan(plan.stack, tuple(p for p in plan.processors if p.id.target == target))
        return _plan_text(mine, verbose=verbose, summary=False)

    parts = _grouped({p.id.target for p in plan.processors}, plan.failed_targets, one)
    parts.append(summary_line(plan) + "\n")
    return "\n".join(parts)


def _plan_text(plan: Plan, *, verbose: bool = True, summary: bool = True) -> str:
    lines: list[str] = []
    changed = [p for p in plan.processors if p.actions != (Action.NOOP,) and p.unreadable is None]
    unreadable = plan.unreadable()
    if not changed and not unreadable:
        return f"No changes. {len(plan.processors)} processor(s) of stack {plan.stack} match the spec.\n"
    if unreadable:
        lines.append(f"Stack {plan.stack}: {len(unreadable)} processor(s) could not be read; not planned:\n")
        lines.extend(f"  x {p.id}: {p.unreadable}" for p in unreadable)
        lines.append("")
    if changed:
        lines.append(f"Stack {plan.stack}: spd will perform these actions:\n")
    for p in changed:
        lines.append(_headline(p))
        if p.blocked:
            lines.append(click.style(f"      ! blocked: {p.blocked}", fg="yellow"))
        if p.observed is not None and p.observed.status is Status.FAILED:
            message = p.observed.status_message or "(no status message)"
            lines.append(click.style(f"      ! FAILED: {message}", fg="red"))
        if verbose:
            lines.extend(_detail_lines(p))
        lines.append("")
    if summary:
        lines.append(summary_line(plan))
    elif lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    s = plan.summary()
    # Like Terraform's "N to import", adoptions are counted only in plans that have some.
    adopt = f"{s['adopt']} to adopt, " if s["adopt"] else ""
    text = (
        f"Plan: {adopt}{s['create']} to create, {s['update']} to update, {s['replace']} to replace, "
        f"{s['start']} to start, {s['stop']} to stop, {s['delete']} to delete; {s['noop']} unchanged"
    )
    if s["blocked"]:
        text += f"; {s['blocked']} blocked"
    if s["unreadable"]:
        text += f"; {s['unreadable']} unreadable"
    if plan.failed_targets:
        text += f"; {len(plan.failed_targets)} target(s) failed"
    return text + "."


def plan_json(plan: Plan) -> str:
    doc = {
        "stack": plan.stack,
        "processors": [
            {
                "name": p.name,
                "region": p.id.region,
                "target": _target(p.id),
                "actions": [a.value for a in p.actions],
                "changes": [
                    {
                        "field": c.field,
                        "before": display(c.before),
                        "after": display(c.after),
                        "forces_replacement": c.forces_replacement,
                    }
                    for c in p.changes
                ],
                "blocked": p.blocked,
                "error": p.unreadable,
            }
            for p in plan.processors
        ],
        "failed_targets": failed_targets_json(plan.failed_targets),
        "summary": plan.summary(),
    }
    return json.dumps(doc, indent=2) + "\n"


def _target(pid: ProcessorId) -> str | None:
    """A processor's target in JSON: its name, or null for the ambient credentials."""
    return pid.target or None


def failed_targets_json(failed: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"target": t, "error": why} for t, why in failed]


def apply_report(result: ApplyResult, failed_targets: tuple[tuple[str, str], ...] = ()) -> str:
    lines = []
    current: str | None = None
    grouped = bool(failed_targets) or any(o.id.target for o in result.outcomes)
    for o in sorted(result.outcomes, key=lambda o: (o.id.target, o.id.region, o.id.name)):
        if grouped and o.id.target != current:
            current = o.id.target
            lines.append(target_heading(current))
        if o.error:
            lines.append(f"  {click.style('x', fg='red')} {o.id}: {o.error}")
        elif o.deferred:
            lines.append(f"  {_paint('~', Action.UPDATE)} {o.id}: {o.deferred}")
        else:
            lines.append(f"  {click.style('ok', fg='green')} {o.id}: {', '.join(o.done) or 'nothing to do'}")
    failed = len(result.failed)
    done = len(result.outcomes) - failed
    text = f"Apply complete: {done} processor(s) changed, {failed} failed"
    if failed_targets:
        text += f"; {len(failed_targets)} target(s) failed"
    lines.append(text + ".")
    return failed_targets_text(failed_targets) + "\n".join(lines) + "\n"


def is_blocked_change(p: ProcessorPlan) -> bool:
    """A change spd will not make by itself: `protect` forbids it, or the name belongs to someone else.

    These are changes all the same (the live service differs from the spec), so they count for the
    exit codes. A processor left out of the spec while pruning is off is not one: leaving it is the
    run's own choice.
    """
    return p.block is not None and (p.block.reason is BlockReason.PROTECTED or p.block.reason.conflict)


def blocked_changes(plan: Plan) -> tuple[ProcessorPlan, ...]:
    return tuple(p for p in plan.processors if is_blocked_change(p))


def blocked_report(blocked: tuple[ProcessorPlan, ...]) -> str:
    """What `apply` could not do: printed after it did the rest, so the exit code 1 has a reason."""
    lines = [f"{len(blocked)} blocked change(s) remain; spd did not make them:"]
    lines.extend(f"  {click.style('!', fg='yellow')} {p.id}: {p.blocked}" for p in blocked)
    return "\n".join(lines) + "\n"


def apply_json(plan: Plan, result: ApplyResult | None, outcome: str) -> str:
    """`apply --output json`: the whole run as one document, for CI to read instead of the text.

    `outcome` is how the run ended: applied, no_changes, cancelled, failed or blocked.
    """
    outcomes = sorted(result.outcomes if result else (), key=lambda o: (o.id.target, o.id.region, o.id.name))
    blocked = blocked_changes(plan)
    failed = [o for o in outcomes if o.error]
    doc = {
        "stack": plan.stack,
        "outcome": outcome,
        "processors": [
            {
                "name": o.id.name,
                "region": o.id.region,
                "target": _target(o.id),
                "planned": [a.value for a in o.planned],
                "done": list(o.done),
                "error": o.error,
                "deferred": o.deferred,
            }
            for o in outcomes
        ],
        "failed": [
            {"name": o.id.name, "region": o.id.region, "target": _target(o.id), "error": o.error}
            for o in failed
        ],
        "failed_targets": failed_targets_json(plan.failed_targets),
        "blocked": [
            {
                "name": p.name,
                "region": p.id.region,
                "target": _target(p.id),
                "actions": [a.value for a in p.actions],
                "reason": p.blocked,
            }
            for p in blocked
        ],
        "unreadable": [
            {"name": p.name, "region": p.id.region, "target": _target(p.id), "error": p.unreadable}
            for p in plan.unreadable()
        ],
        "summary": {
            "changed": len(outcomes) - len(failed),
            "failed": len(failed),
            "blocked": len(blocked),
            "unreadable": len(plan.unreadable()),
            "failed_targets": len(plan.failed_targets),
        },
    }
    return json.dumps(doc, indent=2) + "\n"


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One processor as `spd status` shows it; the table and the JSON document are both made of these."""

    region: str
    name: str
    status: str
    owner: str | None
    """The `spd:stack` tag's value; None when untagged or unreadable."""
    managed: str
    sync: str
    message: str
    sections: tuple[str, ...] = ()
    """The drifted sections of the spec (`drifted` rows only)."""
    blocked: str | None = None
    """Why spd will not make the change (protected, conflict), when it will not."""
    target: str = ""

    @property
    def state(self) -> str:
        """The sync column as one word, for JSON and the exit code."""
        return self.sync.split(":", 1)[0].replace(" ", "_")

    @property
    def attention(self) -> bool:
        """Differs from the spec in a way `status --detailed-exitcode` reports (exit 2)."""
        return self.state in ("drifted", "missing", "conflict") or self.blocked is not None


def status_rows(observed: ObservedState, plan: Plan, stack: str) -> list[StatusRow]:
    planned = {p.id: p for p in plan.processors}
    rows: list[StatusRow] = []
    seen: set[ProcessorId] = set()
    for o in sorted(observed.processors, key=lambda o: (o.id.target, o.id.region, o.id.name)):
        seen.add(o.id)
        owner = o.stack()
        managed = "yes" if owner == stack else ("no" if owner is None else f"stack {owner}")
        p = planned.get(o.id)
        sections: tuple[str, ...] = ()
        blocked = p.blocked if p is not None and is_blocked_change(p) else None
        if owner != stack:
            sync = "conflict" if p is not None and p.conflict else "-"
        elif p is None:
            sync = "not targeted"
        elif p.desired is None:
            sync = "not in spec"
        elif p.actions == (Action.NOOP,):
            sync = "in sync"
        else:
            sections = tuple(sorted({c.section for c in p.changes}))
            sync = "drifted: " + ",".join(sections)
        rows.append(
            StatusRow(
                o.id.region,
                o.name,
                o.status.value,
                owner,
                managed,
                sync,
                o.status_message or "",
                sections,
                blocked,
                o.id.target,
            )
        )
    for p in plan.unreadable():
        seen.add(p.id)
        rows.append(
            StatusRow(
                p.id.region, p.name, "?", None, "?", "unreadable", p.unreadable or "", target=p.id.target
            )
        )
    for p in plan.processors:
        if p.id not in seen and p.desired is not None:
            rows.append(StatusRow(p.id.region, p.name, "-", None, "-", "missing", "", target=p.id.target))
    rows.sort(key=lambda r: r.target)  # stable: grouped by target, each group in its own order
    return rows


def status_text(rows: list[StatusRow], failed_targets: tuple[tuple[str, str], ...] = ()) -> str:
    """The status table; with targets, one table under a heading per target (failed targets named once)."""
    if not failed_targets and not any(r.target for r in rows):
        return status_table(rows)
    parts = _grouped(
        {r.target for r in rows}, failed_targets, lambda t: status_table([r for r in rows if r.target == t])
    )
    return "\n".join(parts)


def status_table(rows: list[StatusRow]) -> str:
    table: list[tuple[str, ...]] = [("REGION", "NAME", "STATUS", "MANAGED", "SYNC", "MESSAGE")]
    table.extend((r.region, r.name, r.status, r.managed, r.sync, r.message) for r in rows)
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    out = [
        "  ".join(
            _cell(cell, i, widths[i]) if n else cell.ljust(widths[i]) for i, cell in enumerate(r)
        ).rstrip()
        for n, r in enumerate(table)
    ]
    return "\n".join(out) + "\n"


def status_json(rows: list[StatusRow], stack: str, failed_targets: tuple[tuple[str, str], ...] = ()) -> str:
    doc = {
        "stack": stack,
        "processors": [
            {
                "target": r.target or None,
                "region": r.region,
                "name": r.name,
                "status": r.status,
                "owner": r.owner,
                "managed": r.owner == stack,
                "sync": r.state,
                "drifted": list(r.sections),
                "blocked": r.blocked,
                "message": r.message or None,
            }
            for r in rows
        ],
        "failed_targets": failed_targets_json(failed_targets),
        "summary": dict(Counter(r.state for r in rows)),
    }
    return json.dumps(doc, indent=2) + "\n"


_SYNC_COLOURS = {"in sync": "green", "missing": "green", "not in spec": "red", "conflict": "red"}


def _cell(text: str, column: int, width: int) -> str:
    """Colour, then pad outside the escape codes, so they count towards no width and `rstrip` works."""
    colour = None
    if column == 2 and text in Status.__members__:
        colour = _STATUS_COLOURS.get(Status[text])
    elif column == 4:
        colour = "yellow" if text.startswith("drifted") else _SYNC_COLOURS.get(text)
    shown = click.style(text, fg=colour) if colour else text
    return shown + " " * (width - len(text))
