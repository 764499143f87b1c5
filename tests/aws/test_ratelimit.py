"""The pacer: evenly spaced slots, multiplicative slow-down, additive recovery (fake clock)."""

from __future__ import annotations

import asyncio

from spd.aws.ratelimit import Pacer, RateLimiter


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
    assert [round(s, 6) for s in slept] == [0.1, 0.2, 0.3, 0.4]


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
