"""Whether a processor's role may do what Rekognition does through it: the questions to ask IAM's policy
simulator (`iam:SimulatePrincipalPolicy`) and what its answers mean, for the preflight.

The questions come from `spd.checks.iam_policy.service_role_policy`, the same policy `spd iam-policy --for
service-role` prints: for each role, the policy the spec's processors using it need, one simulation per
statement (its actions on its resources, with the context keys its condition names). One source of
truth: a permission added there is checked here.

A denied action is an error at the processor's `role_arn` ("role X may not kinesis:PutRecords on
arn:..."), reported for each processor whose own needs include it. A simulation that could not run
(the caller may not call it, or the endpoint does not serve it) says nothing about the role: one warning
per role that its permissions were not checked.

Pure: no I/O, no AWS library. `spd.aws.references.simulate` asks the questions, `spd.checks.preflight` places
the findings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from spd.checks.iam_policy import service_role_policy
from spd.model import AMBIENT_TARGET, DesiredProcessor, DesiredState

SIMULATE_PERMISSION = "iam:SimulatePrincipalPolicy"


@dataclass(frozen=True, slots=True)
class Simulation:
    """One simulator call: every action on every resource, with these context keys and values."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    context: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class RoleCheck:
    """What to ask about one role: the region (and target: whose credentials) to ask in and the
    simulations to run."""

    role_arn: str
    region: str
    simulations: tuple[Simulation, ...]
    target: str = AMBIENT_TARGET


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    """The simulator's answer for one role: the (action, resource) pairs it denies, or why it was not
    asked (`unchecked`: the reason, e.g. "iam:SimulatePrincipalPolicy denied")."""

    denied: frozenset[tuple[str, str]] = frozenset()
    unchecked: str | None = None


def _as_tuple(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, list | tuple) else (str(value),)


def _simulations(policy: dict[str, Any]) -> Iterator[Simulation]:
    for statement in policy["Statement"]:
        context: list[tuple[str, tuple[str, ...]]] = []
        for tests in (statement.get("Condition") or {}).values():
            for key, values in tests.items():
                context.append((str(key), _as_tuple(values)))
        yield Simulation(_as_tuple(statement["Action"]), _as_tuple(statement["Resource"]), tuple(context))


def _policy(stack: str, processors: Sequence[DesiredProcessor]) -> dict[str, Any]:
    return service_role_policy(DesiredState(stack=stack, processors=tuple(processors)))


def role_check(stack: str, role_arn: str, processors: Sequence[DesiredProcessor]) -> RoleCheck:
    """The simulations for `role_arn`, from the service-role policy of the processors that use it (at
    least one: a role no processor uses has nothing to check), asked in the first one's region."""
    first = processors[0]
    return RoleCheck(
        role_arn, first.config.region, tuple(_simulations(_policy(stack, processors))), first.target
    )


def needs(stack: str, processor: DesiredProcessor) -> list[tuple[str, str]]:
    """The (action, resource) pairs this one processor needs of its role, in policy order."""
    return [
        (action, resource)
        for simulation in _simulations(_policy(stack, [processor]))
        for action in simulation.actions
        for resource in simulation.resources
    ]


def problems(stack: str, processor: DesiredProcessor, answer: RoleAnswer) -> list[tuple[str, str]]:
    """(severity, message) of each problem the answer shows for this processor's role."""
    role = processor.config.role_arn
    if answer.unchecked is not None:
        return [("warning", f"role permissions not checked: {answer.unchecked} (role {role})")]
    if not answer.denied:
        return []  # the usual answer: no need to work out what this processor needs
    return [
        ("error", f"role {role} may not {action} on {resource}")
        for action, resource in needs(stack, processor)
        if (action, resource) in answer.denied
    ]
