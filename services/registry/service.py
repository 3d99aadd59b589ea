"""The registry service: civil affairs' information ledger of elders, over nameko RPC.

Every command takes ``payload`` (validated by its schema) and ``actor`` (department, user,
role); a refused command raises a clear error naming the field and writes nothing.
Answers are plain dicts (``ElderView``). The status timer derives left-behind and
key-target changes on the day they fall due, with no new input.
"""
from __future__ import annotations


import structlog
from sqlalchemy import and_, select

from contracts import CATALOGUE
from contracts.services import SEALING_SERVICES, REGISTRY
from contracts.actors import ActorSchema
from kernel import personal
from kernel.consumer import durable_event_handler
from kernel.envelope import Actor
from kernel.errors import NotFoundError
from kernel.providers import (
    CallContext,
    CheckpointSealer,
    LoggingContext,
    OutboxRelayRunner,
    ServiceDatabase,
    configured_timer,
    ping_answer,
)
from kernel.divisions import significant_prefix
from kernel.rpc import command_rpc
from kernel.uow import retry_on_concurrency
from kernel.trace import events_about
from kernel.witness import checkpoint_witness
from kernel.validation import load_or_refuse, refuse_future_known_at
from services.registry.adapters.tables import elders
from services.registry.checks import check_registrations
from services.registry.domain import EvaluateStatus
from services.registry.handlers import (CommandMeta, due_for_retention, elder_as_of, execute, load_elder,
                                        record_residence)
from services.registry.rules import RegistryRules, registry_projections
from services.registry.queries import DIVISION_SCHEMA, QUARTER_SCHEMA, division_counts, quarterly_figures
from contracts.registry_rpc import AsOfSchema, CheckRegistrationsSchema, ElderView, SearchSchema
from services.registry.schemas import COMMAND_SCHEMAS

log = structlog.get_logger(__name__)
ELDER_VIEW = ElderView()
ACTOR_SCHEMA, AS_OF_SCHEMA, SEARCH_SCHEMA = ActorSchema(), AsOfSchema(), SearchSchema()
CHECK_SCHEMA = CheckRegistrationsSchema()
SYSTEM_ACTOR = Actor.system("registry")


class RegistryService(checkpoint_witness(SEALING_SERVICES, own="registry")):
    name = "registry"

    db = ServiceDatabase(CATALOGUE, projections=registry_projections)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()
    rules = RegistryRules()
    call = CallContext()
    log = LoggingContext()

    def _run(self, command_name: str, payload, actor) -> dict:
        command = load_or_refuse(COMMAND_SCHEMAS[command_name], payload)
        meta = CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)
        state = self._execute(command, meta)
        log.info("command accepted", command=command_name, elder_id=command.elder_id,
                 department=meta.actor.department, user=meta.actor.user, version=state.version)
        return ELDER_VIEW.dump(state)

    def _execute(self, command, meta: CommandMeta):
        """One unit of work, decided again on the new state if another command on the same
        elder committed between our read and our append (kernel.uow.retry_on_concurrency)."""
        def run():
            with self.db.unit_of_work() as uow:
                return execute(uow, self.rules, command, meta, self.db.clock.today())
        return retry_on_concurrency(run)

    @command_rpc
    def register_elder(self, payload, actor):
        return self._run("register_elder", payload, actor)

    @command_rpc
    def correct_details(self, payload, actor):
        return self._run("correct_details", payload, actor)

    @command_rpc
    def record_supporter_left(self, payload, actor):
        return self._run("record_supporter_left", payload, actor)

    @command_rpc
    def record_supporter_returned(self, payload, actor):
        return self._run("record_supporter_returned", payload, actor)

    @command_rpc
    def entrust_carer(self, payload, actor):
        return self._run("entrust_carer", payload, actor)

    @command_rpc
    def assess_self_care(self, payload, actor):
        return self._run("assess_self_care", payload, actor)

    @command_rpc
    def change_support_status(self, payload, actor):
        return self._run("change_support_status", payload, actor)

    @command_rpc
    def record_move(self, payload, actor):
        return self._run("record_move", payload, actor)

    @command_rpc
    def record_hospitalisation(self, payload, actor):
        return self._run("record_hospitalisation", payload, actor)

    @command_rpc
    def record_hospital_discharge(self, payload, actor):
        return self._run("record_hospital_discharge", payload, actor)

    @command_rpc
    def record_death(self, payload, actor):
        return self._run("record_death", payload, actor)

    @command_rpc
    def give_consent(self, payload, actor):
        """The elder's separate consent (e.g. health details shown to the departments named)."""
        return self._run("give_consent", payload, actor)

    @command_rpc
    def withdraw_consent(self, payload, actor):
        return self._run("withdraw_consent", payload, actor)

    @command_rpc
    def merge_records(self, payload, actor):
        return self._run("merge_records", payload, actor)

    @command_rpc
    def unmerge_records(self, payload, actor):
        return self._run("unmerge_records", payload, actor)

    @command_rpc
    def erase_elder(self, payload, actor):
        """Erase the elder's personal data (legal ground, by a role the privacy policy names):
        their key is destroyed, the directory keeps ``[erased]``, and ``registry.elder_erased``
        tells every other service to drop its copies. Answers no personal data (the answer
        is kept for a redelivery of the command)."""
        command = load_or_refuse(COMMAND_SCHEMAS["erase_elder"], payload)
        meta = CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)
        state = self._execute(command, meta)
        personal.purge_freed_pages(self.db.engine)
        log.info("personal data erased", elder_id=command.elder_id, legal_ground=command.legal_ground,
                 department=meta.actor.department, user=meta.actor.user, role=meta.actor.role)
        return {"elder_id": state.elder_id, "erased_on": state.erased_on.isoformat(),
                "legal_ground": command.legal_ground, "version": state.version}

    @configured_timer("REGISTRY.retention_interval_seconds", 86400)
    def apply_retention_on_timer(self):
        with self.db.exclusively("retention") as mine:
            if mine:
                self.apply_retention()

    @command_rpc(idempotent=True)
    def apply_retention(self):
        """Erase the personal data of deceased elders kept longer than the privacy policy's
        ``retention`` (legal ground ``retention_expired``, by the registry itself): each is a
        ``registry.elder_erased`` event. Returns the elder ids erased."""
        from services.registry.domain import EraseElder
        today = self.db.clock.today()
        with self.db.connect() as conn:
            due = due_for_retention(conn, self.rules, today)
        for elder_id, died_on, years in due:
            self._execute(EraseElder(elder_id, today, "retention_expired",
                                     f"retention: died on {died_on}; the policy keeps personal data {years} years"),
                          CommandMeta(SYSTEM_ACTOR, **self.call))
        if due:
            personal.purge_freed_pages(self.db.engine)
            log.info("retention applied", erased=len(due), today=str(today))
        return [elder_id for elder_id, _died, _years in due]

    @command_rpc
    def check_registrations(self, payloads, actor):
        """What ``register_elder`` would answer for each payload, writing nothing (the ledger
        import's dry run): per payload its ``errors`` by field, the elder already holding its
        resident ID (``existing``) and recorded elders it probably duplicates (``similar``)."""
        load_or_refuse(ACTOR_SCHEMA, actor)
        request = load_or_refuse(CHECK_SCHEMA, {"payloads": payloads})
        with self.db.connect() as conn:
            return check_registrations(conn, self.db.store, self.rules, request["payloads"], self.db.clock.today())

    # -- facts reported by other services -----------------------------------------------
    @durable_event_handler(*REGISTRY.consumer("on_facility_event").arguments)
    def on_facility_event(self, event, uow):
        """Admissions, transfers and discharges: which facility the elder is in, and so
        whether they are supported centrally or at home."""
        record_residence(uow, self.rules, event, CommandMeta(SYSTEM_ACTOR, **self.call), self.db.clock.today())

    # -- queries -----------------------------------------------------------------------
    @command_rpc
    def ping(self):
        """Liveness over RPC: answers once the service consumes its queue."""
        return ping_answer(self.name, self.db)

    @command_rpc
    def get_elder(self, elder_id):
        state = load_elder(self.db.store, elder_id, CATALOGUE)
        if not state.is_registered:
            raise NotFoundError(f"no elder {elder_id!r}", field="elder_id")
        return ELDER_VIEW.dump(state)

    @command_rpc
    def get_elder_as_of(self, elder_id, on, known_at=None):
        """The record in effect on local date ``on``; with ``known_at`` (UTC ISO time) as it
        was recorded by then — "what did we believe on date K about date D?"."""
        query = load_or_refuse(AS_OF_SCHEMA, {"on": on, "known_at": known_at})
        refuse_future_known_at(query["known_at"], self.db.clock.now())
        return ELDER_VIEW.dump(elder_as_of(self.db.store, self.rules, elder_id, query["on"], query["known_at"]))

    @command_rpc
    def search_elders(self, filters=None):
        query = load_or_refuse(SEARCH_SCHEMA, filters or {})
        conditions = []
        if query["division_code"]:
            conditions.append(elders.c.division_code.startswith(significant_prefix(query["division_code"])))
        for flag in ("left_behind", "key_target"):
            if query[flag] is not None:
                conditions.append(elders.c[flag] == query[flag])
        if query["name"]:
            conditions.append(elders.c.name.startswith(query["name"], autoescape=True))
        if query["record_status"] != "any":
            conditions.append(elders.c.record_status == query["record_status"])
        statement = (select(elders).where(and_(True, *conditions)).order_by(elders.c.elder_id)
                     .limit(query["limit"]).offset(query["offset"]))
        with self.db.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(statement)]

    @command_rpc
    def division_summary(self, division_code):
        """Counts for the joint meeting: active elders, left-behind, key targets (by reason),
        hospitalised, deceased — for the division and each place one level down."""
        query = load_or_refuse(DIVISION_SCHEMA, {"division_code": division_code})
        with self.db.connect() as conn:
            return division_counts(conn, query["division_code"])

    @command_rpc
    def quarterly_figures(self, division_code, quarter_end, known_at=None):
        """Figures for the quarterly report to the region, replayed as recorded by
        ``known_at`` (UTC ISO; not later than now; default now, to the second, answered as
        ``known_at``) for the state in effect on ``quarter_end`` (a local date)."""
        query = load_or_refuse(QUARTER_SCHEMA, {"division_code": division_code, "quarter_end": quarter_end,
                                                "known_at": known_at})
        now = self.db.clock.now()
        refuse_future_known_at(query["known_at"], now)
        recorded_by = query["known_at"] or now.replace(microsecond=0)
        with self.db.connect() as conn:
            figures = quarterly_figures(conn, self.db.store, CATALOGUE, query["division_code"], query["quarter_end"],
                                        recorded_by)
        return {**figures, "known_at": recorded_by.isoformat()}

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this service's log about the elder (its own stream and any event
        naming it), for the gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc
    def elder_history(self, elder_id):
        """Every event of the elder's stream in wire form (for the timeline and auditors)."""
        return [e.to_wire() for e in self.db.store.read_stream(elder_id)]

    # -- derived status over time -------------------------------------------------------
    @configured_timer("REGISTRY.status_review_interval_seconds", 60)
    def review_statuses_on_timer(self):
        with self.db.exclusively("status-review") as mine:
            if mine:       # another replica holds it: that one does this tick's work
                self.review_statuses()

    @command_rpc
    def review_statuses(self):
        """Derive the status changes that have fallen due by today with no new input.
        Returns how many elders changed."""
        today = self.db.clock.today()
        with self.db.connect() as conn:
            due = conn.execute(select(elders.c.elder_id).where(
                elders.c.next_review_on <= today.isoformat(),
                elders.c.record_status == "active").limit(1000)).scalars().all()
        changed = 0
        for elder_id in due:
            before = self.db.store.stream_version(elder_id)
            state = self._execute(EvaluateStatus(elder_id, today), CommandMeta(SYSTEM_ACTOR, **self.call))
            changed += state.version > before
        if due:
            log.info("status review", due=len(due), changed=changed, today=str(today))
        return changed

