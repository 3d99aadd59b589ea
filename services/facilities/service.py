"""The facilities service: facilities, star ratings, capacity, admissions and lifecycle,
over nameko RPC.

Every command takes ``payload`` (validated by its schema) and ``actor`` (department, user,
role); a refused command raises a clear error naming the field and writes nothing.
Facilities knows elders only from the registry's events (``on_registry_event``); the
registry learns residences from this service's admission events.
"""
from __future__ import annotations

import structlog

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from contracts.services import SEALING_SERVICES, FACILITIES
from kernel.consumer import durable_event_handler
from kernel.envelope import Actor, CommandMeta
from kernel.errors import CommandRejected, ConflictError, NotFoundError
from kernel.providers import (CallContext, CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase,
                              ping_answer)
from kernel.rpc import command_rpc
from kernel.trace import events_about
from kernel.witness import checkpoint_witness
from kernel.uow import retry_on_concurrency
from kernel.validation import load_or_refuse, refuse_future_known_at
from services.facilities.adapters import queries
from services.facilities.domain import AssessOperatingSubsidy
from services.facilities.handlers import apply_registry_fact, execute, facility_as_of, load_facility
from services.facilities.rules import FacilitiesRules, facilities_projections
from contracts.facilities_rpc import AsOfSchema, DivisionSchema, FacilityView, SearchSchema, YearSchema
from services.facilities.schemas import COMMAND_SCHEMAS

log = structlog.get_logger(__name__)
FACILITY_VIEW = FacilityView()
ACTOR_SCHEMA, AS_OF_SCHEMA, SEARCH_SCHEMA = ActorSchema(), AsOfSchema(), SearchSchema()
DIVISION_SCHEMA, YEAR_SCHEMA = DivisionSchema(), YearSchema()
SYSTEM_ACTOR = Actor.system("facilities")


class FacilitiesService(checkpoint_witness(SEALING_SERVICES, own="facilities")):
    name = "facilities"

    db = ServiceDatabase(CATALOGUE, projections=facilities_projections)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()
    rules = FacilitiesRules()
    call = CallContext()
    log = LoggingContext()

    def _run(self, command_name: str, payload, actor) -> dict:
        command = load_or_refuse(COMMAND_SCHEMAS[command_name], payload)
        meta = CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)
        state = self._execute(command, meta)
        log.info("command accepted", command=command_name, facility_id=command.facility_id,
                 department=meta.actor.department, user=meta.actor.user, version=state.version)
        return FACILITY_VIEW.dump(state)

    def _execute(self, command, meta: CommandMeta):
        """One unit of work; when another command on the same facility (or admitting the
        same elder) committed between our read and our append, decide again on the new
        state — of two admissions racing for the last free bed, one is refused as full."""
        def attempt():
            with self.db.unit_of_work() as uow:
                return execute(uow, self.rules, command, meta, self.db.clock.today())
        return retry_on_concurrency(attempt)

    # -- commands ------------------------------------------------------------------------
    @command_rpc
    def open_facility(self, payload, actor):
        return self._run("open_facility", payload, actor)

    @command_rpc
    def change_details(self, payload, actor):
        return self._run("change_details", payload, actor)

    @command_rpc
    def change_capacity(self, payload, actor):
        return self._run("change_capacity", payload, actor)

    @command_rpc
    def rate_facility(self, payload, actor):
        """Award or change the star rating; grants the level's one-time award the first time."""
        return self._run("rate_facility", payload, actor)

    @command_rpc
    def suspend_facility(self, payload, actor):
        return self._run("suspend_facility", payload, actor)

    @command_rpc
    def reinstate_facility(self, payload, actor):
        return self._run("reinstate_facility", payload, actor)

    @command_rpc
    def merge_facility(self, payload, actor):
        """Merge ``facility_id`` into ``survivor_id``; its residents move there. Answers the merged facility."""
        return self._run("merge_facility", payload, actor)

    @command_rpc
    def close_facility(self, payload, actor):
        return self._run("close_facility", payload, actor)

    @command_rpc
    def admit_elder(self, payload, actor):
        return self._run("admit_elder", payload, actor)

    @command_rpc
    def discharge_elder(self, payload, actor):
        return self._run("discharge_elder", payload, actor)

    @command_rpc
    def transfer_elder(self, payload, actor):
        """Move a resident to ``to_facility_id``. Answers the facility they left."""
        return self._run("transfer_elder", payload, actor)

    @command_rpc
    def declare_home_services(self, payload, actor):
        """The home services offered to elders at home and each one's daily capacity (orders routes by it)."""
        return self._run("declare_home_services", payload, actor)

    @command_rpc
    def assess_operating_subsidy(self, payload, actor):
        return self._run("assess_operating_subsidy", payload, actor)

    @command_rpc(idempotent=True)      # spans transactions; running it again resumes or does nothing
    def assess_operating_subsidies(self, payload, actor):
        """Assess every facility in operation for ``year``'s operating subsidy on
        ``effective_date`` (default today). Idempotent: a facility qualifies once a year.
        Answers how many qualified now; the amounts are in the grant events."""
        query, meta = load_or_refuse(YEAR_SCHEMA, payload), CommandMeta(load_or_refuse(ACTOR_SCHEMA, actor), **self.call)
        on, outcome = query["effective_date"] or self.db.clock.today(), {"eligible": 0, "not_eligible": 0}
        for facility_id in self._all_in_operation():
            try:
                self._execute(AssessOperatingSubsidy(facility_id, on, query["year"]), meta)
                outcome["eligible"] += 1
            except (CommandRejected, ConflictError):   # not eligible, or qualified already
                outcome["not_eligible"] += 1
        log.info("operating subsidies assessed", year=query["year"], **outcome)
        return outcome

    def _all_in_operation(self):
        after = ""
        while True:
            with self.db.connect() as conn:
                batch = queries.facility_ids_in_operation(conn, after)
            if not batch:
                return
            yield from batch
            after = batch[-1]

    # -- registry facts ----------------------------------------------------------------
    @durable_event_handler(*FACILITIES.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        """Keep facilities' own view of elders (known, division, deceased, merged)."""
        apply_registry_fact(uow, self.rules, event, CommandMeta(SYSTEM_ACTOR, **self.call), self.db.clock.today())

    # -- queries -----------------------------------------------------------------------
    @command_rpc
    def ping(self):
        """Liveness over RPC: answers once the service consumes its queue."""
        return ping_answer(self.name, self.db)

    @command_rpc
    def get_facility(self, facility_id):
        state = load_facility(self.db.store, facility_id, CATALOGUE)
        if not state.exists:
            raise NotFoundError(f"no facility {facility_id!r}", field="facility_id")
        return FACILITY_VIEW.dump(state)

    @command_rpc
    def get_facility_as_of(self, facility_id, on, known_at=None):
        """The facility in effect on local date ``on`` (e.g. its star rating then); with
        ``known_at`` (UTC ISO time) as it was recorded by then."""
        query = load_or_refuse(AS_OF_SCHEMA, {"on": on, "known_at": known_at})
        refuse_future_known_at(query["known_at"], self.db.clock.now())
        return FACILITY_VIEW.dump(facility_as_of(self.db.store, self.rules, facility_id, query["on"], query["known_at"]))

    @command_rpc
    def search_facilities(self, filters=None):
        query = load_or_refuse(SEARCH_SCHEMA, filters or {})
        with self.db.connect() as conn:
            return queries.search(conn, query)

    @command_rpc
    def facility_statistics(self, division_code=None):
        """Per kind under a division: facilities in operation, beds, residents, occupancy rate, stars."""
        query = load_or_refuse(DIVISION_SCHEMA, {"division_code": division_code})
        with self.db.connect() as conn:
            return queries.statistics(conn, query["division_code"])

    @command_rpc
    def facility_residents(self, facility_id):
        with self.db.connect() as conn:
            return queries.residents_of(conn, facility_id)

    @command_rpc
    def elder_stays(self, elder_id):
        """Every stay of an elder in any facility, oldest first (the current one has no ``left_on``)."""
        with self.db.connect() as conn:
            return queries.stays_of(conn, elder_id)

    @command_rpc
    def elder_events(self, elder_id):
        """Every event of this log naming the elder (admissions, discharges, transfers), for
        the gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc
    def facility_history(self, facility_id):
        """Every event of the facility's stream in wire form (for the timeline and auditors)."""
        return [e.to_wire() for e in self.db.store.read_stream(facility_id)]

