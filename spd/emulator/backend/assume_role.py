"""STS AssumeRole as AWS refuses it: a role that does not exist, or a trust policy's external id not met.

moto's STS hands out credentials for any role ARN, existing or not, and ignores the external id. spd's
targets depend on both being refused (a target whose role cannot be assumed must fail, once, and leave
the other targets alone), so the emulator checks them before moto answers: the role must exist in the
IAM of the account its ARN names (moto's IAM on the same endpoint; create it there, with the request
header `x-moto-account-id` naming the account), and when its trust policy has a `sts:ExternalId`
condition, the request's `ExternalId` must be one of its values. A refusal is STS's own 403
AccessDenied in the query protocol's XML shape. Credentials that moto grants map to the role's account
(moto's convention), so every later call signed with them lands in that account's state.

Used by `spd.emulator.http.app` for form-encoded requests (the query protocol STS speaks).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from spd.api.constraints import role_arn_account
from spd.emulator.moto_services import moto_glue

_EXTERNAL_ID_KEYS = ("sts:externalid",)


def refusal(environ: dict[str, Any], *, default_seconds: int) -> Response | None:
    """STS's AccessDenied for an AssumeRole that AWS would refuse; None for every other request.

    An AssumeRole that names no DurationSeconds is given `default_seconds` (the `assume_role_seconds`
    setting) on its way to moto."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if not str(environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
        return None
    raw = get_input_stream(environ).read()
    form = parse_qs(raw.decode("utf-8", "replace"))
    if form.get("Action") == ["AssumeRole"] and "DurationSeconds" not in form:
        raw += f"&DurationSeconds={default_seconds}".encode()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    if form.get("Action") != ["AssumeRole"]:
        return None
    role_arn = (form.get("RoleArn") or [""])[0]
    external_ids = form.get("ExternalId")
    external_id = external_ids[0] if external_ids else None
    why = _why_refused(role_arn, external_id)
    if why is None:
        return None
    return _access_denied(f"Not authorized to perform sts:AssumeRole on resource {role_arn}: {why}")


def _why_refused(role_arn: str, external_id: str | None) -> str | None:
    account = role_arn_account(role_arn)
    if account is None:
        # STS's model takes any ARN text; AWS then finds no role behind one spd's API would not accept.
        return "not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
    iam_backends = moto_glue.iam_backends()

    backend = iam_backends[account]["global"]
    role = next((r for r in backend.roles.values() if r.arn == role_arn), None)
    if role is None:
        return f"no such role in account {account}"
    wanted = _external_ids(role.assume_role_policy_document)
    if wanted and external_id not in wanted:
        return "the role's trust policy requires another external id"
    return None


def _external_ids(document: Any) -> set[str]:
    """Every value a trust policy's conditions accept for sts:ExternalId."""
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return set()
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    if isinstance(statements, dict):
        statements = [statements]
    values: set[str] = set()
    for statement in statements:
        conditions = statement.get("Condition", {}) if isinstance(statement, dict) else {}
        for operator in conditions.values() if isinstance(conditions, dict) else ():
            if not isinstance(operator, dict):
                continue
            for key, value in operator.items():
                if key.lower() in _EXTERNAL_ID_KEYS:
                    values.update(_strings(value))
    return values


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _access_denied(message: str) -> Response:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return Response(body, status=403, content_type="text/xml")
