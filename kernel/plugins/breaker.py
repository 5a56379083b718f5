"""A circuit breaker per (tenant, subscriber): after ``threshold`` consecutive failures
it opens for ``cooldown`` seconds, then lets one trial call through (half-open); a
success closes it, a failure opens it again. Open means the dispatcher leaves that
subscriber's deliveries pending without calling it, so a dead backend costs nothing
and consumes no retry attempts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

Key = tuple[uuid.UUID, str]


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    trial_in_flight: bool = False


class CircuitBreakers:
    def __init__(
        self,
        threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._states: dict[Key, _State] = {}

    def state(self, key: Key) -> str:
        """``closed``, ``open`` or ``half_open``."""
        found = self._states.get(key)
        if found is None or found.failures < self.threshold:
            return "closed"
        return "open" if self._clock() < found.open_until else "half_open"

    def open_for(self, key: Key) -> float:
        """Seconds until the breaker lets a trial through (0 when closed)."""
        found = self._states.get(key)
        if found is None or found.failures < self.threshold:
            return 0.0
        return max(0.0, found.open_until - self._clock())

    def allow(self, key: Key) -> bool:
        """Whether a call may go out now; in half-open state only one at a time."""
        state = self.state(key)
        if state == "closed":
            return True
        if state == "open":
            return False
        found = self._states[key]
        if found.trial_in_flight:
            return False
        found.trial_in_flight = True
        return True

    def record_success(self, key: Key) -> None:
        self._states.pop(key, None)

    def record_failure(self, key: Key) -> None:
        found = self._states.setdefault(key, _State())
        found.failures += 1
        found.trial_in_flight = False
        if found.failures >= self.threshold:
            found.open_until = self._clock() + self.cooldown

    def open_keys(self) -> list[Key]:
        """Keys whose breaker is open now (not yet due for a trial call)."""
        return [key for key in self._states if self.state(key) == "open"]
