"""Loading the notifications service's configured rules and channels: the routing policy
file and the delivery channels. The policy is loaded and checked at start-up, so a bad file
stops the service with a message naming the file and the entry."""
from __future__ import annotations

import structlog
from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from kernel.config import REPOSITORY_ROOT
from kernel.policy_files import load_policy_file
from kernel.providers import find_database
from services.notifications.adapters.channels import ChannelSet, channels_from_config, unconfigured_channels
from services.notifications.domain import RoutingBook
from services.notifications.handlers import NotificationsContext

DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "notifications.yml"
log = structlog.get_logger(__name__)


def load_routing_book(path: str) -> RoutingBook:
    return load_policy_file(path, RoutingBook.from_dict, "NOTIFICATIONS.policy_file")


def settings(config) -> dict:
    return dict(config.get("NOTIFICATIONS") or {})


def unreachable_parties(engine) -> list[str]:
    """The parties an open ``contact_unreachable`` alert names: no working channel on record."""
    from sqlalchemy import and_, select

    from services.notifications.adapters.tables import alerts
    with engine.connect() as conn:
        keys = conn.execute(select(alerts.c.incident_key).where(and_(
            alerts.c.kind == "contact_unreachable", alerts.c.status != "closed"))
            .order_by(alerts.c.incident_key)).scalars().all()
    return [key.removeprefix("unreachable:") for key in keys]


def notifications_context(config) -> NotificationsContext:
    path = str(settings(config).get("policy_file") or DEFAULT_POLICY_FILE)
    return NotificationsContext(CATALOGUE, load_routing_book(path))


class NotificationsRules(DependencyProvider):
    """Hands each worker the context (catalogue, routing book) and the delivery channels."""

    def setup(self):
        self.context = notifications_context(self.container.config)
        self.channels: ChannelSet | None = None

    def start(self):
        # The in-app inbox writes to the service's database: its engine exists once set up.
        self.channels = channels_from_config(settings(self.container.config), find_database(self.container).engine)
        # Said once here (and shown by ``eldercare status``), not at every failed delivery.
        for channel, setting in sorted(unconfigured_channels(settings(self.container.config)).items()):
            log.warning(f"{channel} channel not configured: {channel} deliveries fail over to each party's "
                        f"next channel (in-app inbox, webhook)", channel=channel, setting=setting)
        unreachable = unreachable_parties(find_database(self.container).engine)
        if unreachable:
            log.warning("parties with no working contact (open contact_unreachable alerts; eldercare status)",
                        parties=len(unreachable), examples=unreachable[:5])

    def get_dependency(self, worker_ctx):
        return self
