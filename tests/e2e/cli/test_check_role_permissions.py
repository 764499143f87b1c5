"""`spd check` simulates what each role may do (`iam:SimulatePrincipalPolicy`, served by the emulator on
moto's IAM) against what `spd iam-policy --for service-role` says it needs: a role lacking one permission
gets one located error at its processor's `role_arn`."""

from __future__ import annotations

import json
from pathlib import Path

from references_support import REKOGNITION_TRUST, create_data_stream, create_role
from spdrun import face, run_spd, write_spec


def _line_of(spec: Path, text: str) -> int:
    return next(i for i, line in enumerate(spec.read_text().splitlines(), 1) if line.endswith(text))


def test_role_missing_a_permission_is_a_located_error(emu, tmp_path):
    name = f"perm-{tmp_path.name[-10:]}".replace("_", "-").lower()
    iam = emu.client(service="iam")
    kvs = emu.client(service="kinesisvideo")
    allowed = create_role(emu, f"{name}-allowed", REKOGNITION_TRUST, permissions=None)
    short = create_role(emu, f"{name}-short", REKOGNITION_TRUST, permissions=None)
    processors = []
    for suffix, role in (("a", allowed), ("b", short)):
        proc = face(f"{name}-{suffix}", collection=name, role_arn=role)
        proc["input"]["kinesis_video_stream_arn"] = kvs.create_stream(StreamName=f"{name}-{suffix}")[
            "StreamARN"
        ]
        proc["output"]["kinesis_data_stream_arn"] = create_data_stream(emu, f"{name}-{suffix}-out")
        processors.append(proc)
    emu.client().create_collection(CollectionId=name)
    spec = write_spec(tmp_path / "spec.yaml", processors)

    r = run_spd(["iam-policy", str(spec), "--for", "service-role"])
    assert r.returncode == 0, r.stderr
    policy = r.stdout
    lacking = json.loads(policy)
    for statement in lacking["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != "kinesis:PutRecords"]
    iam.put_role_policy(RoleName=f"{name}-allowed", PolicyName="service", PolicyDocument=policy)
    iam.put_role_policy(RoleName=f"{name}-short", PolicyName="service", PolicyDocument=json.dumps(lacking))

    r = run_spd(["check", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    findings = [line for line in r.stderr.splitlines() if line.strip()]
    data_b = processors[1]["output"]["kinesis_data_stream_arn"]
    assert findings == [
        f"{spec}:{_line_of(spec, short)}:{findings[0].split(':')[2]}: processors[1].role_arn: "
        f"role {short} may not kinesis:PutRecords on {data_b}"
    ], r.stderr
    assert "1 error, 0 warnings" in r.stdout

    iam.put_role_policy(RoleName=f"{name}-short", PolicyName="service", PolicyDocument=policy)
    r = run_spd(["check", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == ""
