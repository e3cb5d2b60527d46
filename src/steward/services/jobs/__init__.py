"""Jobs: long operations asked for over the API, as any process can answer for them."""

from __future__ import annotations

from steward.services.jobs._service import HEARTBEAT_SECONDS, LOST_SECONDS, JobService

__all__ = ["HEARTBEAT_SECONDS", "LOST_SECONDS", "JobService"]
