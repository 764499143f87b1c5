"""The role-permission questions come from the service-role policy, and the answers become findings at
`role_arn`: a denied action an error for each processor that needs it, an unasked simulator one warning."""

from __future__ import annotations

from dataclasses import replace

from builders import ROLE, desired, face_config, home_config, kds, kvs, state
from spd.checks.iam_policy import service_role_policy
from spd.checks.preflight import Found, Lookup, Reference, attributed, roles_to_simulate
from spd.checks.role_permissions import RoleAnswer, needs, role_check

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "rekognition.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def test_questions_are_the_service_role_policy_statements():
    fleet = state(desired(face_config("a")), desired(home_config("b", kms_key_id="alias/results")))
    check = role_check(fleet.stack, ROLE, fleet.processors)
    statements = service_role_policy(fleet)["Statement"]
    assert [(s.actions, s.resources) for s in check.simulations] == [
        (tuple(st["Action"]), tuple(st["Resource"])) for st in statements
    ]
    aliased = next(s for s in check.simulations if s.context)
    assert aliased.context == (("kms:ResourceAliases", ("alias/results",)),)
    assert ("kinesis:PutRecords", kds("a")) in needs(fleet.stack, fleet.processors[0])
    assert ("kinesis:PutRecords", kds("a")) not in needs(fleet.stack, fleet.processors[1])


def test_only_existing_roles_that_trust_rekognition_are_simulated():
    fleet = state(desired(face_config("a")))
    ref = Reference("role", "us-east-1", ROLE)
    assert roles_to_simulate(fleet, {ref: Lookup(Found.EXISTS, document=TRUST)})
    assert not roles_to_simulate(fleet, {ref: Lookup(Found.EXISTS, document={"Statement": []})})
    assert not roles_to_simulate(fleet, {ref: Lookup(Found.MISSING)})
    assert not roles_to_simulate(fleet, {ref: Lookup(Found.DENIED, permission="iam:GetRole")})


def test_denied_action_is_an_error_for_the_processor_that_needs_it():
    fleet = state(desired(face_config("a")), desired(face_config("b")))
    answer = RoleAnswer(denied=frozenset({("kinesis:PutRecords", kds("b"))}))
    found = attributed(fleet, {}, {ROLE: answer})
    assert [(d.severity, d.message, tuple(p.name for p in ids)) for d, ids in found.items()] == [
        ("error", f"role {ROLE} may not kinesis:PutRecords on {kds('b')}", ("b",))
    ]


def test_unchecked_role_is_one_warning_for_all_its_processors():
    fleet = state(desired(face_config("a")), desired(face_config("b", kinesis_video_stream_arn=kvs("c"))))
    found = attributed(fleet, {}, {ROLE: RoleAnswer(unchecked="iam:SimulatePrincipalPolicy denied")})
    # Built without a file, the two processors' role_arn are located apart; each gets the warning once.
    assert {d.message for d in found} == {
        f"role permissions not checked: iam:SimulatePrincipalPolicy denied (role {ROLE})"
    }
    assert all(d.severity == "warning" for d in found)


def test_a_targets_role_is_simulated_with_the_targets_credentials():
    """The role was looked up in the target's account: its look-up is found under the target, and the
    simulation asks there too."""
    fleet = state(replace(desired(face_config("a")), target="lab"))
    ref = Reference("role", "us-east-1", ROLE, "lab")
    [check] = roles_to_simulate(fleet, {ref: Lookup(Found.EXISTS, document=TRUST)})
    assert (check.role_arn, check.target) == (ROLE, "lab")
