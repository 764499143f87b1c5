"""`spd run --local SPEC`: the daemon keeps the fleet of the embedded emulator's sandbox, as `spd apply
--local` does, in the state file `--local-state` names; SPEC is an argument, as for every command."""

from __future__ import annotations

from pathlib import Path

import boto3

from spd.emulator.embedded import embedded_emulator
from spdrun import face, home, run_spd, write_spec


def _names_in(state: Path) -> set[str]:
    """The processors the sandbox of `state` holds, read after the daemon stopped."""
    with embedded_emulator(state) as url:
        client = boto3.client(
            "rekognition",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="spd-local",
            aws_secret_access_key="spd-local",
        )
        return {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]}


def test_run_local_keeps_the_sandbox_fleet(tmp_path, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), home("porch")])
    state = tmp_path / "local.db"
    d = daemons(str(spec), "--local", "--local-state", str(state), env={"SPD_STATE_DIR": str(tmp_path)})
    _, started = d.wait_for("daemon_started", timeout=60)
    assert (started["endpoint"], started["spec"]) == ("local", str(spec))
    _, done = d.wait_for("reconcile_completed", timeout=60)
    assert done["errors"] == 0, d.dump()
    assert d.stop() == 0, d.dump()

    assert _names_in(state) == {"lobby", "porch"}
    # The sandbox is the one `--local` commands see: nothing left to do.
    planned = run_spd(["plan", str(spec), "--local", "--local-state", str(state), "--detailed-exitcode"])
    assert planned.returncode == 0, planned.stdout + planned.stderr
