"""Properties of the retry delay and of the circuit breaker."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from kernel.dispatch.dispatcher import backoff_delay
from kernel.plugins.breaker import CircuitBreakers

KEY = (uuid.UUID(int=1), "plugin:x")


@settings(max_examples=50, deadline=None)
@given(
    attempts=st.integers(min_value=1, max_value=60),
    base=st.floats(min_value=0.1, max_value=10),
    cap=st.floats(min_value=1, max_value=3600),
    rand=st.floats(min_value=0, max_value=1),
)
def test_backoff_is_jittered_within_half_to_all_of_the_capped_step(
    attempts: int, base: float, cap: float, rand: float
) -> None:
    step = min(cap, base * 2 ** min(30, attempts - 1))
    delay = backoff_delay(attempts, base, cap, rand=lambda: rand)
    assert step / 2 - 1e-9 <= delay <= step + 1e-9


def test_backoff_grows_exponentially_until_the_cap() -> None:
    delays = [backoff_delay(n, 2.0, 60.0, rand=lambda: 1.0) for n in range(1, 8)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(["ok", "fail", "wait"]), max_size=40))
def test_breaker_opens_only_after_threshold_failures_and_closes_on_success(
    steps: list[str],
) -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=3, cooldown=10.0, clock=lambda: now[0])
    consecutive = 0
    for step in steps:
        if step == "wait":
            now[0] += 6.0
            continue
        if not breakers.allow(KEY):
            assert consecutive >= 3 and breakers.state(KEY) in ("open", "half_open")
            continue
        if step == "ok":
            breakers.record_success(KEY)
            consecutive = 0
            assert breakers.state(KEY) == "closed"
        else:
            breakers.record_failure(KEY)
            consecutive += 1
            assert breakers.state(KEY) == ("open" if consecutive >= 3 else "closed")


def test_half_open_breaker_lets_one_trial_through() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=1, cooldown=10.0, clock=lambda: now[0])
    breakers.record_failure(KEY)
    assert not breakers.allow(KEY)
    now[0] = 11.0
    assert breakers.allow(KEY) and not breakers.allow(KEY)  # one trial at a time
    breakers.record_failure(KEY)  # the trial failed: open again for a full cool-down
    assert breakers.state(KEY) == "open" and breakers.open_for(KEY) == 10.0
