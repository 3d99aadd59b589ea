"""The notifications service: alerts up the reporting chain, their delivery, and the
referral ledger between departments, over nameko RPC.

Commands take ``payload`` (validated by its schema) and ``actor`` (department, user, role);
a refused command raises a clear error naming the field and writes nothing. It consumes
visits' risk findings and overdue visits, registry status changes, and the departments'
health risks and cases, with the kernel's
durable handler (each event applied once, with its inbox record). Two timers: the sweep
(escalations, re-routing on a policy change, overdue referrals, silent devices) and the
delivery round (attempts due, retries, fallbacks).
"""
from __future__ import annotations

import json

import structlog
from sqlalchemy import and_, select

from contracts import CATALOGUE
from contracts.services import SEALING_SERVICES, NOTIFICATIONS
from contracts.actors import ActorSchema
from contracts.registry import ERASURE_EVENT
from kernel.consumer import durable_event_handler
from kernel.errors import NotFoundError
from kernel.providers import (CallContext, CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase,
                              configured_timer, ping_answer)
from kernel.divisions import is_ascii_digits, significant_prefix
from kernel.rpc import command_rpc
from kernel.trace import events_about
from kernel.witness import checkpoint_witness
from kernel.validation import load_or_refuse
from services.notifications import handlers as h
from services.notifications import queries
from contracts import notifications_rpc as s
from services.notifications.adapters.projections import notifications_projections
from services.notifications.adapters.tables import alert_routes, alerts, inbox_messages, party_contacts, referrals
from services.notifications.domain import (AcceptReferral, AcknowledgeAlert, ChannelAddress, CloseAlert, CloseReferral,
                                           CreateReferral, RaiseAlert, RecordReferralAction)
from services.notifications.intake import (alert_for_departments_event, alert_for_orders_event,
                                           alert_for_registry_event, alert_for_visits_event)
from services.notifications.rules import NotificationsRules, settings

log = structlog.get_logger(__name__)
ACTOR_SCHEMA = ActorSchema()
SCHEMAS = {name: schema() for name, schema in {
    "report": s.ReportAlertSchema, "alarm": s.DeviceAlarmSchema, "heartbeat": s.HeartbeatSchema,
    "acknowledge": s.AnswerAlertSchema, "close": s.CloseAlertSchema, "contacts": s.PartyContactsSchema,
    "create": s.CreateReferralSchema, "accept": s.AcceptReferralSchema, "act": s.ReferralActionSchema,
    "close_referral": s.CloseReferralSchema, "alerts": s.AlertFilterSchema, "referrals": s.ReferralFilterSchema,
    "contact_filter": s.PartyContactsFilterSchema,
}.items()}
ALERT_VIEW, REFERRAL_VIEW = s.AlertView(), s.ReferralView()


def referral_from_request(name: str, data: dict, *, at, department: str, user: str):
    """A loaded referral payload as the domain command, acting for the caller's department."""
    if name == "create":
        return CreateReferral(data["referral_id"], at, department, to_department=data["to_department"],
                              division_code=data["division_code"], request=data["request"], due_on=data["due_on"],
                              created_by=user, alert_id=data["alert_id"], elder_id=data["elder_id"])
    if name == "accept":
        return AcceptReferral(data["referral_id"], at, department, note=data["note"])
    if name == "act":
        return RecordReferralAction(data["referral_id"], at, department, action=data["action"])
    return CloseReferral(data["referral_id"], at, department, outcome=data["outcome"], note=data["note"])


class NotificationsService(checkpoint_witness(SEALING_SERVICES, own="notifications")):
    name = "notifications"

    db = ServiceDatabase(CATALOGUE, projections=notifications_projections(CATALOGUE))
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()
    rules = NotificationsRules()
    call = CallContext()
    log = LoggingContext()

    def _meta(self, actor=None) -> h.CommandMeta:
        return h.CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor) if actor is not None else h.SYSTEM_ACTOR,
                             **self.call)

    def _retrying(self, work, what: str):
        return h.retrying(self.db.unit_of_work, work, what)

    # -- consumed events -----------------------------------------------------------------
    @durable_event_handler(*NOTIFICATIONS.consumer("on_visits_event").arguments)
    def on_visits_event(self, event, uow):
        h.raise_alert(uow, self.rules.context, alert_for_visits_event(event, uow.now()), self._meta())

    @durable_event_handler(*NOTIFICATIONS.consumer("on_orders_event").arguments)
    def on_orders_event(self, event, uow):
        """A home-service order nobody accepted in time: the village committee arranges help."""
        h.raise_alert(uow, self.rules.context, alert_for_orders_event(event, uow.now()), self._meta())

    @durable_event_handler(*NOTIFICATIONS.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        if event.type == ERASURE_EVENT:
            h.drop_personal_copies(uow.conn, event)
            return
        h.apply_registry_fact(uow.conn, event.type, event.data)
        command = alert_for_registry_event(event, uow.now())
        if command is not None:
            h.raise_alert(uow, self.rules.context, command, self._meta())

    @durable_event_handler(*NOTIFICATIONS.consumer("on_departments_event").arguments)
    def on_departments_event(self, event, uow):
        """A health risk or a case raises an alert; a case answering a referral moves it on."""
        command = alert_for_departments_event(event, uow.now())
        if command is not None:
            h.raise_alert(uow, self.rules.context, command, self._meta())
        if event.data.get("referral_id"):
            h.referral_step_for_case(uow, self.rules.context, event, self._meta())

    # -- alerts --------------------------------------------------------------------------
    @command_rpc
    def report_alert(self, payload, actor):
        """A risk reported by hand (e.g. a neighbour's call taken by a village worker)."""
        data, meta, now = load_or_refuse(SCHEMAS["report"], payload), self._meta(actor), self.db.clock.now()
        command = RaiseAlert(h.new_id("al"), now, **{**data, "incident_key": data["incident_key"] or
                             f"report:{data['elder_id'] or data['division_code']}:{data['kind']}"}, cause_type="report")
        state = self._retrying(lambda uow: h.raise_alert(uow, self.rules.context, command, meta), "report alert")
        return ALERT_VIEW.dump(state)

    @command_rpc
    def acknowledge_alert(self, payload, actor):
        data, meta = load_or_refuse(SCHEMAS["acknowledge"], payload), self._meta(actor)
        command = AcknowledgeAlert(data["alert_id"], self.db.clock.now(), party=data["party"],
                                   actor_department=meta.actor.department, note=data["note"])
        state = self._retrying(lambda uow: h.answer_alert(uow, self.rules.context, command, meta), "acknowledge")
        log.info("alert acknowledged", alert_id=state.alert_id, party=state.acknowledged_by, level=state.level)
        return ALERT_VIEW.dump(state)

    @command_rpc
    def close_alert(self, payload, actor):
        data, meta = load_or_refuse(SCHEMAS["close"], payload), self._meta(actor)
        command = CloseAlert(data["alert_id"], self.db.clock.now(), party=data["party"],
                             actor_department=meta.actor.department, outcome=data["outcome"], note=data["note"])
        state = self._retrying(lambda uow: h.answer_alert(uow, self.rules.context, command, meta), "close alert")
        log.info("alert closed", alert_id=state.alert_id, party=state.closed_by, outcome=state.outcome)
        return ALERT_VIEW.dump(state)

    @command_rpc
    def get_alert(self, alert_id):
        with self.db.connect() as conn:
            state = h.load_alerts(conn, [alert_id], CATALOGUE)[0]
        if not state.exists:
            raise NotFoundError(f"no alert {alert_id!r}", field="alert_id")
        return ALERT_VIEW.dump(state)

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this log naming the elder (alerts, deliveries about them), for the
        gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc
    def history(self, stream_id):
        """Every event of one stream (alert, delivery, referral, ``device:…``, ``party:…``) in wire form."""
        return [e.to_wire() for e in self.db.store.read_stream(stream_id)]

    @command_rpc
    def list_alerts(self, filters=None):
        """Alerts by division (prefix), party, department, kind, status, or deadline before a time."""
        query = load_or_refuse(SCHEMAS["alerts"], filters or {})
        conditions = [alerts.c.status != "closed"] if query["status"] == "not_closed" else (
            [] if query["status"] == "any" else [alerts.c.status == query["status"]])
        if query["division_code"]:
            conditions.append(alerts.c.division_code.startswith(significant_prefix(query["division_code"])))
        if query["kind"]:
            conditions.append(alerts.c.kind == query["kind"])
        if query["deadline_before"]:
            conditions.append(alerts.c.ack_deadline <= h.format_time(query["deadline_before"]))
        party = query["party"] or (f"department:{query['department']}:" if query["department"] else None)
        if party:
            routed = select(alert_routes.c.alert_id).where(
                alert_routes.c.party.startswith(party) if party.endswith(":") else alert_routes.c.party == party)
            conditions.append(alerts.c.alert_id.in_(routed))
        statement = (select(alerts).where(and_(True, *conditions))
                     .order_by(alerts.c.ack_deadline, alerts.c.raised_at).limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(statement)]

    @command_rpc
    def alert_summary(self, filters):
        """For the dashboard: alerts not closed in a division (all, by age — under 24 hours,
        24 to 72, older — and by department routed to) and referrals not closed (all, overdue),
        added up from per-village counts and the last three days' alerts."""
        query = load_or_refuse(queries.ALERT_SUMMARY_SCHEMA, filters)
        with self.db.connect() as conn:
            return queries.alert_summary(conn, query["division_code"], query["now"] or self.db.clock.now())

    # -- devices -------------------------------------------------------------------------
    @command_rpc
    def receive_device_alarm(self, payload, actor=None):
        """Intake of a smart device's alarm (one-key call, bracelet SOS/fall, smoke, pill box)."""
        data, meta, now = load_or_refuse(SCHEMAS["alarm"], payload), self._meta(actor), self.db.clock.now()
        alarm = {**data, "occurred_at": data["occurred_at"] or now, "received_at": now}
        state = self._retrying(lambda uow: h.receive_device_alarm(uow, self.rules.context, alarm, meta), "alarm")
        return ALERT_VIEW.dump(state)

    @command_rpc
    def device_heartbeat(self, payload, actor=None):
        data, meta = load_or_refuse(SCHEMAS["heartbeat"], payload), self._meta(actor)
        heartbeat = {**data, "at": data["at"] or self.db.clock.now()}
        resumed = self._retrying(lambda uow: h.record_heartbeat(uow, self.rules.context, heartbeat, meta), "heartbeat")
        return {"device_id": data["device_id"], "resumed": resumed}

    # -- parties -------------------------------------------------------------------------
    @command_rpc
    def set_party_contacts(self, payload, actor):
        """A party's channels, preferred first, e.g. ``[{"channel": "sms", "address": "139…"}]``."""
        data, meta = load_or_refuse(SCHEMAS["contacts"], payload), self._meta(actor)
        channels = tuple(ChannelAddress(**channel) for channel in data["channels"])
        self._retrying(lambda uow: h.set_party_contacts(uow, self.rules.context, data["party"], channels,
                                                        self.db.clock.now(), meta), "set contacts")
        return {"party": data["party"], "channels": data["channels"]}

    @command_rpc
    def list_party_contacts(self, filters=None):
        """Each party's channels, preferred first, for the parties placed within a division
        (``township:410928101`` is placed at 410928101; family parties have no place)."""
        query = load_or_refuse(SCHEMAS["contact_filter"], filters or {})
        prefix = significant_prefix(query["division_code"]) if query["division_code"] else ""
        statement = select(party_contacts).order_by(party_contacts.c.party)
        if prefix:
            statement = statement.where(party_contacts.c.party.contains(":" + prefix))
        with self.db.connect() as conn:
            rows = [dict(row._mapping) for row in conn.execute(statement)]
        placed = [row for row in rows if is_ascii_digits(place := row["party"].rsplit(":", 1)[-1])
                  and place.startswith(prefix)]
        return [{**row, "channels": json.loads(row["channels"])} for row in placed[:query["limit"]]]

    @command_rpc
    def inbox(self, party, limit=100):
        """The in-app inbox of a party (read by the gateway)."""
        statement = (select(inbox_messages).where(inbox_messages.c.party == party)
                     .order_by(inbox_messages.c.created_at.desc()).limit(min(int(limit), 1000)))
        with self.db.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(statement)]

    # -- referrals -----------------------------------------------------------------------
    def _referral(self, name: str, schema: str, payload, actor) -> dict:
        data, meta = load_or_refuse(SCHEMAS[schema], payload), self._meta(actor)
        if name == "create":
            data["referral_id"] = data["referral_id"] or h.new_id("rf")
        command = referral_from_request(name, data, at=self.db.clock.now(), department=meta.actor.department,
                                        user=meta.actor.user)
        state = self._retrying(lambda uow: h.referral_command(uow, self.rules.context, command, meta), name)
        log.info("referral command accepted", command=name, referral_id=state.referral_id, status=state.status)
        return REFERRAL_VIEW.dump(state)

    @command_rpc
    def create_referral(self, payload, actor):
        return self._referral("create", "create", payload, actor)

    @command_rpc
    def accept_referral(self, payload, actor):
        return self._referral("accept", "accept", payload, actor)

    @command_rpc
    def record_referral_action(self, payload, actor):
        return self._referral("act", "act", payload, actor)

    @command_rpc
    def close_referral(self, payload, actor):
        return self._referral("close", "close_referral", payload, actor)

    @command_rpc
    def list_referrals(self, filters=None):
        """The obligation ledger for the joint meeting: by department (owing/owed), division,
        status (open, overdue, closed), or due before a date."""
        query = load_or_refuse(SCHEMAS["referrals"], filters or {})
        conditions = {"open": [referrals.c.status != "closed"], "closed": [referrals.c.status == "closed"],
                      "overdue": [referrals.c.status != "closed", referrals.c.overdue.is_(True)],
                      "any": []}[query["status"]]
        if query["department"]:
            owing, owed = referrals.c.to_department == query["department"], referrals.c.from_department == query["department"]
            conditions.append({"owing": owing, "owed": owed, "either": owing | owed}[query["side"]])
        if query["division_code"]:
            conditions.append(referrals.c.division_code.startswith(significant_prefix(query["division_code"])))
        if query["due_before"]:
            conditions.append(referrals.c.due_on < query["due_before"].isoformat())
        statement = (select(referrals).where(and_(True, *conditions)).order_by(referrals.c.due_on)
                     .limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(statement)]

    # -- time ----------------------------------------------------------------------------
    @configured_timer("NOTIFICATIONS.sweep_interval_seconds", 60)
    def sweep_on_timer(self):
        with self.db.exclusively("sweep") as mine:
            if mine:       # another replica holds it: that one does this tick's work
                self.sweep()

    @command_rpc
    def sweep(self):
        """Escalate alerts past their deadline, re-route alerts whose policy changed, mark
        overdue referrals, alert on silent devices. Returns how many of each."""
        meta, ctx = self._meta(), self.rules.context
        counts = {}
        for name, step in (("escalated", h.escalate_due), ("rerouted", h.reroute_changed),
                           ("referrals_overdue", h.mark_overdue_referrals), ("devices_silent", h.detect_silent_devices)):
            counts[name] = 0
            while done := self._retrying(lambda uow: step(uow, ctx, self.db.clock.now(), meta), name):
                counts[name] += done
                if done < h.SWEEP_PAGE:
                    break
        if any(counts.values()):
            log.info("sweep", **counts)
        return counts

    @configured_timer("NOTIFICATIONS.delivery_interval_seconds", 2)
    def deliver_on_timer(self):
        with self.db.exclusively("deliver") as mine:
            if mine:       # another replica holds it: that one does this tick's work
                self.deliver_due()

    @command_rpc
    def deliver_due(self):
        """One delivery round: attempts due now, their channels called, results recorded."""
        config = settings(self.container_config)
        counts = h.deliver_due(self.db.unit_of_work, self.rules.context, self.rules.channels, self.db.clock.now,
                               self._meta(), limit=int(config.get("delivery_batch_size", 200)),
                               concurrency=int(config.get("delivery_concurrency", 20)))
        if counts["attempted"]:
            log.info("delivery round", **counts)
        return counts

    @property
    def container_config(self):
        return self.rules.container.config

    @command_rpc
    def delivery_readiness(self):
        """What this deployment cannot deliver: channels without a gateway, and the parties
        an open ``contact_unreachable`` alert names (no working channel on record)."""
        from services.notifications.adapters.channels import unconfigured_channels
        from services.notifications.rules import unreachable_parties
        parties = unreachable_parties(self.db.engine)
        return {"unconfigured_channels": unconfigured_channels(settings(self.container_config)),
                "unreachable_parties": len(parties), "examples": parties[:5]}

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)
