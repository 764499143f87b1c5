"""Hostile input: malformed bodies, unknown targets, out-of-range numbers, forged page tokens, wild
settings. Every answer is a 4xx in the protocol's own error shape, never a 500, never a traceback."""

from __future__ import annotations

import base64
import json
import math
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spd.emulator.backend.config import BOUNDS
from spd.emulator.backend.faults import FAULT_BOUNDS
from spd.emulator.testing import EmulatorControlError, EmulatorProcess
from spdrun import emulator_command

ACCOUNT = "123456789012"
DEEP = 100_000


@pytest.fixture
def emu_only(target: Any) -> EmulatorProcess:
    """These tests speak raw HTTP or the control API, so they only make sense against the emulator."""
    if target.emu is None:
        pytest.skip("talks raw HTTP to the emulator")
    return target.emu


def _post(
    url: str,
    target: str,
    body: bytes,
    *,
    scope: str | None = "rekognition",
    region: str = "us-east-1",
    headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    sent = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **(headers or {})}
    if scope is not None:
        sent["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/{scope}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        )
    request = urllib.request.Request(url + "/", data=body, method="POST", headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def _aws_error(answer: tuple[int, str, bytes]) -> tuple[int, str]:
    """(status, __type) of an AWS JSON error answer; fails if it is not that shape."""
    status, content_type, body = answer
    assert content_type.startswith("application/x-amz-json-"), (status, content_type, body[:200])
    data = json.loads(body)
    assert isinstance(data["__type"], str), data
    assert isinstance(data["Message"], str), data
    return status, data["__type"]


class _NoTraceback:
    """Asserts that the emulator logs no traceback while the block runs (the log is shared by tests)."""

    def __init__(self, emu: EmulatorProcess) -> None:
        self.emu = emu
        self.start = 0

    def __enter__(self) -> None:
        self.start = len(self.emu.log_text())

    def __exit__(self, *exc: object) -> None:
        logged = self.emu.log_text()[self.start :]
        assert "Traceback" not in logged, logged[-2000:]
        assert "RecursionError" not in logged


def _control(url: str, method: str, path: str, body: bytes) -> tuple[int, Any]:
    request = urllib.request.Request(f"{url}/_emulator/{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


MALFORMED = {
    "invalid utf-8": b'{"Name": "\xff\xfe"}',
    "deep arrays": b"[" * DEEP + b"]" * DEEP,
    "deep objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "deep inside a member": b'{"Name": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "unterminated string of escaped quotes": b'{"Name": "' + b'\\"' * 50_000,
    "NaN": b'{"Name": "cam", "MaxResults": NaN}',
    "Infinity": b'{"MaxResults": Infinity}',
    "-Infinity": b'{"MaxResults": -Infinity}',
    "integer of 5000 digits": b'{"MaxResults": ' + b"9" * 5000 + b"}",
    "not an object": b"[1, 2]",
}


# -- bodies -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_rekognition_bodies_are_serialization_errors(
    emu_only: EmulatorProcess, body: bytes
) -> None:
    with _NoTraceback(emu_only):
        for operation in ("ListStreamProcessors", "CreateStreamProcessor"):
            answer = _post(emu_only.url, f"RekognitionService.{operation}", body)
            assert _aws_error(answer) == (400, "SerializationException")


def test_nan_in_a_member_creates_nothing(emu_only: EmulatorProcess, target: Any) -> None:
    request = json.dumps(target.face_search_request("nan")).replace(
        '"staff"}', '"staff", "FaceMatchThreshold": NaN}'
    )
    assert "NaN" in request
    answer = _post(emu_only.url, "RekognitionService.CreateStreamProcessor", request.encode())
    assert _aws_error(answer) == (400, "SerializationException")
    assert target.client.list_stream_processors()["StreamProcessors"] == []


@pytest.mark.parametrize(
    ("target_name", "scope"),
    [("DynamoDB_20120810.ListTables", "dynamodb"), ("Kinesis_20131202.ListStreams", "kinesis")],
)
@pytest.mark.parametrize("body", [MALFORMED["invalid utf-8"], MALFORMED["deep arrays"]], ids=["utf8", "deep"])
def test_malformed_bodies_for_moto_services(
    emu_only: EmulatorProcess, target_name: str, scope: str, body: bytes
) -> None:
    with _NoTraceback(emu_only):
        answer = _post(emu_only.url, target_name, body, scope=scope)
    assert _aws_error(answer) == (400, "SerializationException")


@pytest.mark.parametrize("body", MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_control_bodies_are_400(emu_only: EmulatorProcess, body: bytes) -> None:
    before = emu_only.config()
    with _NoTraceback(emu_only):
        for method, path in (("PUT", "config"), ("POST", "faults"), ("POST", "processors/cam/fail")):
            status, answer = _control(emu_only.url, method, path, body)
            assert status == 400, answer
            assert isinstance(answer["error"], str)
    assert emu_only.config() == before


# -- targets ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target_name", "scope"),
    [
        ("RekognitionService.Bogus", "rekognition"),
        ("Nonsense.Op", "rekognition"),
        ("Nonsense.Op", None),
        ("Nonsense.Op", "nonsense"),
        ("Nonsense.Op", "dynamodb"),
        ("DynamoDB_20120810.Bogus", "dynamodb"),
        ("Kinesis_20131202.Bogus", "kinesis"),
        ("AmazonSQS.Bogus", "sqs"),
        ("AWSEvents.Bogus", "events"),
        # moto calls the method an operation name maps to: its own machinery must not be reachable
        ("RekognitionService.CallAction", "rekognition"),
        ("RekognitionService.SetupClass", "rekognition"),
        ("RekognitionService.__init__", "rekognition"),
        ("RekognitionService._run", "rekognition"),
        ("RekognitionService.describe_stream_processor", "rekognition"),
        ("RekognitionService.", "rekognition"),
        ("RekognitionService", "rekognition"),
        ("Kinesis_20131202.CallAction", "kinesis"),
        ("DynamoDB_20120810.CallAction", "dynamodb"),
        ("Nonsense.CallAction", "kinesis"),
        ("Nonsense.DetectLabels", "rekognition"),
        ("DynamoDB_20111205.CallAction", "dynamodb"),
    ],
)
def test_unknown_targets(emu_only: EmulatorProcess, target_name: str, scope: str | None) -> None:
    with _NoTraceback(emu_only):
        answer = _post(emu_only.url, target_name, b"{}", scope=scope)
    assert _aws_error(answer) == (400, "UnknownOperationException")


@pytest.mark.parametrize(
    ("service", "call"),
    [
        ("dynamodb", lambda c: c.list_tables()["TableNames"]),
        ("kinesis", lambda c: c.list_streams()["StreamNames"]),
        ("sqs", lambda c: c.list_queues().get("QueueUrls", [])),
        ("events", lambda c: c.list_rules()["Rules"]),
        ("rekognition", lambda c: c.detect_labels(Image={"Bytes": b"x"})["Labels"]),
        (
            "rekognition",
            lambda c: c.start_face_search(
                Video={"S3Object": {"Bucket": "bucket", "Name": "v"}}, CollectionId="c"
            )["JobId"],
        ),
    ],
)
def test_json_services_moto_serves_keep_working(emu_only: EmulatorProcess, service: str, call: Any) -> None:
    assert isinstance(call(emu_only.client(service=service)), list | str)


def test_targets_moto_serves_beyond_the_botocore_default_keep_working(emu_only: EmulatorProcess) -> None:
    for target_name in ("DynamoDBStreams_20120810.ListStreams", "DynamoDB_20111205.ListTables"):
        status, _, body = _post(emu_only.url, target_name, b"{}", scope="dynamodb")
        assert status == 200, body
        assert isinstance(json.loads(body), dict)


def test_unsigned_target_moto_routes_keeps_working(emu_only: EmulatorProcess) -> None:
    answer = _post(
        emu_only.url, "AWSCognitoIdentityProviderService.ListUserPools", b'{"MaxResults": 5}', scope=None
    )
    assert answer[0] == 200
    assert json.loads(answer[2]) == {"UserPools": []}


# -- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_results", [2**31, 2**63, 2**64])
def test_max_results_must_fit_an_integer(target: Any, emu_only: EmulatorProcess, max_results: int) -> None:
    with target.error("ValidationException", 400, "MaxResults") as info:
        target.client.list_stream_processors(MaxResults=max_results)
    assert "integer" in info.value.response["Error"]["Message"]


def test_largest_integer_max_results_is_accepted(target: Any, emu_only: EmulatorProcess) -> None:
    assert target.client.list_stream_processors(MaxResults=2**31 - 1)["StreamProcessors"] == []


@pytest.mark.parametrize(("timestamp", "ok"), [(2**63 - 1, True), (2**63, False), (2**64, False)])
def test_producer_timestamp_must_fit_a_long(
    target: Any, emu_only: EmulatorProcess, timestamp: int, ok: bool
) -> None:
    name = target.create_connected_home("porch")
    call = {
        "Name": name,
        "StartSelector": {"KVSStreamStartSelector": {"ProducerTimestamp": timestamp}},
        "StopSelector": {"MaxDurationInSeconds": 1},
    }
    if ok:
        assert target.client.start_stream_processor(**call)["SessionId"]
        return
    with target.error("ValidationException", 400, "ProducerTimestamp"):
        target.client.start_stream_processor(**call)
    assert target.status(name) == "STOPPED"


def test_float_beyond_single_precision_is_refused(target: Any, emu_only: EmulatorProcess) -> None:
    emu_only.configure(coordinate_checks=False)
    box = {"Width": 1e39, "Height": 0.5, "Left": 0.0, "Top": 0.0}
    request = target.face_search_request("huge", RegionsOfInterest=[{"BoundingBox": box}])
    with target.error("ValidationException", 400, "RegionsOfInterest.1.BoundingBox.Width"):
        target.client.create_stream_processor(**request)
    assert target.client.list_stream_processors()["StreamProcessors"] == []


# -- page tokens ------------------------------------------------------------------------------------


@pytest.fixture
def three(target: Any, emu_only: EmulatorProcess) -> str:
    """Three processors in us-east-1; the token after the first one (MaxResults 1)."""
    for base in ("a", "b", "c"):
        target.create_face_search(base)
    page = target.client.list_stream_processors(MaxResults=1)
    assert [p["Name"] for p in page["StreamProcessors"]] == ["a"]
    token: str = page["NextToken"]
    assert len(token) <= 255
    return token


def _list(url: str, body: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
    return _aws_error(
        _post(url, "RekognitionService.ListStreamProcessors", json.dumps(body).encode(), **kwargs)
    )


def test_page_token_continues_its_own_listing(target: Any, three: str) -> None:
    page = target.client.list_stream_processors(MaxResults=1, NextToken=three)
    assert [p["Name"] for p in page["StreamProcessors"]] == ["b"]
    names = [
        p["Name"]
        for page in target.client.get_paginator("list_stream_processors").paginate(
            PaginationConfig={"PageSize": 1}
        )
        for p in page["StreamProcessors"]
    ]
    assert names == ["a", "b", "c"]


def test_page_token_from_another_region(target: Any, three: str) -> None:
    target.emu.client("us-west-2").create_stream_processor(**target.face_search_request("z"))
    with pytest.raises(ClientError) as info:
        target.emu.client("us-west-2").list_stream_processors(MaxResults=1, NextToken=three)
    assert info.value.response["Error"]["Code"] == "InvalidPaginationTokenException"


def test_page_token_from_another_account(target: Any, three: str) -> None:
    other = {"x-moto-account-id": "210987654321"}
    assert _list(target.emu.url, {"MaxResults": 1, "NextToken": three}, headers=other) == (
        400,
        "InvalidPaginationTokenException",
    )


@pytest.mark.parametrize("max_results", [2, None])
def test_page_token_for_another_page_size(target: Any, three: str, max_results: int | None) -> None:
    body: dict[str, Any] = {"NextToken": three}
    if max_results is not None:
        body["MaxResults"] = max_results
    assert _list(target.emu.url, body) == (400, "InvalidPaginationTokenException")


def _flip(token: str, index: int) -> str:
    # "A" and "w" differ in the high bits, which even the last character of unpadded base64 carries.
    replacement = "w" if token[index] == "A" else "A"
    return token[:index] + replacement + token[index + 1 :]


def test_tampered_and_forged_page_tokens(target: Any, three: str) -> None:
    forged = [
        _flip(three, 0),
        _flip(three, len(three) - 1),
        three.rpartition(".")[0],
        base64.urlsafe_b64encode(b"spd1:a").decode(),
        base64.urlsafe_b64encode(b"spd1:a").decode() + ".AAAAAAAAAAAAAAAAAAAAAA",
        "\u00e9t\u00e9",
        ".",
    ]
    for token in forged:
        with target.error("InvalidPaginationTokenException", 400):
            target.client.list_stream_processors(MaxResults=1, NextToken=token)


def test_page_tokens_do_not_survive_a_restart(tmp_path: Any, target: Any) -> None:
    if target.emu is None:
        pytest.skip("restarts the emulator")
    state = tmp_path / "emulator.db"
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as first:
        client = first.client()
        for base in ("a", "b"):
            client.create_stream_processor(**target.face_search_request(base))
        token = client.list_stream_processors(MaxResults=1)["NextToken"]
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as second:
        client = second.client()
        assert len(client.list_stream_processors()["StreamProcessors"]) == 2
        with pytest.raises(ClientError) as info:
            client.list_stream_processors(MaxResults=1, NextToken=token)
        assert info.value.response["Error"]["Code"] == "InvalidPaginationTokenException"


# -- settings ---------------------------------------------------------------------------------------


def _refused(emu: EmulatorProcess, **settings: Any) -> str:
    before = emu.config()
    with pytest.raises(EmulatorControlError) as info:
        emu.configure(**settings)
    assert info.value.status == 400
    assert emu.config() == before
    message: str = info.value.body["error"]
    return message


def test_huge_latency_is_refused_and_service_keeps_working(emu_only: EmulatorProcess, target: Any) -> None:
    assert "60000" in _refused(emu_only, latency_ms=1e308)
    assert "60000" in _refused(emu_only, latency_ms={"*": 1e308})
    assert "60000" in _refused(emu_only, latency_ms=10**400)
    assert target.client.list_stream_processors()["StreamProcessors"] == []


def _bound_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


@pytest.mark.parametrize("name", sorted(BOUNDS))
def test_every_numeric_setting_is_bounded(emu_only: EmulatorProcess, name: str) -> None:
    bound = BOUNDS[name]
    high = bound.high
    too_high = high + 1 if bound.integer else high * 2
    too_low = bound.low if bound.low_exclusive else bound.low - 1
    wrap = (lambda v: {"*": v}) if name == "tps" else (lambda v: v)
    for bad in (too_high, too_low, "1", [1], True):
        message = _refused(emu_only, **{name: wrap(bad)})
        assert name in message
        assert _bound_text(high) in message, message
    if bound.integer:
        assert name in _refused(emu_only, **{name: wrap(float(bound.low) + 0.5)})
    if name == "polygon_min_points":
        emu_only.configure(polygon_max_points=int(high))
    config = emu_only.configure(**{name: wrap(int(high) if bound.integer else high)})
    shown = config[name]["*"] if name == "tps" else config[name]
    assert shown == high


@pytest.mark.parametrize(
    ("spec", "mentions"),
    [
        ({"count": 10**30}, str(int(FAULT_BOUNDS["count"].high))),
        ({"count": 2.5}, "count"),
        ({"rate": "0.5"}, "rate"),
        ({"rate": 1.0000001}, "rate"),
        ({"count": 1, "status": 600}, "599"),
        ({"count": 1, "status": 10**30}, "599"),
        ({"count": 1, "error": ["ThrottlingException"]}, "error"),
        ({"count": 1, "operation": {"a": 1}}, "operation"),
        ({"count": 1, "message": "x" * 5000}, "2048"),
    ],
)
def test_fault_specs_are_bounded(emu_only: EmulatorProcess, spec: dict[str, Any], mentions: str) -> None:
    body = {"operation": "ListStreamProcessors", "error": "ThrottlingException", **spec}
    with pytest.raises(EmulatorControlError) as info:
        emu_only.control("POST", "faults", body)
    assert info.value.status == 400
    assert mentions in info.value.body["error"], info.value.body
    assert emu_only.control("GET", "faults") == {"faults": []}


def test_non_finite_settings_are_refused(emu_only: EmulatorProcess) -> None:
    for raw in (b'{"latency_ms": NaN}', b'{"transition_seconds": Infinity}', b'{"tps": {"*": -Infinity}}'):
        status, answer = _control(emu_only.url, "PUT", "config", raw)
        assert status == 400
        assert "not a valid JSON value" in answer["error"]
    assert not math.isnan(emu_only.config()["transition_seconds"])
