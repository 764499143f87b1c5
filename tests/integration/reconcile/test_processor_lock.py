"""A full pass does not change a processor while the watch holds its lock (emulator over HTTP)."""

from __future__ import annotations

import asyncio

from spd.aws.gateway import Gateway
from spd.model import ProcessorId
from spd.reconcile.executor import ExecutionSettings
from spd.reconcile.plan import Policy
from spd.reconcile.reconciler import Reconciler
from spd.spec import load_spec
from spdrun import home, write_spec


async def test_a_full_pass_waits_for_the_lock_of_a_processor_before_changing_it(emu, tmp_path):
    desired = load_spec(write_spec(tmp_path / "spec.yaml", [home("porch")])).desired
    policy = Policy(desired.stack)
    async with Gateway.open(endpoint_url=emu.url) as gateway:
        reconciler = Reconciler(gateway, ExecutionSettings(stack=desired.stack, poll_interval=0.05))
        await reconciler.reconcile(desired, policy)
        emu.client().update_stream_processor(
            Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
        )
        emu.clear_stats()
        held = asyncio.Event()
        release = asyncio.Event()

        async def watch_holds_it() -> None:
            async with reconciler.locks.hold(ProcessorId("us-east-1", "porch")):
                held.set()
                await release.wait()

        holder = asyncio.create_task(watch_holds_it())
        await held.wait()
        full = asyncio.create_task(reconciler.reconcile(desired, policy))
        await asyncio.sleep(0.5)
        assert not full.done()
        assert "UpdateStreamProcessor" not in emu.stats()["calls"]  # read, planned, waiting
        release.set()
        result = await asyncio.wait_for(full, 20)
        await holder
    assert [o.done for o in result.applied.outcomes] == [["update"]]
    assert emu.stats()["calls"]["UpdateStreamProcessor"] == 1
