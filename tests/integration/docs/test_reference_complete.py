"""The generated reference holds everything the code defines: every setting, spec key, command and
option, log event, metric, exit code and control endpoint appears in the table generated for it, and
every table is placed on a page of the manual.

The lists to check against are taken from the code independently of the generators (pydantic's model
fields rather than the JSON Schema, click's commands rather than the help pages, the daemon's live
metrics registry rather than a source scan), so a generator that skips something fails here.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import BaseModel

from spd import events
from spd.cli.app import INTERRUPTED, cli
from spd.config.settings import HaSettings, Settings
from spd.config.sink_settings import EventSinkSettings
from spd.daemon.metrics import DaemonMetrics
from spd.docs import commands, reference, settings_table, spec_keys, tables
from spd.docs.markdown import attribute_docstrings
from spd.emulator.backend.config import EmulatorConfig
from spd.errors import ExitCode
from spd.events.log_events import LOG_EVENTS
from spd.spec.schema import ProcessorSpec, SpecDocument, TargetSpec

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation refers to (through Optional, list, dict, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _list_of(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) or origin is typing.Annotated:
        return any(_list_of(arg) for arg in typing.get_args(annotation))
    return origin is list


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every key path of `model`, nested models by dotted path, list items with `[]`."""
    keys = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        keys.append(path)
        for nested in _models_in(field.annotation):
            if nested in (TargetSpec,):
                continue
            keys += _keys(nested, f"{path}[]." if _list_of(field.annotation) else f"{path}.")
    return keys


def _cells(markdown: str) -> set[str]:
    """The first cell of every table row, without its backticks."""
    return {m.group(1) for m in re.finditer(r"^\| `([^`]+)` \|", markdown, flags=re.MULTILINE)}


def test_every_spec_key_is_in_the_spec_reference() -> None:
    top = _cells(spec_keys.top_level())
    assert set(SpecDocument.model_fields) <= top
    assert {f"targets.<name>.{k}" for k in _keys(TargetSpec)} <= _cells(spec_keys.targets())
    processor = _cells(spec_keys.processor())
    missing = [key for key in _keys(ProcessorSpec) if key not in processor]
    assert missing == []
    assert "target" in processor


def test_every_setting_is_in_the_settings_table_with_its_variable_and_a_meaning() -> None:
    rows = {row[0].strip("`"): row for row in settings_table.rows()}
    expected = {
        *Settings.model_fields,
        *(f"ha.{name}" for name in HaSettings.model_fields),
        *(f"event_sinks[].{name}" for name in EventSinkSettings.model_fields),
    }
    assert expected - set(rows) == set()
    for key, (_, variable, default, meaning) in rows.items():
        assert meaning, f"{key}: no docstring under the field, so no meaning in the manual"
        assert default, key
        if "." not in key:
            assert variable.strip("`").startswith(f"SPD_{key.upper()}") or key == "ha", key
    assert rows["ha.table"][1] == "`SPD_HA_TABLE`"


def test_every_settings_field_has_a_docstring() -> None:
    for model in (Settings, HaSettings, EventSinkSettings):
        undocumented = set(model.model_fields) - set(attribute_docstrings(model))
        assert undocumented == set(), model.__name__


def _all_commands(group: click.Group, prefix: str = "spd") -> dict[str, click.Command]:
    ctx = click.Context(group, info_name=prefix)
    found: dict[str, click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        found[f"{prefix} {name}"] = command
        if isinstance(command, click.Group):
            found |= _all_commands(command, f"{prefix} {name}")
    return found


def test_every_command_and_option_is_in_the_commands_reference() -> None:
    page = commands.commands()
    sections = dict(re.findall(r"^## `([^`]+)`\n(.*?)(?=^## `|\Z)", page, flags=re.MULTILINE | re.DOTALL))
    every = {"spd": cli, **_all_commands(cli)}
    assert set(every) == set(sections)
    for name, command in every.items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for option in param.opts:
                    assert option in sections[name], f"{name}: {option}"


def test_every_log_event_is_in_the_log_events_reference() -> None:
    page = tables.log_events()
    core = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
    listed = _cells(page)
    assert {event.name for event in LOG_EVENTS} | core <= listed


def test_every_metric_the_daemon_exports_is_in_the_metrics_reference() -> None:
    listed = _cells(tables.metrics())
    registry = DaemonMetrics(stats=lambda: None).registry
    exported = set()
    for family in registry.collect():
        if family.name.startswith("spd_"):
            exported.add(f"{family.name}_total" if family.type == "counter" else family.name)
    assert exported <= listed
    assert "spd_watch_events_total" in listed  # registered only with a watch, found in the source


def test_every_exit_code_is_in_the_exit_codes_reference() -> None:
    listed = _cells(tables.exit_codes())
    assert {str(code.value) for code in ExitCode} | {str(INTERRUPTED)} <= listed
    assert all(attribute_docstrings(ExitCode).get(code.name) for code in ExitCode)


def _routes() -> dict[str, set[str]]:
    """Each control path the router answers and the methods it allows, read from `ControlApi._route`."""
    tree = ast.parse(tables.control_api_source())
    patterns = {
        node.targets[0].id: ast.literal_eval(node.value.args[0])
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "re.compile"
    }
    route = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_route")
    found: dict[str, set[str]] = {}
    matched = None  # the pattern of the last `match = _PATTERN.fullmatch(path)`
    for node in route.body:
        if isinstance(node, ast.Assign):
            regex = re.fullmatch(r"(_[A-Z_]+)\.fullmatch\(path\)", ast.unparse(node.value))
            matched = patterns[regex.group(1)] if regex else matched
            continue
        if not isinstance(node, ast.If):
            continue
        test = ast.unparse(node.test)
        literal = re.fullmatch(r"path == '(/[^']*)'", test)
        if literal:
            path = literal.group(1)
        elif test == "match is not None" and matched is not None:
            path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", matched)
        else:
            continue
        allowed = [
            n for n in ast.walk(node) if isinstance(n, ast.Call) and ast.unparse(n.func) == "self._allow"
        ]
        found[path] = {
            arg.value for call in allowed for arg in call.args[1:] if isinstance(arg, ast.Constant)
        }
    return found


def test_every_control_endpoint_is_in_the_control_api_reference() -> None:
    rows = tables.control_api_rows()
    routes = _routes()
    assert len(routes) >= 8
    for path, methods in routes.items():
        documented: set[str] = set()
        for endpoint, _ in rows:
            listed_methods, _, listed_path = endpoint.partition(" ")
            if listed_path.split("[")[0] == f"/_emulator{path}":
                documented |= set(listed_methods.split("|"))
        assert methods <= documented, f"/_emulator{path}: {sorted(methods - documented)} not documented"


def test_every_emulator_setting_is_in_the_emulator_settings_table() -> None:
    listed = _cells(tables.emulator_settings())
    assert {spec.name for spec in dataclasses.fields(EmulatorConfig)} <= listed
    assert set(attribute_docstrings(EmulatorConfig)) >= {
        spec.name for spec in dataclasses.fields(EmulatorConfig)
    }


def _pages() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in DOCS.rglob("*.md")}


def test_every_generated_table_is_placed_on_a_page_and_every_marker_is_known() -> None:
    used = {name for text in _pages().values() for name in reference.MARKER.findall(text)}
    assert used == set(reference.GENERATORS)
    with pytest.raises(reference.UnknownReference, match="bogus"):
        reference.expand("<!-- reference: bogus -->")
