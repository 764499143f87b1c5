"""Which shards a config has, and the part of the spec a daemon holding some of them works on."""

from __future__ import annotations

from dataclasses import replace

from builders import STACK, desired, face_config
from spd.config.settings import load_settings
from spd.daemon.shards import scoped, wanted_shards
from spd.ha.shards import AMBIENT_SHARD
from spd.model import DesiredState, Target


def spec() -> DesiredState:
    alpha = replace(desired(face_config("door")), target="alpha")
    beta = replace(desired(face_config("gate")), target="beta")
    return DesiredState(
        STACK,
        (alpha, beta, desired(face_config("porch"))),
        targets=(
            Target(
                "alpha",
                ("us-east-1",),
                account_id="111111111111",
                role_arns=("arn:aws:iam::111111111111:role/r",),
            ),
            Target(
                "beta",
                ("us-east-1",),
                account_id="222222222222",
                role_arns=("arn:aws:iam::222222222222:role/r",),
            ),
            Target(
                "empty",
                ("eu-west-1",),
                account_id="333333333333",
                role_arns=("arn:aws:iam::333333333333:role/r",),
            ),
        ),
    )


def test_every_target_is_a_shard_and_the_ambient_credentials_one_more_when_used() -> None:
    settings = load_settings(None, environ={})
    assert wanted_shards(spec(), settings) == (AMBIENT_SHARD, "alpha", "beta", "empty")
    only_targets = replace(spec(), processors=spec().processors[:2])
    assert wanted_shards(only_targets, settings) == ("alpha", "beta", "empty")
    with_regions = load_settings(None, environ={}, regions=["eu-west-1"])
    assert wanted_shards(only_targets, with_regions) == (AMBIENT_SHARD, "alpha", "beta", "empty")


def test_the_scoped_spec_has_the_held_shards_processors_and_targets_only() -> None:
    part = scoped(spec(), ("beta", "empty"))
    assert [p.name for p in part.processors] == ["gate"]
    assert [t.name for t in part.targets] == ["beta", "empty"]
    # An emptied target is still read (its leftovers pruned) by its holder only.
    assert part.scope == (("beta", "us-east-1"), ("empty", "eu-west-1"))
    assert [p.name for p in scoped(spec(), (AMBIENT_SHARD,)).processors] == ["porch"]
    assert scoped(spec(), ()).scope == ()
