"""Command handlers: one unit of work each. Load the stream, let the domain decide,
append the events (the directory projection is updated in the same transaction)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

import structlog
from sqlalchemy import select

from contracts.privacy import PrivacyPolicy
from kernel import personal
from kernel.catalogue import EventCatalogue
from kernel.envelope import format_time
from kernel.ids import new_event_ids
from kernel.envelope import CommandMeta, Envelope  # noqa: F401 - CommandMeta re-exported
from kernel.errors import CommandRejected, ConcurrencyError, ConflictError, NotFoundError, ValidationError
from kernel.logging import bind
from kernel.uow import UnitOfWork
from services.registry.adapters.divisions import DivisionTable
from services.registry.adapters.event_mapping import event_from_envelope, forget_decoded, to_pending
from services.registry.adapters.tables import elders
from services.registry.domain import (CorrectDetails, ElderCommand, EraseElder, ElderState, MergeRecords, PolicyBook,
                                      RecordFacilityEntry, RecordFacilityExit, RecordMove, RegisterElder,
                                      UnmergeRecords, decide,
                                      decide_survivor_side, evolve_all, fold, fold_as_of)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RegistryContext:
    """What every registry handler needs besides the unit of work."""

    catalogue: EventCatalogue
    policies: PolicyBook
    divisions: DivisionTable
    privacy: PrivacyPolicy = field(default_factory=PrivacyPolicy.load)


def load_elder(source, elder_id: str, catalogue: EventCatalogue) -> ElderState:
    """The elder's current state from a unit of work (inside its transaction) or a store."""
    return fold(elder_id, [event_from_envelope(e, catalogue) for e in source.read_stream(elder_id)])


def execute(uow: UnitOfWork, ctx: RegistryContext, command: ElderCommand, meta: CommandMeta,
            today: date) -> ElderState:
    """Run one command; returns the elder's state after it. Raises (writing nothing) if refused."""
    bind(elder_id=command.elder_id)
    _check_places(ctx.divisions, command)
    _check_resident_id_free(uow, command)
    state = load_elder(uow, command.elder_id, ctx.catalogue)
    events = decide(state, command, ctx.policies, today)
    after = evolve_all(state, events)
    pending = [to_pending(e, ctx.catalogue, actor=meta.actor, jurisdiction=after.division_code,
                          correlation_id=meta.correlation_id, causation_id=meta.causation_id)
               for e in events]
    expected = {command.elder_id: state.version}
    if isinstance(command, (MergeRecords, UnmergeRecords)):
        pending, expected = _with_survivor_side(uow, ctx, command, meta, state, pending, expected)
    if isinstance(command, EraseElder):
        pending = _erase_personal_data(uow, ctx, command, meta, pending)
    if pending:
        uow.append(pending, expected)
    return after


def _erase_personal_data(uow: UnitOfWork, ctx: RegistryContext, command: EraseElder, meta: CommandMeta,
                         pending: list) -> list:
    """Destroy the elder's data key before the erasure event is appended (same transaction):
    the directory then folds the stream to ``[erased]`` values, and the answers kept for
    redelivered commands that quote the elder are forgotten."""
    if not (meta.actor.role == "system" and command.legal_ground == "retention_expired"):
        ctx.privacy.in_force(command.effective_date).check_may_erase(meta.actor.role)
    [event] = pending
    event = replace(event, id=new_event_ids(1)[0])
    personal.erase(uow.conn, command.elder_id, event.id, format_time(uow.now()))
    personal.drop_command_answers_naming(uow.conn, command.elder_id)
    forget_decoded()
    return [event]


def due_for_retention(conn, ctx: RegistryContext, today: date, limit: int = 500) -> list[tuple[str, str, int]]:
    """Deceased elders whose personal fields the privacy policy keeps no longer
    (``retention.deceased_elder_years`` after death), not yet erased: (elder_id, died_on, years)."""
    from kernel.schema import personal_keys
    years = ctx.privacy.in_force(today).retention.get("deceased_elder_years")
    if years is None:
        return []
    cutoff = today.replace(year=today.year - years) if not (today.month == 2 and today.day == 29) \
        else today.replace(year=today.year - years, day=28)
    erased = select(personal_keys.c.person_id).where(personal_keys.c.erased_at.is_not(None))
    rows = conn.execute(select(elders.c.elder_id, elders.c.died_on).where(
        elders.c.record_status == "deceased", elders.c.died_on <= cutoff.isoformat(),
        elders.c.elder_id.not_in(erased)).order_by(elders.c.died_on).limit(limit)).all()
    return [(row.elder_id, row.died_on, years) for row in rows]


def _with_survivor_side(uow, ctx, command, meta, duplicate: ElderState, pending, expected):
    survivor_id = command.survivor_id if isinstance(command, MergeRecords) else duplicate.merged_into
    survivor = load_elder(uow, survivor_id, ctx.catalogue)
    if not survivor.is_registered:
        raise NotFoundError(f"survivor record {survivor_id!r} does not exist", field="survivor_id")
    survivor_events = decide_survivor_side(survivor, command)
    pending = pending + [to_pending(e, ctx.catalogue, actor=meta.actor, jurisdiction=survivor.division_code,
                                    correlation_id=meta.correlation_id, causation_id=meta.causation_id)
                         for e in survivor_events]
    return pending, {**expected, survivor_id: survivor.version}


def _check_places(divisions: DivisionTable, command: ElderCommand) -> None:
    if isinstance(command, (RegisterElder, RecordMove)):
        problems = divisions.problems(command.division_code)
        if problems:
            raise ValidationError({"division_code": problems})


def _check_resident_id_free(uow: UnitOfWork, command: ElderCommand) -> None:
    resident_id = (command.resident_id if isinstance(command, RegisterElder)
                   else command.changes.get("resident_id") if isinstance(command, CorrectDetails) else None)
    if not resident_id:
        return
    holder = uow.conn.execute(select(elders.c.elder_id).where(
        elders.c.resident_id == resident_id, elders.c.elder_id != command.elder_id,
        elders.c.record_status != "merged")).scalar()
    if holder:
        raise ConflictError(f"resident ID {resident_id} is already registered as elder {holder}; "
                            "merge the records instead of registering twice", field="resident_id")


def elder_as_of(store, ctx: RegistryContext, elder_id: str, on: date, known_at=None) -> ElderState:
    """The record as in effect on local date ``on`` — as known now, or as recorded by ``known_at``."""
    envelopes = store.read_stream(elder_id, recorded_until=known_at)
    state = fold_as_of(elder_id, [event_from_envelope(e, ctx.catalogue) for e in envelopes], on)
    if not state.is_registered:
        raise NotFoundError(f"no elder {elder_id!r} was registered by {on}", field="elder_id")
    return state


def record_residence(uow: UnitOfWork, ctx: RegistryContext, event: Envelope, meta: CommandMeta,
                     today: date) -> ElderState | None:
    """Record where the elder lives from a facilities admission, transfer or discharge.

    Facilities only admits elders it saw registered and alive, but the two services learn
    facts at different times: a record closed (death, merge) before the event arrived is
    left as it is, with a warning — redelivering cannot change that answer. A concurrent
    write to the same elder is raised, so the consumer applies the event again."""
    command = _residence_command(event)
    try:
        return execute(uow, ctx, command, meta, today)
    except ConcurrencyError:
        raise
    except (CommandRejected, NotFoundError, ConflictError) as refused:
        log.warning("facility event not applied to the elder's record", event_id=event.id,
                    event_type=event.type, elder_id=command.elder_id, field=refused.field, reason=refused.message)
        return None


def _residence_command(event: Envelope) -> ElderCommand:
    data = event.data
    common = dict(elder_id=data["elder_id"], effective_date=date.fromisoformat(data["effective_date"]),
                  facility_id=event.subject)
    if event.type == "facilities.elder_discharged.v1":
        return RecordFacilityExit(**common, reason=data["reason"])
    return RecordFacilityEntry(**common, facility_division_code=data["division_code"],
                               admission_kind=data["admission_kind"], from_facility_id=data.get("from_facility_id"))
