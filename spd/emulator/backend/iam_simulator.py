"""IAM's policy simulator for roles (`iam:SimulatePrincipalPolicy`), which moto's IAM does not serve.

spd's preflight asks the simulator whether each role may do what Rekognition does through it; moto
(5.x) has no such operation and answers with an HTML 500. `spd.emulator.http.app` hands the IAM requests
whose `Action` is `SimulatePrincipalPolicy` to `SimulatingIamResponse`, a subclass of moto's own IAM
response class, so the request is parsed and the answer serialized from botocore's model as for every
other IAM call, against the same moto IAM backend. Every other IAM request still goes to moto untouched.

The decision is moto's own policy evaluation (`moto.iam.access_control.IAMPolicy`, what moto uses when
it enforces IAM), over the role's inline and attached policies: any matching Deny is `explicitDeny`,
else any matching Allow is `allowed`, else `implicitDeny`. It inherits moto's limits: of the condition
operators only `StringEquals` is evaluated (others are taken to hold) with the request's `ContextEntries`
as values, and moto reports an Allow statement whose condition fails as a deny. Permissions boundaries,
resource policies and SCPs are not part of it. Only roles are simulated; another principal is
`InvalidInput`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from spd.arn import parse_arn
from spd.emulator.moto_services.moto_glue import (
    ActionResult,
    IAMPolicy,
    IamResponse,
    InvalidInput,
    PermissionResult,
)

SIMULATE_ACTION = "SimulatePrincipalPolicy"


def is_simulate_request(environ: dict[str, Any], body: bytes) -> bool:
    """Whether this query-protocol request (GET query string or POST form) is SimulatePrincipalPolicy."""
    for text in (str(environ.get("QUERY_STRING") or ""), body.decode("utf-8", "replace")):
        if parse_qs(text).get("Action") == [SIMULATE_ACTION]:
            return True
    return False


class SimulatingIamResponse(IamResponse):
    """moto's IAM responses, plus SimulatePrincipalPolicy for roles."""

    def simulate_principal_policy(self) -> ActionResult:
        source = str(self._get_param("PolicySourceArn") or "")
        actions = [str(a) for a in self._get_param("ActionNames", []) or []]
        resources = [str(r) for r in self._get_param("ResourceArns", []) or []] or ["*"]
        context = {
            str(entry.get("ContextKeyName")): str((entry.get("ContextKeyValues") or [""])[0])
            for entry in self._get_param("ContextEntries", []) or []
        }
        policies = self._role_policies(source)
        results = [
            {
                "EvalActionName": action,
                "EvalResourceName": resource,
                "EvalDecision": _decision(policies, action, resource, context),
                "MatchedStatements": [],
                "MissingContextValues": [],
            }
            for action in actions
            for resource in resources
        ]
        return ActionResult({"EvaluationResults": results, "IsTruncated": False})

    def _role_policies(self, arn: str) -> list[Any]:
        parts = parse_arn(arn)
        if parts is None or parts.service != "iam" or not parts.resource.startswith("role/"):
            raise InvalidInput(f"The emulator simulates roles only, not {arn!r}.")
        role = self.backend.get_role_by_arn(arn)  # NoSuchEntity when missing, as IAM says
        policies: list[Any] = [
            self.backend.get_role_policy(role.name, name)[1]
            for name in self.backend.list_role_policies(role.name)
        ]
        attached, _ = self.backend.list_attached_role_policies(role.name)
        policies.extend(attached)
        return policies


def _decision(policies: list[Any], action: str, resource: str, context: dict[str, str]) -> str:
    allowed = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource, incoming_condition_values=context)
        if result == PermissionResult.DENIED:
            return "explicitDeny"
        allowed = allowed or result == PermissionResult.PERMITTED
    return "allowed" if allowed else "implicitDeny"
