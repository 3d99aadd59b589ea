"""Home-service orders (居家上门服务: 助餐、助浴、助洁、助医、陪护; seeds 003/004).

``place_order``: an elder, their family, a visitor or a device call orders a service for a
day; the order is offered to the nearest facility in operation in the elder's county that
offers it with a place left that day (same village, then township, then county; facilities
declare their offers through ``facilities.declare_home_services``). The facility
``accept_order``s or ``decline_order``s it (declined: the next nearest is offered) and
``complete_order``s it once delivered; a delivered meal is a ``meal_delivered`` fact with the
elder's count that month, which subsidies pays by. A timer raises every order not accepted
by its deadline (``policies/orders.yml``) as ``order_unaccepted``, once; notifications
alerts on it. Orders knows elders and facilities only from their services' events.
"""
from __future__ import annotations

import structlog
from nameko.extensions import DependencyProvider

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from contracts.orders_rpc import (CompleteOrderSchema, DeclineOrderSchema, ElderOrdersQuerySchema,
                                  FacilityActionSchema, FacilityOrdersQuerySchema, MealsQuerySchema, OrderView,
                                  PlaceOrderSchema)
from contracts.services import ORDERS
from kernel.config import REPOSITORY_ROOT
from kernel.consumer import durable_event_handler
from kernel.errors import NotFoundError
from kernel.policy_files import load_policy_file
from kernel.providers import (CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase, configured_timer,
                              ping_answer)
from kernel.rpc import command_rpc
from kernel.trace import events_about
from kernel.validation import load_or_refuse
from services.orders import domain as d
from services.orders import handlers

log = structlog.get_logger(__name__)
ACTOR, PLACE, ACTION, DECLINE, COMPLETE = (ActorSchema(), PlaceOrderSchema(), FacilityActionSchema(),
                                           DeclineOrderSchema(), CompleteOrderSchema())
FACILITY_QUERY, ELDER_QUERY, MEALS_QUERY, VIEW = (FacilityOrdersQuerySchema(), ElderOrdersQuerySchema(),
                                                  MealsQuerySchema(), OrderView())
DEFAULT_POLICY_FILE = REPOSITORY_ROOT / "policies" / "orders.yml"


class DeadlinePolicyProvider(DependencyProvider):
    """The acceptance deadlines (``ORDERS.policy_file``), loaded and checked at start-up so
    a bad file stops the service naming the entry, not the first order."""

    def setup(self):
        path = (self.container.config.get("ORDERS") or {}).get("policy_file") or DEFAULT_POLICY_FILE
        self.policy = load_policy_file(str(path), d.DeadlinePolicy.from_dict, "ORDERS.policy_file")

    def get_dependency(self, worker_ctx):
        return self.policy


class OrdersService:
    name = "orders"

    db = ServiceDatabase(CATALOGUE)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()       # signed checkpoints of its log, held by the witnesses
    policy = DeadlinePolicyProvider()
    log = LoggingContext()

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)

    @command_rpc
    def place_order(self, payload, actor):
        """Place an order; answers it as offered to the facility it was routed to."""
        data, who = load_or_refuse(PLACE, payload), load_or_refuse(ACTOR, actor)
        command = d.PlaceOrder(data["order_id"] or handlers.new_order_id(), data["elder_id"], data["service_kind"],
                               data["service_date"] or self.db.clock.today(), data["caller"], data["note"],
                               data["facility_id"])
        return VIEW.dump(handlers.place_order(self.db, self.policy, command, who))

    @command_rpc
    def accept_order(self, payload, actor):
        data, who = load_or_refuse(ACTION, payload), load_or_refuse(ACTOR, actor)
        return VIEW.dump(handlers.accept_order(self.db, d.AcceptOrder(data["order_id"], data["facility_id"]), who))

    @command_rpc
    def decline_order(self, payload, actor):
        """The facility cannot take it: the next nearest facility is offered it."""
        data, who = load_or_refuse(DECLINE, payload), load_or_refuse(ACTOR, actor)
        command = d.DeclineOrder(data["order_id"], data["facility_id"], data["reason"])
        return VIEW.dump(handlers.decline_order(self.db, command, who))

    @command_rpc
    def complete_order(self, payload, actor):
        """Delivered (only after acceptance); a meal counts for the elder's month."""
        data, who = load_or_refuse(COMPLETE, payload), load_or_refuse(ACTOR, actor)
        command = d.CompleteOrder(data["order_id"], data["facility_id"],
                                  data["delivered_on"] or self.db.clock.today(), data["note"])
        return VIEW.dump(handlers.complete_order(self.db, command, who))

    @command_rpc
    def get_order(self, order_id):
        state = handlers.load_order(self.db.store, str(order_id))
        if not state.exists:
            raise NotFoundError(f"no order {order_id!r}", field="order_id")
        return VIEW.dump(state)

    @command_rpc
    def facility_orders(self, query):
        """A facility's orders (offered to it, accepted, completed), by day."""
        query = load_or_refuse(FACILITY_QUERY, query)
        with self.db.connect() as conn:
            return handlers.facility_orders(conn, query)

    @command_rpc
    def elder_orders(self, query):
        query = load_or_refuse(ELDER_QUERY, query)
        with self.db.connect() as conn:
            return handlers.elder_orders(conn, query)

    @command_rpc
    def meals_delivered(self, query):
        """Meals delivered per elder in a month under a division (what subsidies pays per meal by)."""
        query = load_or_refuse(MEALS_QUERY, query)
        with self.db.connect() as conn:
            return handlers.meals_in_month(conn, query["month"], query["division_code"])

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this log naming the elder, for the cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc(idempotent=True)
    def raise_overdue(self):
        """Raise orders not accepted by their deadline (also run by the timer); each once."""
        return handlers.raise_overdue(self.db)

    @configured_timer("ORDERS.overdue_check_interval_seconds", 60)
    def raise_overdue_on_timer(self):
        with self.db.exclusively("overdue-orders") as mine:
            if mine:
                handlers.raise_overdue(self.db)

    # -- consumed facts ----------------------------------------------------------------------
    @durable_event_handler(*ORDERS.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        """Which elders exist, where they live, who died."""
        handlers.apply_registry_fact(uow.conn, event)

    @durable_event_handler(*ORDERS.consumer("on_facility_event").arguments)
    def on_facility_event(self, event, uow):
        """Where facilities are, whether they operate, which home services they offer; the
        orders waiting on a facility that stops operating go to the next nearest."""
        handlers.apply_facility_event(uow, event)
