"""Taking over processors that exist without spd's tag (`--adopt`), through the real `spd` command."""

from __future__ import annotations

import json

from spdrun import face, home, run_spd, wait_status, write_spec

STACK_TAG = "spd:stack"
MUTATING = (
    "CreateStreamProcessor",
    "DeleteStreamProcessor",
    "StartStreamProcessor",
    "StopStreamProcessor",
    "UpdateStreamProcessor",
    "TagResource",
    "UntagResource",
)


def _spd(cmd, spec, emu, *extra):
    r = run_spd([cmd, str(spec), "--endpoint-url", emu.url, *extra])
    assert "Traceback" not in r.stderr
    return r


def _tags(client, name):
    arn = client.describe_stream_processor(Name=name)["StreamProcessorArn"]
    return client.list_tags_for_resource(ResourceArn=arn)["Tags"]


def _existing(emu, tmp_path, processors, *, stack):
    """Processors made by someone else: applied under `stack`, then (stack None) stripped of the tag."""
    spec = write_spec(tmp_path / "theirs.yaml", processors, stack=stack or "made-by-hand", references=emu)
    r = _spd("apply", spec, emu, "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    client = emu.client()
    if stack is None:
        for p in processors:
            arn = client.describe_stream_processor(Name=p["name"])["StreamProcessorArn"]
            client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])
    return dict(emu.stats()["calls"])


def _since(emu, before, op):
    return emu.stats()["calls"].get(op, 0) - before.get(op, 0)


def test_untagged_processors_are_conflicts_until_adopted_then_managed(emu, tmp_path):
    before = _existing(
        emu,
        tmp_path,
        [home("porch", labels=["PET"]), face("lobby", desired_state="stopped")],
        stack=None,
    )
    client = emu.client()
    created = client.describe_stream_processor(Name="porch")["CreationTimestamp"]
    spec = write_spec(tmp_path / "spec.yaml", [home("porch"), face("lobby")], references=emu)

    r = _spd("plan", spec, emu)
    assert r.returncode == 0, r.stderr
    assert "conflict: name taken by a processor without the spd:stack tag" in r.stdout
    assert "re-run with --adopt" in r.stdout

    r = _spd("plan", spec, emu, "--adopt", "--detailed-exitcode")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "    & adopt    us-east-1/porch (then update)" in r.stdout
    assert "    & adopt    us-east-1/lobby (then start)" in r.stdout
    assert '+ tags.spd:stack = "test-stack"' in r.stdout
    assert 'connected_home.labels: ["PET"] -> ["PERSON"]' in r.stdout
    assert "Plan: 2 to adopt, 0 to create, 1 to update, 0 to replace, 1 to start," in r.stdout
    doc = json.loads(_spd("plan", spec, emu, "--adopt", "--output", "json").stdout)
    actions = {p["name"]: p["actions"] for p in doc["processors"]}
    assert actions == {"porch": ["adopt", "update"], "lobby": ["adopt", "start"]}
    assert doc["summary"]["adopt"] == 2
    assert _since(emu, before, "TagResource") == 0  # planning changes nothing

    r = _spd("apply", spec, emu, "--adopt", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "us-east-1/porch: adopt, tag, update" not in r.stdout  # the stack tag is the adopt step's
    assert "us-east-1/porch: adopt, update" in r.stdout
    assert "us-east-1/lobby: adopt, start" in r.stdout
    for name in ("porch", "lobby"):
        assert _tags(client, name)[STACK_TAG] == "test-stack"
    porch = client.describe_stream_processor(Name="porch")
    assert porch["Settings"]["ConnectedHome"]["Labels"] == ["PERSON"]
    assert porch["CreationTimestamp"] == created  # adopted and updated, not replaced
    wait_status(client, "lobby", {"RUNNING"})

    r = _spd("plan", spec, emu, "--detailed-exitcode")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout


def test_a_processor_of_another_stack_is_never_adopted(emu, tmp_path):
    calls = _existing(emu, tmp_path, [home("porch", labels=["PET"])], stack="theirs")
    client = emu.client()
    before = client.describe_stream_processor(Name="porch")
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)

    doc = json.loads(_spd("plan", spec, emu, "--adopt", "--output", "json").stdout)
    (porch,) = doc["processors"]
    assert porch["actions"] == ["create"]
    assert porch["blocked"] == "conflict: name taken by a processor of stack 'theirs'; spd never changes it"
    assert doc["summary"]["adopt"] == 0

    r = _spd("apply", spec, emu, "--adopt", "--auto-approve")
    assert "conflict" in r.stdout
    assert "adopt" not in r.stdout.replace("--adopt", "")
    for op in MUTATING:
        assert _since(emu, calls, op) == 0, op
    assert _tags(client, "porch") == {STACK_TAG: "theirs"}
    assert client.describe_stream_processor(Name="porch")["Settings"] == before["Settings"]
