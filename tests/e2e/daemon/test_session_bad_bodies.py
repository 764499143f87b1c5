"""Bad trigger bodies through a real `spd run` against `spd emulator`: JSON nested too deeply (under the
64 KiB body limit) and a producer timestamp beyond the API's range are 400 refusals on HTTP and deleted
refusals on SQS, before any call to the service."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

from test_session_ledger_intent import SLOW, post

from spd.api.constraints import shape_of, value_range
from spdrun import home, write_spec

DEEP = "[" * 30_000 + "]" * 30_000
TOO_LATE = (
    int(
        value_range(
            shape_of(
                "StartStreamProcessorRequest", "StartSelector", "KVSStreamStartSelector", "ProducerTimestamp"
            )
        )[1]
        or 0
    )
    + 1
)
BAD = (
    (DEEP, "malformed"),
    ('{"processor": "porch", "region": ' + DEEP + "}", "malformed"),
    (json.dumps({"processor": "porch", "producer_timestamp_ms": TOO_LATE}), "bad_timestamp"),
)
READS_AND_WRITES = ("DescribeStreamProcessor", "ListTagsForResource", "StartStreamProcessor")


def _calls(emu: Any) -> int:
    calls = emu.stats()["calls"]
    return sum(int(calls.get(op, 0)) for op in READS_AND_WRITES)


def _daemon(daemons: Any, emu: Any, tmp_path: Path, **env: str) -> Any:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    d = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec),
        env={"SPD_INTERVAL": "600", "SPD_STATUS_INTERVAL": "600", "SPD_STATE_DIR": str(tmp_path / "state"),
             **env},
    )  # fmt: skip
    d.wait_for("reconcile_completed", timeout=SLOW)
    return d


def test_bad_bodies_over_http_are_400_before_any_call(emu: Any, tmp_path: Path, daemons: Any) -> None:
    d = _daemon(daemons, emu, tmp_path)
    before = _calls(emu)
    for body, refusal in BAD:
        assert len(body) < 64 * 1024
        code, answer = post(d, body.encode())
        assert code == 400, (answer, refusal)
        assert answer["refusal"] == refusal, answer
    assert _calls(emu) == before, emu.stats()["calls"]
    code, answer = post(d, {"processor": "porch"})
    assert code == 201, answer  # the daemon is unharmed


def test_bad_bodies_on_the_queue_are_refused_and_deleted_before_any_call(
    emu: Any, tmp_path: Path, daemons: Any
) -> None:
    sqs = emu.client("us-east-1", "sqs")
    url = sqs.create_queue(QueueName=f"spd-sessions-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    d = _daemon(daemons, emu, tmp_path, SPD_SESSION_QUEUE_URL=url)
    d.wait_for("session_queue_started", timeout=SLOW)
    before = _calls(emu)
    ids = {sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]: refusal for body, refusal in BAD}
    for message_id, refusal in ids.items():
        d.wait_for("session_refused", message_id=message_id, refusal=refusal, timeout=SLOW)
    deadline = time.monotonic() + SLOW
    while True:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if (
            int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            == 0
        ):
            break
        assert time.monotonic() < deadline, f"messages left on the queue: {attrs}"
        time.sleep(0.1)
    assert _calls(emu) == before, emu.stats()["calls"]
