"""What a probe saw, on its own so that the prober (which produces readings) and the
outage state machine (which consumes them) both depend on it instead of on each other."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Reading:
    """What one probe saw. `state` is up, degraded or down."""

    service_id: str
    state: str
    latency_ms: float | None = None
    error: str | None = None
    cert_expires_at: datetime | None = None
    warnings: list[str] = field(default_factory=list)
