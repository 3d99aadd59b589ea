"""The registry's read models (its own database; only the registry reads them)."""
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table

registry_metadata = MetaData()

elders = Table(
    "elders", registry_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("resident_id", String(18), nullable=False),
    Column("name", String(64), nullable=False),
    Column("sex", String(8), nullable=False),
    Column("birth_date", String(10), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("township_code", String(9), nullable=False),
    Column("record_status", String(16), nullable=False),
    Column("left_behind", Boolean, nullable=False),
    Column("left_behind_since", String(10)),
    Column("key_target", Boolean, nullable=False),
    Column("key_target_reasons", String(128), nullable=False),
    Column("self_care_level", String(32), nullable=False),
    Column("lives_alone", Boolean, nullable=False),
    Column("hospitalised", Boolean, nullable=False),
    Column("supporters_total", Integer, nullable=False),
    Column("supporters_away", Integer, nullable=False),
    Column("died_on", String(10)),
    Column("merged_into", String(64)),
    Column("next_review_on", String(10)),
    Column("version", Integer, nullable=False),
)
Index("ix_elders_resident_id", elders.c.resident_id)
Index("ix_elders_division", elders.c.division_code)
Index("ix_elders_next_review", elders.c.next_review_on)
