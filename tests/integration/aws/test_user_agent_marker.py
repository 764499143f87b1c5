"""spd marks its calls: the User-Agent ends with `spd/<version> spd-stack/<stack>`, which CloudTrail records
and the daemon's watch recognises (emulator over HTTP; the header as the request carried it)."""

from __future__ import annotations

from typing import Any

from cloudtrail import body, call_event
from spd import __version__
from spd.aws.gateway import Gateway
from spd.events.watch_events import ignored_reason, parse_message


async def sent_user_agents(gateway: Gateway) -> list[str]:
    seen: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        value = request.headers["User-Agent"]
        seen.append(value.decode() if isinstance(value, bytes) else str(value))

    region = await gateway.region("us-east-1")
    region._client.meta.events.register("before-send", capture)
    await region.list_statuses()
    sqs = await gateway.service_client("sqs", "us-east-1")
    sqs.meta.events.register("before-send", capture)
    await sqs.list_queues()
    return seen


async def test_every_call_carries_the_stack_marker_the_watch_drops(emu):
    async with Gateway.open(endpoint_url=emu.url, stack="prod") as gateway:
        agents = await sent_user_agents(gateway)
    assert len(agents) == 2
    assert all(a.endswith(f"spd/{__version__} spd-stack/prod") for a in agents), agents
    assert gateway.marker == f"spd/{__version__} spd-stack/prod"
    recorded = parse_message(body(call_event("UpdateStreamProcessor", "lobby", user_agent=agents[0])))
    assert ignored_reason(recorded, marker=gateway.marker) == "own_call"
    assert ignored_reason(recorded, marker=f"spd/{__version__} spd-stack/staging") is None


async def test_without_a_stack_the_marker_names_spd_only(emu):
    async with Gateway.open(endpoint_url=emu.url) as gateway:
        agents = await sent_user_agents(gateway)
    assert agents[0].endswith(f"spd/{__version__}")
