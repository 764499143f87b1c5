"""What `spd plan`, `apply` and `status` print: colour only on a terminal, tags on create and replace,
added and removed tags alike, and `--target` names checked against the spec."""

from __future__ import annotations

import pytest

from ptyrun import run_on_terminal
from spdrun import face, run_spd, write_spec

GREEN, YELLOW, RED, MAGENTA = "\x1b[32m", "\x1b[33m", "\x1b[31m", "\x1b[35m"
ESC = "\x1b["


def _apply(spec, emu, *extra):
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve", *extra])
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _plan(spec, emu, *extra):
    return run_spd(["plan", str(spec), "--endpoint-url", emu.url, *extra])


# --- colour ----------------------------------------------------------------------------------------


@pytest.fixture
def changes(emu, tmp_path):
    """A spec whose plan creates one processor, updates one (a tag), replaces one and deletes one."""
    spec = tmp_path / "spec.yaml"
    write_spec(spec, [face("kept"), face("moved"), face("gone")], references=emu)
    _apply(spec, emu)
    write_spec(
        spec,
        [face("kept", tags={"team": "x"}), face("moved", collection="guests"), face("new")],
        references=emu,
    )
    return spec


def test_plan_is_coloured_on_a_terminal(emu, changes):
    run = run_on_terminal(["plan", str(changes), "--endpoint-url", emu.url, "--prune"], drop_env=["NO_COLOR"])
    assert run.code == 0, run.terminal
    assert f"{GREEN}  + create" in run.terminal
    assert f"{YELLOW}  ~ update" in run.terminal
    assert f"{MAGENTA}-/+ replace" in run.terminal
    assert f"{RED}  - delete" in run.terminal
    assert f"{GREEN}+{ESC}0m tags.team" in run.terminal


@pytest.mark.parametrize(
    ("args", "env"),
    [([], {"NO_COLOR": "1"}), (["--no-color"], {}), ([], {"NO_COLOR": "yes please"})],
    ids=["NO_COLOR=1", "--no-color", "NO_COLOR=any"],
)
def test_no_colour_on_request_even_on_a_terminal(emu, changes, args, env):
    run = run_on_terminal(
        ["plan", str(changes), "--endpoint-url", emu.url, "--prune", *args], env=env, drop_env=["NO_COLOR"]
    )
    assert run.code == 0, run.terminal
    assert "-/+ replace" in run.terminal
    assert ESC not in run.terminal


def test_empty_no_color_keeps_colour(emu, changes):
    run = run_on_terminal(["plan", str(changes), "--endpoint-url", emu.url], env={"NO_COLOR": ""})
    assert f"{MAGENTA}-/+ replace" in run.terminal


def test_no_colour_when_piped(emu, changes):
    r = run_spd(["plan", str(changes), "--endpoint-url", emu.url, "--prune"], env={"NO_COLOR": ""})
    assert r.returncode == 0, r.stderr
    assert "-/+ replace" in r.stdout
    assert ESC not in r.stdout
    assert ESC not in r.stderr


def test_status_is_coloured_on_a_terminal_only(emu, changes):
    args = ["status", str(changes), "--endpoint-url", emu.url]
    coloured = run_on_terminal(args, drop_env=["NO_COLOR"])
    assert coloured.code == 0, coloured.terminal
    assert f"{GREEN}RUNNING" in coloured.terminal
    assert f"{YELLOW}drifted" in coloured.terminal
    assert f"{GREEN}missing" in coloured.terminal
    plain = run_on_terminal([*args, "--no-color"], drop_env=["NO_COLOR"])
    assert "drifted" in plain.terminal
    assert ESC not in plain.terminal
    piped = run_spd(args, env={"NO_COLOR": ""})
    assert "drifted" in piped.stdout
    assert ESC not in piped.stdout


def test_apply_report_is_coloured_on_a_terminal(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    run = run_on_terminal(
        ["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], drop_env=["NO_COLOR"]
    )
    assert run.code == 0, run.terminal
    assert f"{GREEN}ok{ESC}0m us-east-1/lobby" in run.terminal


# --- tags ------------------------------------------------------------------------------------------


def test_create_shows_every_tag_including_the_stack_tag(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby", tags={"team": "x"})], references=emu)
    r = _plan(spec, emu)
    assert r.returncode == 0, r.stderr
    assert '      + tags.spd:stack = "test-stack"' in r.stdout
    assert '      + tags.team = "x"' in r.stdout


def test_replace_shows_the_tags_the_new_processor_carries(emu, tmp_path):
    spec = tmp_path / "spec.yaml"
    write_spec(spec, [face("lobby", tags={"site": "hq", "team": "a"})], references=emu)
    _apply(spec, emu)
    write_spec(spec, [face("lobby", collection="guests", tags={"team": "b", "floor": "2"})], references=emu)
    r = _plan(spec, emu)
    assert "-/+ replace" in r.stdout
    assert '      ~ face_search.collection_id: "staff" -> "guests"   # forces replacement' in r.stdout
    assert '      + tags.floor = "2"' in r.stdout
    assert '      - tags.site = "hq"' in r.stdout
    assert '      ~ tags.team: "a" -> "b"' in r.stdout
    assert '        tags.spd:stack = "test-stack"' in r.stdout


def test_an_added_tag_reads_like_a_removed_one(emu, tmp_path):
    spec = tmp_path / "spec.yaml"
    write_spec(spec, [face("lobby")], references=emu)
    _apply(spec, emu)
    write_spec(spec, [face("lobby", tags={"team": "x"})], references=emu)
    added = _plan(spec, emu)
    assert "~ update   us-east-1/lobby" in added.stdout
    assert '      + tags.team = "x"' in added.stdout
    _apply(spec, emu)
    write_spec(spec, [face("lobby")], references=emu)
    removed = _plan(spec, emu)
    assert '      - tags.team = "x"' in removed.stdout


# --- --target --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_target_naming_no_processor_is_a_usage_error(emu, tmp_path, command):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby-faces"), face("porch")], references=emu)
    extra = ["--auto-approve"] if command == "apply" else []
    r = run_spd([command, str(spec), "--endpoint-url", emu.url, "--target", "lobby-face", *extra])
    assert r.returncode == 64
    assert "--target 'lobby-face': no processor of stack test-stack has this name" in r.stderr
    assert "did you mean 'lobby-faces'?" in r.stderr
    assert "Traceback" not in r.stderr
    assert emu.client().list_stream_processors()["StreamProcessors"] == []


def test_target_with_prune_may_name_a_processor_that_left_the_spec(emu, tmp_path):
    spec = tmp_path / "spec.yaml"
    write_spec(spec, [face("lobby"), face("old")], references=emu)
    _apply(spec, emu)
    write_spec(spec, [face("lobby")], references=emu)
    r = _apply(spec, emu, "--prune", "--target", "old")
    assert "- delete   us-east-1/old" in r.stdout
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--prune", "--target", "lobbi"])
    assert r.returncode == 64
    assert "did you mean 'lobby'?" in r.stderr
