"""What facilities knows about elders: its own view kept from the registry's events
(``known_elders``) and where each elder holds an admission (``residences``)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from kernel.envelope import Envelope
from services.facilities.adapters.tables import known_elders, residences
from services.facilities.domain import AdmissionKind, KnownElder, Residence

def _changes(envelope: Envelope) -> dict:
    data = envelope.data
    return {
        "registry.elder_registered.v1": lambda: {"division_code": data["division_code"], "record_status": "active"},
        "registry.elder_moved.v1": lambda: {"division_code": data["division_code"]},
        "registry.elder_died.v1": lambda: {"record_status": "deceased", "died_on": data["effective_date"]},
        "registry.record_merged_into.v1": lambda: {"record_status": "merged", "merged_into": data["survivor_id"]},
        "registry.record_unmerged.v1": lambda: {"record_status": "active", "merged_into": None},
        # Facilities keeps no personal data about elders (place and status only).
        "registry.elder_erased.v1": lambda: {},
    }[envelope.type]()


def record_registry_fact(conn: Connection, envelope: Envelope) -> bool:
    """Apply one registry event to the view; False if it was already applied (the view keeps
    the registry's stream version, so a replay from another relay changes nothing either)."""
    current = conn.execute(select(known_elders.c.version).where(known_elders.c.elder_id == envelope.subject)).scalar()
    if current is not None and envelope.sequence <= current:
        return False
    changes = {**_changes(envelope), "version": envelope.sequence}
    if current is None:
        # Any registry event means the elder was registered; if the registration itself
        # was missed (published before this queue existed), the record starts here.
        conn.execute(insert(known_elders).values(elder_id=envelope.subject, **{
            "division_code": envelope.jurisdiction, "record_status": "active", "died_on": None,
            "merged_into": None, **changes}))
    else:
        conn.execute(update(known_elders).where(known_elders.c.elder_id == envelope.subject).values(**changes))
    return True


def known_elder(conn: Connection, elder_id: str) -> KnownElder | None:
    row = conn.execute(select(known_elders).where(known_elders.c.elder_id == elder_id)).first()
    if row is None:
        return None
    return KnownElder(elder_id=row.elder_id, division_code=row.division_code,
                      deceased=row.record_status == "deceased",
                      died_on=date.fromisoformat(row.died_on) if row.died_on else None,
                      merged_into=row.merged_into)


def current_residence(conn: Connection, elder_id: str) -> Residence | None:
    row = conn.execute(select(residences).where(residences.c.elder_id == elder_id,
                                                residences.c.left_on.is_(None))).first()
    if row is None:
        return None
    return Residence(row.elder_id, row.facility_id, AdmissionKind(row.admission_kind),
                     date.fromisoformat(row.admitted_on))


def last_moved_on(conn: Connection, elder_id: str) -> date | None:
    """The latest admission or discharge date of the elder, anywhere."""
    latest = conn.execute(select(func.max(func.coalesce(residences.c.left_on, residences.c.admitted_on)))
                          .where(residences.c.elder_id == elder_id)).scalar()
    return date.fromisoformat(latest) if latest else None
