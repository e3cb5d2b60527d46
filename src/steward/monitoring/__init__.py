"""The monitor scheduler: the edge that runs scheduled monitors inside ``steward serve``."""

from steward.monitoring._scheduler import CHECK_SECONDS, MonitorScheduler

__all__ = ["CHECK_SECONDS", "MonitorScheduler"]
