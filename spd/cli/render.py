"""Turning plans, outcomes and observations into text and JSON for people and CI.

Pure functions from data to strings, called by the plan/apply/status commands. The text follows
conventions operators already know from Terraform: `&` adopt (`--adopt`), `+` create, `~` update, `-/+` replace, `-` delete,
"# forces replacement", and a one-line summary. Symbols and statuses carry Terraform's colours (green
create, yellow update, magenta replace, red delete) as click styles; `click.echo` drops them when the
output is not a terminal, and the commands turn them off for `NO_COLOR` and `--no-color`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from spd.executor import ApplyResult
from spd.model import ObservedState, ProcessorId, Status
from spd.plan import Action, Change, ChangeKind, Plan, ProcessorPlan

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


def plan_text(plan: Plan, *, verbose: bool = True) -> str:
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
    lines.append(summary_line(plan))
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
    return text + "."


def plan_json(plan: Plan) -> str:
    doc = {
        "stack": plan.stack,
        "processors": [
            {
                "name": p.name,
                "region": p.id.region,
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
        "summary": plan.summary(),
    }
    return json.dumps(doc, indent=2) + "\n"


def apply_report(result: ApplyResult) -> str:
    lines = []
    for o in sorted(result.outcomes, key=lambda o: (o.id.region, o.id.name)):
        if o.error:
            lines.append(f"  {click.style('x', fg='red')} {o.id}: {o.error}")
        elif o.deferred:
            lines.append(f"  {_paint('~', Action.UPDATE)} {o.id}: {o.deferred}")
        else:
            lines.append(f"  {click.style('ok', fg='green')} {o.id}: {', '.join(o.done) or 'nothing to do'}")
    failed = len(result.failed)
    done = len(result.outcomes) - failed
    lines.append(f"Apply complete: {done} processor(s) changed, {failed} failed.")
    return "\n".join(lines) + "\n"


def status_table(observed: ObservedState, plan: Plan, stack: str) -> str:
    planned = {p.id: p for p in plan.processors}
    rows: list[tuple[str, ...]] = [("REGION", "NAME", "STATUS", "MANAGED", "SYNC", "MESSAGE")]
    seen: set[ProcessorId] = set()
    for o in sorted(observed.processors, key=lambda o: (o.id.region, o.id.name)):
        seen.add(o.id)
        owner = o.stack()
        managed = "yes" if owner == stack else ("no" if owner is None else f"stack {owner}")
        p = planned.get(o.id)
        if owner != stack:
            sync = "-"
        elif p is None:
            sync = "not targeted"
        elif p.desired is None:
            sync = "not in spec"
        elif p.actions == (Action.NOOP,):
            sync = "in sync"
        else:
            fields = sorted({c.section for c in p.changes})
            sync = "drifted: " + ",".join(fields)
        rows.append((o.id.region, o.name, o.status.value, managed, sync, o.status_message or ""))
    for p in plan.unreadable():
        seen.add(p.id)
        rows.append((p.id.region, p.name, "?", "?", "unreadable", p.unreadable or ""))
    for p in plan.processors:
        if p.id not in seen and p.desired is not None:
            rows.append((p.id.region, p.name, "-", "-", "missing", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(
            _cell(cell, i, widths[i]) if n else cell.ljust(widths[i]) for i, cell in enumerate(r)
        ).rstrip()
        for n, r in enumerate(rows)
    ]
    return "\n".join(out) + "\n"


_SYNC_COLOURS = {"in sync": "green", "missing": "green", "not in spec": "red"}


def _cell(text: str, column: int, width: int) -> str:
    """Colour, then pad outside the escape codes, so they count towards no width and `rstrip` works."""
    colour = None
    if column == 2 and text in Status.__members__:
        colour = _STATUS_COLOURS.get(Status[text])
    elif column == 4:
        colour = "yellow" if text.startswith("drifted") else _SYNC_COLOURS.get(text)
    shown = click.style(text, fg=colour) if colour else text
    return shown + " " * (width - len(text))
