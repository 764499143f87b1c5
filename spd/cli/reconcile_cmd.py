"""`spd plan`, `spd apply` and `spd status`: arguments, confirmation, progress and rendering.

All three load the spec, open the gateway the options ask for, and call the reconciler; none of them
decides anything about processors itself.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from spd.cli import preflight_run
from spd.cli.app import (
    SPEC_ARGUMENT,
    colour_option,
    connection_options,
    connection_settings,
    output_option,
)
from spd.cli.complete import complete_processors
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.render import (
    apply_json,
    apply_report,
    blocked_changes,
    blocked_report,
    plan_json,
    plan_text,
    status_json,
    status_rows,
    status_text,
)
from spd.config.settings import Settings
from spd.connect import execution_settings, open_gateway, run_policy
from spd.errors import ExitCode, UsageError
from spd.events import Event
from spd.model import DesiredState, ObservedState
from spd.reconcile import saved_plan
from spd.reconcile.executor import ApplyResult, ProcessorOutcome
from spd.reconcile.plan import Plan, Policy
from spd.reconcile.reconciler import Reconciler
from spd.reconcile.saved_plan import SavedPlan
from spd.spec.suggest import did_you_mean

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# readable=False: an unreadable spec is a spec error (located, exit 78) reported by the loader, not a
# usage error.


ADOPT_OPTION = click.option(
    "--adopt", is_flag=True, help="Take over the spec's processors that carry no spd:stack tag."
)


def target_option(help: str) -> Callable[[F], F]:
    """`--target NAME` (repeatable): a processor of the spec; completion offers the spec's names."""
    return click.option(
        "--target",
        "only",
        multiple=True,
        metavar="NAME",
        shell_complete=complete_processors,
        help=help,
    )


INTERRUPTED = (130, "interrupted (Ctrl-C)")


_settings = connection_settings
"""The settings of a command with the connection options (also `check`'s and `session`'s)."""


def _load(spec: Path) -> DesiredState:
    from spd.spec import load_spec

    loaded = load_spec(spec)
    for warning in loaded.warnings:
        click.echo(str(warning), err=True)
    return loaded.desired


def _policy(
    settings: Settings, desired: DesiredState, only: tuple[str, ...], *, adopt: bool = False
) -> Policy:
    """The run's policy; a `--target` that names no processor of the spec is a usage error, not a no-op.

    With pruning on, a target may also name a processor of this stack that left the spec (to delete just
    that one); such names are checked against the plan instead (`_check_only_planned`).
    """
    if not settings.prune:
        _check_only(only, {p.name for p in desired.processors}, desired.stack)
    return replace(run_policy(settings, desired.stack, frozenset(only) or None), adopt=adopt)


def _check_only_planned(only: tuple[str, ...], desired: DesiredState, planned: Plan) -> None:
    known = {p.name for p in desired.processors} | {p.name for p in planned.processors}
    _check_only(only, known, desired.stack)


def _check_only(only: tuple[str, ...], known: set[str], stack: str) -> None:
    problems = []
    for name in dict.fromkeys(only):
        if name in known:
            continue
        problems.append(
            f"--target {name!r}: no processor of stack {stack} has this name{did_you_mean(name, known)}"
        )
    if problems:
        raise UsageError("\n".join(problems))


def _run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())


def _observe_progress(enabled: bool) -> Callable[[int, int], None] | None:
    if not enabled:
        return None
    last = [0]

    def report(done: int, total: int) -> None:
        # A line every 10% on a terminal; reading thousands of processors takes a while.
        step = max(1, total // 10)
        if done == total or done - last[0] >= step:
            last[0] = done
            click.echo(f"\r  reading processors: {done}/{total}", nl=done == total, err=True)

    return report


@documented(
    examples=[
        ("spd plan --local config/", "what would change in the sandbox"),
        ("spd plan config/ --detailed-exitcode", "exit 2 when there are changes"),
        ("spd plan config/ --output json", "one JSON object"),
        ("spd plan config/ --out plan.json", "saved, for `spd apply plan.json`"),
        ("spd plan config/ --target lobby-faces", "only this processor (repeatable)"),
    ],
    exit_codes={
        0: "planned (with --detailed-exitcode: no changes)",
        1: "the service failed, a processor or target was unreadable, the preflight found errors",
        2: "with --detailed-exitcode: there are changes, blocked ones included",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@click.command("plan")
@SPEC_ARGUMENT
@output_option()
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes (blocked ones included), 0 when none.",
)
@click.option(
    "--prune", is_flag=True, default=None, help="Plan deletion of this stack's processors not in the spec."
)
@target_option("Limit to these processors.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also save the plan to this file (JSON), for `spd apply FILE`.",
)
@ADOPT_OPTION
@preflight_run.PREFLIGHT_OPTION
@colour_option
@connection_options
def plan_command(
    spec: Path,
    output: str,
    detailed_exitcode: bool,
    prune: bool | None,
    only: tuple[str, ...],
    out: Path | None,
    adopt: bool,
    run_preflight: bool | None,
    **conn: Any,
) -> int:
    """Read the live service and print what `apply` would do.

    With --output json, stdout is one object: stack, processors ([{name, region, target, actions,
    changes, blocked, error}]), failed_targets and summary.
    """
    settings = _settings(**conn, prune=prune)
    desired = _load(spec)
    policy = _policy(settings, desired, only, adopt=adopt)
    check_first = preflight_run.wanted(run_preflight, settings)

    async def go() -> Plan | None:
        async with open_gateway(settings, desired) as gateway:
            if check_first and not await preflight_run.passes(gateway, desired, settings):
                return None
            reconciler = Reconciler(
                gateway, execution_settings(settings, desired.stack), extra_regions=tuple(settings.regions)
            )
            planned, _ = await reconciler.plan(
                desired, policy, progress=_observe_progress(sys.stderr.isatty())
            )
            _check_only_planned(only, desired, planned)
            return planned

    planned = _run(go)
    if planned is None:
        return ExitCode.FAILURE
    click.echo(plan_json(planned) if output == "json" else plan_text(planned), nl=False)
    if planned.unreadable() or planned.failed_targets:
        if out is not None:
            what = "some processors" if planned.unreadable() else "some targets"
            click.echo(f"error: plan not saved to {out}: {what} could not be read", err=True)
        return ExitCode.FAILURE
    if out is not None:
        _save_plan(out, planned, desired, spec, policy)
    if detailed_exitcode and (planned.has_changes or blocked_changes(planned)):
        return ExitCode.CHANGES
    return ExitCode.OK


INTERRUPTED_APPLYING = "interrupted; processors already changed stay changed, run spd apply again to finish"
INTERRUPTED_BEFORE = "interrupted; nothing changed"


async def _approve() -> bool:
    """Ask on the terminal; only the word `yes` approves (Terraform's convention, so "y" is not enough).

    The answer is read by the event loop itself, not by a thread blocked in `input()`: Ctrl-C then
    cancels the run at once, where a thread would keep the process waiting for Enter.
    """
    click.echo(
        "\nApply these changes?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
        nl=False,
        err=True,
    )
    answer = await _read_line(sys.stdin.fileno())
    return answer.strip() == "yes"


async def _read_line(fd: int) -> str:
    """One line from `fd` (a terminal), or what was typed before end of file."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()
    typed = bytearray()

    def readable() -> None:
        chunk = os.read(fd, 1024)
        typed.extend(chunk)
        if (not chunk or b"\n" in chunk) and not line.done():
            line.set_result(typed.decode(errors="replace"))

    loop.add_reader(fd, readable)
    try:
        return await line
    finally:
        loop.remove_reader(fd)


@documented(
    examples=[
        ("spd apply --local config/", "shows the plan, asks when stdin is a terminal"),
        ("spd apply config/ --auto-approve", "required when no terminal is attached"),
        ("spd apply config/ --prune", "also delete the stack's processors not in the spec"),
        ("spd apply config/ --target lobby-faces", "only this processor (repeatable)"),
        ("spd apply plan.json", "a plan saved by `spd plan --out`, as saved"),
        ("spd apply config/ --auto-approve --output json", "the report as one JSON object"),
    ],
    exit_codes={
        0: "applied, or nothing to do",
        1: "a step failed, blocked changes are left, cancelled, or a saved plan is out of date",
        USAGE[0]: USAGE[1] + ", no terminal without --auto-approve",
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
        INTERRUPTED[0]: "interrupted (Ctrl-C); run spd apply again to finish",
    },
)
@click.command("apply")
@SPEC_ARGUMENT
@click.option("--auto-approve", is_flag=True, help="Do not ask; required when no terminal is attached.")
@output_option("json: the final report as one JSON object on stdout (the plan goes to stderr).")
@click.option("--prune", is_flag=True, default=None, help="Delete this stack's processors not in the spec.")
@target_option("Limit to these processors.")
@ADOPT_OPTION
@preflight_run.PREFLIGHT_OPTION
@colour_option
@connection_options
def apply_command(
    spec: Path,
    auto_approve: bool,
    output: str,
    prune: bool | None,
    only: tuple[str, ...],
    adopt: bool,
    run_preflight: bool | None,
    **conn: Any,
) -> int:
    """Plan, confirm, and make the live service match the spec.

    SPEC may also be a plan saved by `spd plan --out FILE`: it is carried out as saved, without asking,
    unless a processor it names changed since.

    With --output json, stdout is one object (the plan goes to stderr): stack, outcome (applied,
    no_changes, cancelled, failed, blocked), processors ([{name, region, target, planned, done, error,
    deferred}]), failed, failed_targets, blocked, unreadable and summary.
    """
    if saved_plan.is_plan_file(spec):
        if prune is not None or only or adopt:
            raise UsageError(
                "--prune, --target and --adopt are fixed by the saved plan; plan again to change them"
            )
        return _apply_saved(saved_plan.read(spec), run_preflight, conn)
    settings = _settings(**conn, prune=prune)
    desired = _load(spec)
    policy = _policy(settings, desired, only, adopt=adopt)
    check_first = preflight_run.wanted(run_preflight, settings)
    # The answer comes from stdin, so stdin decides whether spd can ask; stdout may be piped
    # (`spd apply spec | tee log`), which is why the question goes to stderr.
    if not auto_approve and not sys.stdin.isatty():
        raise UsageError("no terminal to ask for approval: re-run with --auto-approve to apply")

    run = _ApplyRun(
        settings, desired, policy, only, check_first, auto_approve=auto_approve, as_json=output == "json"
    )
    try:
        return _run(run.go)
    except KeyboardInterrupt:
        # The message says what state the fleet is in: apply is idempotent, so running it again finishes.
        raise KeyboardInterrupt(INTERRUPTED_APPLYING if run.applying else INTERRUPTED_BEFORE) from None


@dataclass
class _ApplyRun:
    """One `spd apply SPEC`: plan, show, ask, carry out, report. `applying` tells an interrupt whether
    any change had begun."""

    settings: Settings
    desired: DesiredState
    policy: Policy
    only: tuple[str, ...]
    check_first: bool
    auto_approve: bool
    as_json: bool
    applying: bool = False

    def say(self, text: str) -> None:
        # With --output json, stdout carries the one JSON document and nothing else.
        click.echo(text, nl=False, err=self.as_json)

    def finish(self, planned: Plan, result: ApplyResult | None, outcome: str, code: int) -> int:
        blocked = blocked_changes(planned)
        if self.as_json:
            click.echo(apply_json(planned, result, outcome), nl=False)
        elif blocked:
            click.echo(blocked_report(blocked), nl=False)
        return ExitCode.FAILURE if blocked else code

    async def go(self) -> int:
        settings, desired = self.settings, self.desired
        async with open_gateway(settings, desired) as gateway:
            if self.check_first and not await preflight_run.passes(gateway, desired, settings):
                return ExitCode.FAILURE
            events: list[Event] = []
            reconciler = Reconciler(
                gateway,
                execution_settings(settings, desired.stack),
                on_event=events.append,
                extra_regions=tuple(settings.regions),
            )
            planned, _ = await reconciler.plan(
                desired, self.policy, progress=_observe_progress(sys.stderr.isatty())
            )
            _check_only_planned(self.only, desired, planned)
            self.say(plan_text(planned))
            if not planned.has_changes and not planned.unreadable():
                code = ExitCode.FAILURE if planned.failed_targets else ExitCode.OK
                return self.finish(planned, None, "no_changes", code)
            if planned.has_changes and not self.auto_approve and not await _approve():
                self.say("Apply cancelled (only 'yes' approves); nothing changed.\n")
                return self.finish(planned, None, "cancelled", ExitCode.FAILURE)
            return await self._apply(reconciler, planned)

    async def _apply(self, reconciler: Reconciler, planned: Plan) -> int:
        self.applying = True
        with _progress(len(planned.actionable()), sys.stderr.isatty()) as on_done:
            result = await reconciler.apply(planned, progress=on_done)
        self.applying = False
        self.say(apply_report(result, planned.failed_targets))
        ok = result.ok and not planned.failed_targets
        outcome = "failed" if not ok else "blocked" if blocked_changes(planned) else "applied"
        return self.finish(planned, result, outcome, ExitCode.OK if ok else ExitCode.FAILURE)


def _save_plan(out: Path, planned: Plan, desired: DesiredState, spec: Path, policy: Policy) -> None:
    only = None if policy.only is None else sorted(policy.only)
    saved = saved_plan.save(planned, desired, spec, prune=policy.prune, adopt=policy.adopt, only=only)
    saved_plan.write(out, saved.to_json(planned))
    click.echo(f"Plan saved to {out}; run `spd apply {out}` to carry it out.", err=True)


def _apply_saved(saved: SavedPlan, run_preflight: bool | None, conn: dict[str, Any]) -> int:
    """`spd apply FILE`: re-read the plan's processors, refuse if any changed, else carry it out as is.

    The preflight runs again first: a stream or role deleted since the plan was made would otherwise
    fail half-way through carrying it out.
    """
    settings = _settings(**conn, prune=saved.prune)
    desired = _load(Path(saved.spec))
    if desired.stack != saved.stack:
        raise saved_plan.SavedPlanError(
            saved.spec, f"declares stack {desired.stack!r}, but the saved plan is for stack {saved.stack!r}"
        )
    only = None if saved.only is None else frozenset(saved.only)
    policy = replace(run_policy(settings, desired.stack, only), adopt=saved.adopt)
    check_first = preflight_run.wanted(run_preflight, settings)

    async def go() -> int:
        async with open_gateway(settings, desired) as gateway:
            if check_first and not await preflight_run.passes(gateway, desired, settings):
                return ExitCode.FAILURE
            reconciler = Reconciler(
                gateway, execution_settings(settings, desired.stack), extra_regions=tuple(settings.regions)
            )
            planned, observed = await reconciler.plan_only(desired, policy, saved.ids)
            changed = saved_plan.changes_since(saved, observed)
            if saved_plan.spec_digest(desired) != saved.spec_digest:
                changed.insert(0, f"{saved.spec}: the spec changed since the plan was made")
            if not changed:
                changed = saved_plan.plan_differences(saved, planned)
            if changed:
                click.echo("error: the saved plan is out of date, so nothing was changed:", err=True)
                for line in changed:
                    click.echo(f"  {line}", err=True)
                click.echo("Run `spd plan --out FILE` again.", err=True)
                return ExitCode.FAILURE
            click.echo(plan_text(planned), nl=False)
            if not planned.has_changes:
                return ExitCode.OK
            with _progress(len(planned.actionable()), sys.stderr.isatty()) as on_done:
                result = await reconciler.apply(planned, progress=on_done)
            click.echo(apply_report(result), nl=False)
            return ExitCode.OK if result.ok else ExitCode.FAILURE

    return _run(go)


class _progress:
    """A progress bar when stderr is a terminal, one line per finished processor otherwise."""

    def __init__(self, total: int, interactive: bool) -> None:
        self._total = total
        self._interactive = interactive
        self._done = 0
        self._bar: Any = None

    def __enter__(self) -> Callable[[ProcessorOutcome], None]:
        if self._interactive:
            self._bar = click.progressbar(length=self._total, label="Applying", file=sys.stderr)
            self._bar.__enter__()
        return self._step

    def _step(self, outcome: ProcessorOutcome) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(1)
            return
        state = "failed" if outcome.error else "done"
        steps = ",".join(outcome.done) or "-"
        click.echo(f"[{self._done}/{self._total}] {outcome.id}: {state} ({steps})", err=True)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


@documented(
    examples=[
        ("spd status --local config/", "all of the spec's regions"),
        ("spd status config/ --detailed-exitcode", "exit 2 when one needs attention"),
        ("spd status config/ --output json", "the rows as one JSON object"),
    ],
    exit_codes={
        0: "listed (with --detailed-exitcode: everything in sync)",
        1: "the service failed, or a target (with --detailed-exitcode: a processor) was unreadable",
        2: "with --detailed-exitcode: a processor drifted, is missing, blocked or conflicted",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@click.command("status")
@SPEC_ARGUMENT
@output_option()
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when a processor drifted, is missing, blocked or conflicted; 1 when one is unreadable.",
)
@colour_option
@connection_options
def status_command(spec: Path, output: str, detailed_exitcode: bool, **conn: Any) -> int:
    """Table of every processor in the spec's regions: status, owner, drift.

    With --output json, stdout is one object: stack, processors ([{target, region, name, status, owner,
    managed, sync, drifted, blocked, message}]), failed_targets and summary.
    """
    settings = _settings(**conn)
    desired = _load(spec)

    async def go() -> tuple[Plan, ObservedState]:
        async with open_gateway(settings, desired) as gateway:
            reconciler = Reconciler(
                gateway, execution_settings(settings, desired.stack), extra_regions=tuple(settings.regions)
            )
            return await reconciler.status(desired, progress=_observe_progress(sys.stderr.isatty()))

    planned, observed = _run(go)
    rows = status_rows(observed, planned, desired.stack)
    failed = planned.failed_targets
    click.echo(
        status_json(rows, desired.stack, failed) if output == "json" else status_text(rows, failed), nl=False
    )
    if failed:
        return ExitCode.FAILURE
    if not detailed_exitcode:
        return ExitCode.OK
    if planned.unreadable():
        return ExitCode.FAILURE
    return ExitCode.CHANGES if any(r.attention for r in rows) else ExitCode.OK
