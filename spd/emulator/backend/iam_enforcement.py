"""IAM enforcement for the emulator's Rekognition calls (`enforce_iam`): who signed, and may they?

Off by default. With `enforce_iam` on, every Rekognition request must be signed with the access key of
an IAM user of the emulator's moto IAM, and that user's policies (inline, attached, and its groups') must
allow the action on the resource, as AWS decides it: `spd.emulator.http.responses.StreamProcessorResponse`
calls `authorize` before it serves the request.

The checks are moto's own (`moto.iam.access_control.IAMRequest`: the key looked up in moto's IAM, the
SigV4 signature recomputed with its secret, the user's policies collected and evaluated). moto only runs
them when its process-wide `INITIAL_NO_AUTH_ACTION_COUNT` says so, and then for every service at once,
with `*` as the resource of almost every action; here they run for Rekognition alone (the test's own
set-up calls to IAM, Kinesis... stay unauthenticated), with what moto lacks for this service:

- the resource: the processor's ARN (`arn:<partition>:rekognition:<region>:<account>:streamprocessor/
  <name>`, from `Name` or `ResourceArn`), the collection's ARN, or `*` for the List operations;
- the condition values: `aws:ResourceTag/<key>` from the existing processor's tags and
  `aws:RequestTag/<key>` from the request's `Tags`, so a policy limited to one stack's processors
  (`spd iam-policy --for daemon`) is judged on them.

moto's evaluator then decides. Its limits carry over: of the condition operators only `StringEquals` is
evaluated (others are taken to hold), a condition key the request has no value for is taken to hold,
and an Allow statement whose condition fails counts as a deny. `iam:PassRole` (which AWS checks on
CreateStreamProcessor for the role it names) is not checked. Refusals have Rekognition's error codes:
AccessDeniedException (with AWS's "User: ... is not authorized to perform: ... on resource: ..."),
UnrecognizedClientException for an unknown key, InvalidSignatureException for a bad signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from spd.emulator.backend.errors import RekognitionError
from spd.emulator.backend.models import StreamProcessorBackend
from spd.emulator.moto_services.moto_glue import IAMPolicy, IAMRequest, PermissionResult

_BY_NAME = frozenset(
    {
        "CreateStreamProcessor",
        "DescribeStreamProcessor",
        "StartStreamProcessor",
        "StopStreamProcessor",
        "UpdateStreamProcessor",
        "DeleteStreamProcessor",
    }
)
_BY_ARN = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})
_COLLECTIONS = frozenset({"CreateCollection", "DescribeCollection", "DeleteCollection"})
_REQUEST_TAGS = frozenset({"CreateStreamProcessor", "TagResource"})


def resource_of(operation: str, body: Mapping[str, Any], *, partition: str, region: str, account: str) -> str:
    """The resource ARN IAM authorizes `operation` on (`*` for those without one)."""
    base = f"arn:{partition}:rekognition:{region}:{account}"
    if operation in _BY_NAME and isinstance(body.get("Name"), str):
        return f"{base}:streamprocessor/{body['Name']}"
    if operation in _BY_ARN and isinstance(body.get("ResourceArn"), str):
        return str(body["ResourceArn"])
    if operation in _COLLECTIONS and isinstance(body.get("CollectionId"), str):
        return f"{base}:collection/{body['CollectionId']}"
    return "*"


def condition_values(
    operation: str, body: Mapping[str, Any], resource_tags: Mapping[str, str]
) -> dict[str, str]:
    """The tag condition keys this request carries values for."""
    values = {f"aws:ResourceTag/{k}": v for k, v in resource_tags.items()}
    tags = body.get("Tags")
    if operation in _REQUEST_TAGS and isinstance(tags, dict):
        values.update({f"aws:RequestTag/{k}": str(v) for k, v in tags.items()})
    return values


def processor_tags(backend: StreamProcessorBackend, resource: str) -> dict[str, str]:
    """The tags of the processor `resource` names, if it exists (call under the emulator's lock)."""
    _, _, tail = resource.partition(":streamprocessor/")
    processor = backend.processors.get(tail) if tail else None
    return dict(processor.tags) if processor is not None else {}


class _TaggedIamRequest(IAMRequest):
    """moto's request check, with the condition values moto's server does not collect and Rekognition's
    error codes."""

    conditions: dict[str, str] = {}

    def check_action_permitted(self, resource: str) -> None:
        permitted = False
        for policy in self._access_key.collect_policies():
            result = IAMPolicy(policy).is_action_permitted(
                self._action, resource, incoming_condition_values=self.conditions
            )
            if result == PermissionResult.DENIED:
                self._deny(resource)
            permitted = permitted or result == PermissionResult.PERMITTED
        if not permitted:
            self._deny(resource)

    def _deny(self, resource: str) -> None:
        raise RekognitionError(
            "AccessDeniedException",
            f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: {resource}",
        )

    def _raise_access_denied(self) -> None:
        self._deny("*")

    def _raise_invalid_access_key(self, _: str) -> None:
        raise RekognitionError(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            status=400,
        )

    def _raise_signature_does_not_match(self) -> None:
        raise RekognitionError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
            status=400,
        )


def authorize(handler: Any, *, operation: str, resource: str, conditions: dict[str, str]) -> None:
    """Raise the Rekognition error AWS would give unless the request's signer may do this.

    `handler` is moto's response object for the request (after `setup_class`): its headers, body, path
    and account are what moto's own check reads."""
    headers = handler.headers
    if "Authorization" not in headers:
        raise RekognitionError(
            "MissingAuthenticationTokenException", "Missing Authentication Token", status=403
        )
    path = handler.raw_path
    query = urlparse(handler.uri).query
    if query:
        path += "?" + query
    request = _TaggedIamRequest(
        account_id=handler.current_account,
        method=handler.method,
        path=path,
        data=handler.data,
        body=handler.raw_body,
        headers=headers,
        action=operation,
    )
    request.conditions = conditions
    request.check_signature()
    request.check_action_permitted(resource)
