"""The status sweep re-reads ownership before it acts: `spd run` as a real subprocess, boto3 out of band.

A List response carries no tags, so the sweep acts on what the last full pass proved ours. A processor
untagged since then must not be started or stopped by the sweep: it re-reads the tag of each processor it
is about to act on (one ListTagsForResource per action) and leaves the ones that are no longer ours.
"""

from __future__ import annotations

import pytest

from daemonproc import Daemon
from spdrun import face, wait_status, write_spec

STACK_TAG = "spd:stack"


@pytest.fixture
def daemon(emu, tmp_path):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    spec = write_spec(tmp_path / "spec.yaml", [face("kept"), face("given-away")], references=emu)
    # Full passes an hour apart: only the status sweeps run after the first pass.
    d = Daemon(["--endpoint-url", emu.url, "--spec", str(spec)], env={"SPD_INTERVAL": "3600"})
    yield d
    d.kill()


def test_sweep_does_not_restart_a_processor_untagged_after_the_full_pass(emu, daemon):
    d = daemon
    d.wait_for("reconcile_completed")
    client = emu.client()
    for name in ("kept", "given-away"):
        wait_status(client, name, {"RUNNING"})

    mark = len(d.lines)
    arn = client.describe_stream_processor(Name="given-away")["StreamProcessorArn"]
    client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])  # handed over to someone else
    client.stop_stream_processor(Name="given-away")
    client.stop_stream_processor(Name="kept")

    # The still-owned processor is restarted by a sweep (so sweeps do act on this drift) ...
    i, _ = d.wait_for("processor_started", after=mark, processor="kept")
    _, later = d.wait_for("status_sweep_completed", after=i + 1)
    d.wait_for("status_sweep_completed", after=d.lines.index(later) + 1)
    # ... while the given-away one, stopped in the same moment, stays stopped, ...
    assert wait_status(client, "given-away", {"STOPPED"}) == "STOPPED"
    since = [line for line in d.lines[mark:] if line.get("processor") == "given-away"]
    assert not [e for e in since if e["event"] == "processor_started"], d.dump()
    assert STACK_TAG not in client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert wait_status(client, "kept", {"STARTING", "RUNNING"})
    # ... with the reason logged once: later sweeps no longer count it as ours.
    lost = [e for e in since if e["event"] == "ownership_lost"]
    assert len(lost) == 1, d.dump()
    assert lost[0]["step"] == "start"
    assert lost[0]["owner"] is None
    assert lost[0]["level"] == "warning"
    swept = [e for e in d.lines[mark:] if e.get("event") == "status_sweep_completed" and e["disowned"]]
    assert len(swept) == 1
    assert swept[0]["errors"] == 0
    assert d.stop() == 0
