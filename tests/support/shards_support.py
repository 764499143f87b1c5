"""A fleet of targets for `ha.mode: shards` tests and the shards benchmark: one account per target
(roles made in moto's IAM, as `targets_support` does), the emulator's own CloudTrail events of each
account caught in a queue (the call log: every mutating call with its User-Agent), and `spd run`
processes told apart by `AWS_SDK_UA_APP_ID`, which botocore appends to the User-Agent as `app/<id>`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudtrail import RULE_PATTERN
from daemonproc import Daemon
from spdrun import target_face, write_targets_spec
from targets_support import assumed, make_role

APP = re.compile(r"\bapp/([A-Za-z0-9_.-]+)")


def account(i: int) -> str:
    return f"{200000000000 + i:012d}"


@dataclass
class Call:
    """One mutating call, as CloudTrail recorded it."""

    target: str
    operation: str
    processor: str
    daemon: str | None


@dataclass
class Fleet:
    """Targets t00..tNN, each its own account with `per_target` stopped processors in us-east-1."""

    emu: Any
    spec: Path
    roles: dict[str, str]
    queues: dict[str, str] = field(default_factory=dict)
    table: str = field(default_factory=lambda: f"spd-shards-{uuid.uuid4().hex[:8]}")

    def client(self, target: str, service: str = "rekognition") -> Any:
        return assumed(self.emu.url, self.roles[target], service)

    def start(self, name: str, lease: str = "3", **env: str) -> Daemon:
        """`spd run` under `ha.mode: shards`, holder and User-Agent app id `name`."""
        return Daemon(
            ["--endpoint-url", self.emu.url, "--spec", str(self.spec)],
            env={
                "SPD_HA_TABLE": self.table,
                "SPD_HA_MODE": "shards",
                "SPD_HA_LEASE_SECONDS": lease,
                "SPD_HA_HOLDER": name,
                "SPD_STORE_TABLE": self.table + "-store",
                "AWS_SDK_UA_APP_ID": name,
                **env,
            },
        )

    def wait_converged(self, per_target: int, timeout: float = 60) -> None:
        """Until every target has its `per_target` processors, all STOPPED (as the spec wants)."""
        deadline = time.monotonic() + timeout
        for target in self.roles:
            client = self.client(target)
            while True:
                listed = client.list_stream_processors(MaxResults=100)["StreamProcessors"]
                if len(listed) == per_target and all(p["Status"] == "STOPPED" for p in listed):
                    break
                assert time.monotonic() < deadline, (target, listed)
                time.sleep(0.2)

    def holders(self) -> dict[str, str]:
        """The lease table's shard records: shard -> holder."""
        table = self.emu.client("us-east-1", "dynamodb")
        try:
            items = table.scan(TableName=self.table, ConsistentRead=True)["Items"]
        except table.exceptions.ResourceNotFoundException:
            return {}
        out = {}
        for item in items:
            key = item["lease"]["S"]
            if "/shard/" in key:
                out[key.split("/shard/", 1)[1]] = item["holder"]["S"]
        return out

    def members(self) -> set[str]:
        table = self.emu.client("us-east-1", "dynamodb")
        items = table.scan(TableName=self.table, ConsistentRead=True)["Items"]
        return {i["lease"]["S"].split("/member/", 1)[1] for i in items if "/member/" in i["lease"]["S"]}

    def record_calls(self) -> None:
        """An EventBridge rule in each target's account sending its CloudTrail events to a queue."""
        for target in self.roles:
            sqs, events = self.client(target, "sqs"), self.client(target, "events")
            url = sqs.create_queue(QueueName="spd-call-log")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name="spd-call-log", EventPattern=json.dumps(RULE_PATTERN))
            events.put_targets(Rule="spd-call-log", Targets=[{"Id": "log", "Arn": arn}])
            self.queues[target] = url

    def calls(self) -> list[Call]:
        """Every mutating call recorded since the last `calls()` (drained from the queues)."""
        out: list[Call] = []
        for target, url in self.queues.items():
            sqs = self.client(target, "sqs")
            while True:
                got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
                messages = got.get("Messages", [])
                if not messages:
                    break
                for m in messages:
                    detail = json.loads(m["Body"])["detail"]
                    found = APP.search(detail.get("userAgent", ""))
                    params = detail.get("requestParameters") or {}
                    name = params.get("name") or str(params.get("resourceArn", "")).rpartition("/")[2]
                    out.append(Call(target, detail["eventName"], name, found.group(1) if found else None))
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
        return out


def build_fleet(emu: Any, path: Path, targets: int, per_target: int, *, references: bool = True) -> Fleet:
    """Roles, the spec and (with `references`) what its processors reference, so that they can run;
    the processors themselves are spd's to create."""
    yaml_targets: dict[str, Any] = {}
    roles: dict[str, str] = {}
    processors: list[dict[str, Any]] = []
    for t in range(targets):
        name, acct = f"t{t:02d}", account(t)
        roles[name] = make_role(emu.url, acct, name="spd-manager")
        yaml_targets[name] = {"account_id": acct, "role_arn": roles[name], "regions": ["us-east-1"]}
        processors.extend(target_face(f"{name}-cam{i:03d}", acct, name) for i in range(per_target))
    spec = write_targets_spec(path, yaml_targets, processors, references=emu if references else None)
    return Fleet(emu, spec, roles)
