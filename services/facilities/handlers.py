"""Command handlers: one unit of work each. Load the facility's stream (and the other
facility's, for a transfer or merger), gather what the rules need about the elder, let the
domain decide, append to every stream touched with its expected version — the projections
are updated in the same transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError

from kernel.catalogue import EventCatalogue
from kernel.envelope import CommandMeta, Envelope
from kernel.errors import ConcurrencyError, NotFoundError
from kernel.logging import bind
from kernel.uow import UnitOfWork
from services.facilities.adapters import elders
from services.facilities.adapters.event_mapping import event_from_envelope, to_pending
from services.facilities.domain import (AdmitElder, Circumstances, DischargeElder, FacilityCommand, FacilityState,
                                        GrantPolicyBook, MergeFacility, TransferElder, decide, events_for,
                                        evolve_all, fold, fold_as_of)


@dataclass(frozen=True)
class FacilitiesContext:
    """What every facilities handler needs besides the unit of work."""

    catalogue: EventCatalogue
    policies: GrantPolicyBook


def load_facility(source, facility_id: str, catalogue: EventCatalogue) -> FacilityState:
    """The facility's current state from a unit of work (inside its transaction) or a store."""
    return fold(facility_id, [event_from_envelope(e, catalogue) for e in source.read_stream(facility_id)])


def execute(uow: UnitOfWork, ctx: FacilitiesContext, command: FacilityCommand, meta: CommandMeta,
            today: date) -> FacilityState:
    """Run one command; returns the facility's state after it. Raises (writing nothing) if refused."""
    bind(facility_id=command.facility_id, elder_id=getattr(command, "elder_id", None))
    states = {command.facility_id: load_facility(uow, command.facility_id, ctx.catalogue)}
    other_id = _other_facility_id(command)
    if other_id and other_id != command.facility_id:
        states[other_id] = load_facility(uow, other_id, ctx.catalogue)
    events = decide(states[command.facility_id], command, _circumstances(uow, ctx, command, states, other_id, today))
    pending, expected = _pending_by_stream(ctx, states, events, meta)
    if pending:
        _append(uow, pending, expected, command)
    return evolve_all(states[command.facility_id], events_for(command.facility_id, events))


def _pending_by_stream(ctx: FacilitiesContext, states: dict[str, FacilityState], events, meta: CommandMeta):
    """The events to append and the version each touched stream must still be at. This
    facility's events come first, then the other's: decision order (a transfer's "out"
    before its "in"; a merger's "merged" before the survivor's arrivals)."""
    pending, expected = [], {}
    for facility_id, before in states.items():
        own = events_for(facility_id, events)
        if not own:
            continue
        jurisdiction = evolve_all(before, own).division_code     # an opening sets it
        expected[facility_id] = before.version
        pending += [to_pending(e, ctx.catalogue, actor=meta.actor, jurisdiction=jurisdiction,
                               correlation_id=meta.correlation_id, causation_id=meta.causation_id) for e in own]
    return pending, expected


def _other_facility_id(command: FacilityCommand) -> str | None:
    if isinstance(command, TransferElder):
        return command.to_facility_id
    if isinstance(command, MergeFacility):
        return command.survivor_id
    return None


def _circumstances(uow, ctx, command, states, other_id, today) -> Circumstances:
    other = states.get(other_id) if other_id else None
    if not isinstance(command, AdmitElder):
        return Circumstances(today, ctx.policies, other=other)
    conn = uow.conn
    return Circumstances(today, ctx.policies, elder=elders.known_elder(conn, command.elder_id),
                         residence=elders.current_residence(conn, command.elder_id),
                         elder_last_moved_on=elders.last_moved_on(conn, command.elder_id), other=other)


def _append(uow: UnitOfWork, pending, expected, command) -> None:
    try:
        uow.append(pending, expected)
    except IntegrityError as exc:
        # The one-current-stay index: the same elder was admitted elsewhere by a command
        # that committed after we looked. Deciding again sees it and refuses clearly.
        # Any other integrity failure is a fault, not a race: let it through.
        if not isinstance(command, (AdmitElder, TransferElder, MergeFacility)):
            raise
        raise ConcurrencyError(f"current stay of elder {getattr(command, 'elder_id', '(merger)')}", 0, 1) from exc


def facility_as_of(store, ctx: FacilitiesContext, facility_id: str, on: date, known_at=None) -> FacilityState:
    """The facility as in effect on local date ``on`` — as known now, or as recorded by ``known_at``."""
    envelopes = store.read_stream(facility_id, recorded_until=known_at)
    state = fold_as_of(facility_id, [event_from_envelope(e, ctx.catalogue) for e in envelopes], on)
    if not state.exists:
        raise NotFoundError(f"no facility {facility_id!r} was open by {on}", field="facility_id")
    return state


def apply_registry_fact(uow: UnitOfWork, ctx: FacilitiesContext, event: Envelope, meta: CommandMeta,
                        today: date) -> None:
    """A registry event consumed: update the view of elders; a resident who died is
    discharged (their place is free from the day of death, or the facility's latest
    recorded change if that is later — facts are never backdated before it)."""
    bind(elder_id=event.subject)
    if not elders.record_registry_fact(uow.conn, event) or event.type != "registry.elder_died.v1":
        return
    residence = elders.current_residence(uow.conn, event.subject)
    if residence is None:
        return
    facility = load_facility(uow, residence.facility_id, ctx.catalogue)
    died_on = date.fromisoformat(event.data["effective_date"])
    on = max(d for d in (died_on, facility.last_changed_on, residence.since) if d is not None)
    execute(uow, ctx, DischargeElder(residence.facility_id, on, event.subject, f"died on {died_on} (registry)"),
            meta, today)
