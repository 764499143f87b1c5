"""`Reconciler.reconfigure`: what a reloaded config changes in a running reconciler.

The daemon calls it on every reload (not before every pass): the stack, targets, extra regions and
restart backoff change in place, and ownership proven for the previous stack is forgotten.
"""

from __future__ import annotations

from builders import STACK
from spd.model import ProcessorId, Target
from spd.reconcile.backoff import RestartBackoff
from spd.reconcile.executor import ExecutionSettings
from spd.reconcile.fake_gateway import FakeFleet
from spd.reconcile.reconciler import Reconciler

PID = ProcessorId("us-east-1", "porch")
LOBBY = Target(
    "lobby", ("eu-west-1",), account_id="111122223333", role_arns=("arn:aws:iam::111122223333:role/x",)
)


def _reconciler() -> tuple[Reconciler, FakeFleet]:
    fleet = FakeFleet()
    reconciler = Reconciler(
        fleet,
        ExecutionSettings(stack=STACK),
        backoff=RestartBackoff(30.0, 3600.0),
        extra_regions=("us-east-1",),
    )
    reconciler.owned = frozenset({PID})
    reconciler.arns = {PID: "arn:aws:rekognition:us-east-1:123456789012:streamprocessor/porch"}
    return reconciler, fleet


def test_a_new_stack_forgets_what_the_old_one_owned() -> None:
    reconciler, gateway = _reconciler()
    reconciler.reconfigure(ExecutionSettings(stack="other"), (LOBBY,), extra_regions=())
    assert reconciler.owned == frozenset()
    assert reconciler.arns == {}
    assert reconciler.settings.stack == "other"
    assert (gateway.targets, gateway.stack_name) == ((LOBBY,), "other")


def test_the_same_stack_keeps_ownership_and_takes_the_rest() -> None:
    reconciler, gateway = _reconciler()
    settings = ExecutionSettings(stack=STACK, concurrency=3)
    reconciler.reconfigure(
        settings, (LOBBY,), extra_regions=("eu-west-1",), backoff_initial=5.0, backoff_max=60.0
    )
    assert reconciler.owned == frozenset({PID})
    assert PID in reconciler.arns
    assert reconciler.settings is settings
    assert reconciler.extra_regions == ("eu-west-1",)
    assert reconciler.backoff is not None
    assert (reconciler.backoff.initial, reconciler.backoff.maximum) == (5.0, 60.0)
    assert (gateway.targets, gateway.stack_name) == ((LOBBY,), STACK)
