"""The smaller reference tables: log events, metrics, exit codes, and the emulator's control API and
settings, each rendered from its one definition in the code."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import inspect
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from spd.docs.markdown import attribute_docstrings, cell, code, table
from spd.emulator.backend.config import BOUNDS, NULLABLE, EmulatorConfig
from spd.errors import ExitCode
from spd.events.log_events import LOG_EVENTS

DAEMON = Path(__file__).resolve().parents[1] / "daemon"
_METRIC_TYPES = {
    "PromCounter": "counter",
    "Counter": "counter",
    "CounterMetricFamily": "counter",
    "Gauge": "gauge",
    "GaugeMetricFamily": "gauge",
    "Histogram": "histogram",
}


def log_events() -> str:
    """One table per group of events, in the catalogue's order."""
    groups: dict[str, list[tuple[str, str, str, str]]] = {}
    for event in LOG_EVENTS:
        row = (code(event.name), cell(event.level), cell(event.fields), cell(event.when))
        groups.setdefault(event.group, []).append(row)
    return "\n".join(
        f"## {group}\n\n" + table(("event", "level", "fields", "when"), rows)
        for group, rows in groups.items()
    )


@dataclass(frozen=True)
class Metric:
    name: str
    """As exported: counters with their `_total`."""
    kind: str
    labels: tuple[str, ...]
    help: str
    module: str
    """The module that defines it (`spd.daemon.metrics`, or a feature's own, like the watch's)."""


def _labels(call: ast.Call) -> tuple[str, ...]:
    candidates = [kw.value for kw in call.keywords if kw.arg in ("labels", "labelnames")]
    candidates += [arg for arg in call.args[2:3] if isinstance(arg, ast.List | ast.Tuple)]
    for node in candidates:
        if isinstance(node, ast.List | ast.Tuple):
            return tuple(str(e.value) for e in node.elts if isinstance(e, ast.Constant))
    return ()


def metrics_defined() -> list[Metric]:
    """Every `spd_*` metric the daemon's modules define, read from their source (so metrics registered
    only when a feature is configured, like the watch's, are listed too)."""
    found = []
    for path in sorted(DAEMON.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or len(node.args) < 2:
                continue
            callee = ast.unparse(node.func).rsplit(".", 1)[-1]
            first, second = node.args[0], node.args[1]
            if (
                callee in _METRIC_TYPES
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.startswith("spd_")
                and isinstance(second, ast.Constant)
            ):
                kind = _METRIC_TYPES[callee]
                name = first.value + ("_total" if kind == "counter" else "")
                found.append(Metric(name, kind, _labels(node), str(second.value), f"spd.daemon.{path.stem}"))
    return sorted(found, key=lambda m: m.name)


def metrics() -> str:
    rows = [
        (code(m.name), m.kind, ", ".join(code(label) for label in m.labels), cell(m.help))
        for m in metrics_defined()
    ]
    rows.append(
        ("`process_resident_memory_bytes`, `process_cpu_seconds_total`, …", "", "", "the daemon process")
    )
    return table(("metric", "type", "labels", "meaning"), rows)


def exit_codes() -> str:
    """`spd.errors.ExitCode`, and 130 for an interrupt (`spd.cli.app.INTERRUPTED`)."""
    meanings = attribute_docstrings(ExitCode)
    rows = [
        (code(member.value), code(member.name), cell(meanings.get(member.name, ""))) for member in ExitCode
    ]
    interrupted = _interrupted()
    rows.append((code(interrupted[0]), "", cell(interrupted[1])))
    return table(("code", "name", "meaning"), rows)


def _interrupted() -> tuple[int, str]:
    """`INTERRUPTED` and its docstring, read without importing the CLI's module-level options."""
    from spd.cli import app

    docs = _module_docstrings(app.__file__ or "")
    return app.INTERRUPTED, docs.get("INTERRUPTED", "")


def _module_docstrings(path: str) -> dict[str, str]:
    body = ast.parse(Path(path).read_text(encoding="utf-8")).body
    found = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            found[node.targets[0].id] = inspect.cleandoc(following.value.value)
    return found


def control_api_source() -> str:
    """The source of `spd.emulator.http.control`, read without importing it (the emulator needs the `local`
    extra; the manual builds without it)."""
    spec = importlib.util.find_spec("spd.emulator.http.control")
    if spec is None or spec.origin is None:
        raise RuntimeError("spd.emulator.http.control not found")
    return Path(spec.origin).read_text(encoding="utf-8")


def control_api_rows() -> list[tuple[str, str]]:
    """(method and path, what it does) from the table in `spd.emulator.http.control`'s module docstring: the
    one list of its endpoints (`tests/integration/docs/test_reference_complete.py` holds it to the router)."""
    docstring = ast.get_docstring(ast.parse(control_api_source())) or ""
    rows = [line.strip().strip("|") for line in docstring.splitlines() if line.startswith("|")][2:]
    out = []
    for row in rows:
        endpoint, does = (part.strip() for part in row.split(" | ", 1))
        out.append((endpoint.strip("`"), does))
    return out


def control_api() -> str:
    return table(("method and path", "does"), [(code(e), cell(d)) for e, d in control_api_rows()])


def emulator_settings() -> str:
    """`spd.emulator.backend.config.EmulatorConfig`: each setting, its default, its range (`BOUNDS`) and the
    docstring under its field. **[I]** in a meaning marks a rule the public sources do not state."""
    meanings = attribute_docstrings(EmulatorConfig)
    rows = []
    for spec in dataclasses.fields(EmulatorConfig):
        default = spec.default_factory() if spec.default_factory is not dataclasses.MISSING else spec.default
        shown = "null" if default is None else str(default).lower() if isinstance(default, bool) else default
        if isinstance(default, tuple):
            shown = list(default)
        bound = BOUNDS.get(spec.name)
        if bound is not None:
            limits = bound.describe() + (" or null" if spec.name in NULLABLE else "")
        elif isinstance(default, bool):
            limits = "true or false"
        else:
            limits = ""
        meaning = meanings.get(spec.name, "").replace("[I]", "**[I]**")
        rows.append((code(spec.name), code(json_text(shown)), cell(limits), cell(meaning)))
    return table(("setting", "default", "range", "meaning"), rows)


def json_text(value: object) -> str:
    """`value` as the control API shows it (JSON)."""
    return value if isinstance(value, str) and value in ("null", "true", "false") else json.dumps(value)
