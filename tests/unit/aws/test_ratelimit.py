"""The pacer: evenly spaced slots under the rate, late slots retaken, multiplicative slow-down, additive
recovery (fake clock)."""

from __future__ import annotations

import asyncio

import pytest

from spd.aws import ratelimit
from spd.aws.ratelimit import HEADROOM, Pacer, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_slots_are_spaced_at_the_rate(monkeypatch):
    clock = FakeClock()
    slept: list[float] = []

    async def fake_sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    pacer = Pacer(10.0, clock)
    for _ in range(5):
        await pacer.acquire()
    step = 0.1 / HEADROOM
    assert slept == pytest.approx([step, 2 * step, 3 * step, 4 * step])


async def test_headroom_lets_a_saturated_bucket_refill(monkeypatch):
    """The service's bucket (one second's worth, refilled at the rate) under a pacer saturated at that
    rate, while the service falls 1 s behind over 500 calls and catches up over the next 500: paced at
    exactly the rate, the bucket never wins back the tokens it lost while full, and throttles once the
    service has caught up; with the headroom it regains them as it goes."""
    rate = capacity = 5.0
    clock = FakeClock()

    async def sleep(delay: float) -> None:
        clock.now += delay

    monkeypatch.setattr(asyncio, "sleep", sleep)

    async def throttled() -> int:
        clock.now = 0.0
        pacer = Pacer(rate, clock)
        sent = []
        for _ in range(1200):
            await pacer.acquire()
            sent.append(clock.now)
        behind = [1.0 - abs(i - 500) / 500 if i < 1000 else 0.0 for i in range(len(sent))]
        tokens, last, count = capacity, 0.0, 0
        for arrival in sorted(t + d for t, d in zip(sent, behind, strict=True)):
            tokens = min(capacity, tokens + (arrival - last) * rate)
            last = arrival
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                count += 1
        return count

    assert await throttled() == 0
    monkeypatch.setattr(ratelimit, "HEADROOM", 1.0)
    assert await throttled() > 0


async def test_a_caller_woken_late_takes_a_new_slot_once(monkeypatch):
    """A late wake-up (the event loop was busy) would send two slots' calls together: the late caller
    waits for a new slot instead; late again, it goes."""
    clock = FakeClock()
    slept: list[float] = []
    lag = [0.5]

    async def late_sleep(delay: float) -> None:
        slept.append(delay)
        clock.now += delay + lag[0]

    monkeypatch.setattr(asyncio, "sleep", late_sleep)
    pacer = Pacer(10.0, clock)
    step = 0.1 / HEADROOM
    await pacer.acquire()  # the first slot is now: no sleep
    await pacer.acquire()  # sleeps one step, wakes 0.5 s late: retakes a slot (now), no second sleep
    assert slept == pytest.approx([step])
    lag[0] = 0.0
    await pacer.acquire()
    assert slept == pytest.approx([step, step])


def test_slow_down_halves_and_success_recovers():
    limiter = RateLimiter({"DescribeStreamProcessor": 20.0}, clock=FakeClock())
    limiter.throttled("DescribeStreamProcessor")
    assert limiter.current_rate("DescribeStreamProcessor") == 10.0
    limiter.throttled("DescribeStreamProcessor")
    assert limiter.current_rate("DescribeStreamProcessor") == 5.0
    for _ in range(100):
        limiter.succeeded("DescribeStreamProcessor")
    assert limiter.current_rate("DescribeStreamProcessor") == 20.0
    assert limiter.current_rate("ListStreamProcessors") is None
