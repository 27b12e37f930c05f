"""Health checks of the operations app, listed by the project's /health/ (lofisite/urls.py)."""

import dataclasses

from health_check.base import HealthCheck
from health_check.exceptions import ServiceWarning

from .backups import maintenance


@dataclasses.dataclass
class MaintenanceCheck(HealthCheck):
    """Maintenance mode (a restore running) is "degraded": the load balancer keeps the site, people see why."""

    async def run(self):
        state = maintenance.status()
        if state is not None:
            raise ServiceWarning(f"maintenance mode: {state['reason']} (since {state['since']})")
