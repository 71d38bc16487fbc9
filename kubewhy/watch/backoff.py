"""Exponential backoff with full jitter (AWS architecture blog): replicas that lost the API server together do not
come back together."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base: float = 0.5
    cap: float = 30.0
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next(self) -> float:
        """The delay before the next try (grows with each failure)."""
        self.attempt += 1
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** (self.attempt - 1)))

    def reset(self) -> None:
        self.attempt = 0
