"""The facilities service's own tables (only facilities reads them).

``facilities`` and ``residences`` are projections of the facilities log (rebuildable with
``eldercare rebuild facilities``). ``known_elders`` is the service's view of elders, kept
from the registry's events by the durable consumer — never read from the registry's database.
"""
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, text

facilities_metadata = MetaData()

facilities = Table(
    "facilities", facilities_metadata,
    Column("facility_id", String(64), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("operating_model", String(40), nullable=False),
    Column("operator", String(128), nullable=False),
    Column("services", Text, nullable=False),            # comma-separated
    Column("status", String(16), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("occupancy", Integer, nullable=False),
    Column("stars", Integer),
    Column("opened_on", String(10), nullable=False),
    Column("closed_on", String(10)),
    Column("merged_into", String(64)),
    Column("version", Integer, nullable=False),
)
Index("ix_facilities_division", facilities.c.division_code)
Index("ix_facilities_kind", facilities.c.kind)

# One row per stay: admitted (or transferred in) until discharged (or transferred out).
residences = Table(
    "residences", facilities_metadata,
    Column("stay_id", String(36), primary_key=True),      # id of the event that began the stay
    Column("elder_id", String(64), nullable=False),
    Column("facility_id", String(64), nullable=False),
    Column("admission_kind", String(32), nullable=False),
    Column("admitted_on", String(10), nullable=False),
    Column("left_on", String(10)),
    Column("left_reason", Text),
)
Index("ix_residences_facility", residences.c.facility_id, residences.c.left_on)
# At most one current stay per elder, enforced by the database: two admissions of one
# elder to two facilities racing each other cannot both commit.
Index("ux_residences_current_stay", residences.c.elder_id, unique=True,
      sqlite_where=text("left_on IS NULL"), postgresql_where=text("left_on IS NULL"))

known_elders = Table(
    "known_elders", facilities_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("division_code", String(12), nullable=False),
    Column("record_status", String(16), nullable=False),   # active | deceased | merged
    Column("died_on", String(10)),
    Column("merged_into", String(64)),
    Column("version", Integer, nullable=False),             # registry stream sequence applied
)
