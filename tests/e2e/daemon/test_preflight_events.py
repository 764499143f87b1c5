"""`spd run` runs the preflight at start-up and after each reload, as log events, and keeps reconciling
whatever it finds: a real daemon subprocess against the emulator, resources made with boto3."""

from __future__ import annotations

import signal

from references_support import REKOGNITION_TRUST, create_data_stream, create_role, point_at
from spdrun import face, write_spec


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_finding_is_logged_located_the_daemon_reconciles_and_a_reload_clears_it(emu, tmp_path, daemons):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    name = f"pfd-{tmp_path.name[-12:]}".replace("_", "-").lower()
    role_arn = create_role(emu, f"{name}-role", REKOGNITION_TRUST)
    account = role_arn.split(":")[4]
    data_arn = create_data_stream(emu, f"{name}-out")
    emu.client().create_collection(CollectionId=name)
    missing_video = f"arn:aws:kinesisvideo:us-east-1:{account}:stream/{name}/1700000000000"
    spec = write_spec(tmp_path / "spec.yaml", [face(name, collection=name)])
    point_at(spec, name, role_arn=role_arn, video_arn=missing_video, data_arn=data_arn)

    d = daemons("--endpoint-url", emu.url, "--spec", str(spec), env={"SPD_PREFLIGHT": "true"})
    _, finding = d.wait_for("preflight_finding")
    assert finding["level"] == "error"
    assert finding["severity"] == "error"
    assert finding["location"].startswith(f"{spec}:{_line_of(spec.read_text(), missing_video)}:")
    assert finding["key_path"].endswith("input.kinesis_video_stream_arn")
    assert (finding["processor"], finding["target"]) == (name, "")
    assert missing_video in finding["message"]
    assert "does not exist" in finding["message"]
    _, done = d.wait_for("preflight_done", trigger="start")
    assert (done["errors"], done["warnings"]) == (1, 0)
    assert len(d.events("preflight_finding")) == 1

    # Findings never stop the daemon: the processor is created and started all the same.
    _, passed = d.wait_for("reconcile_completed")
    assert passed["errors"] == 0
    assert emu.client().describe_stream_processor(Name=name)["Name"] == name

    kvs = emu.client(service="kinesisvideo")
    real_video = kvs.create_stream(StreamName=name)["StreamARN"]
    spec.write_text(spec.read_text().replace(missing_video, real_video))
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    i, _ = d.wait_for("config_reloaded", after=mark)
    j, done = d.wait_for("preflight_done", after=i, trigger="reload")
    assert (done["errors"], done["warnings"]) == (0, 0)
    assert not [line for line in d.lines[mark:j] if line.get("event") == "preflight_finding"]
    assert d.stop() == 0


def test_preflight_off_runs_no_look_up(emu, tmp_path, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("pfd-off")])
    d = daemons("--endpoint-url", emu.url, "--spec", str(spec), env={"SPD_PREFLIGHT": "false"})
    d.wait_for("reconcile_completed")
    assert d.stop() == 0
    assert not d.events("preflight_started")
    assert not d.events("preflight_finding")
    assert not d.events("preflight_done")
