"""Monitoring use cases: monitors, their runs, alerts, the actions alerts trigger, and
retraining."""

from steward.services.monitoring._alerts import AlertService
from steward.services.monitoring._retrain import Retraining, RetrainService
from steward.services.monitoring._service import MONITOR_CHECK, MonitoringService, MonitorRun

__all__ = [
    "MONITOR_CHECK",
    "AlertService",
    "MonitorRun",
    "MonitoringService",
    "RetrainService",
    "Retraining",
]
