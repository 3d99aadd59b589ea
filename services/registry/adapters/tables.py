"""The registry's read models (its own database; only the registry reads them).

``elders`` is one row per record; ``elder_counts`` is one row per village with the figures
the joint-meeting dashboard shows (kept by the same projection in the same transaction), so a
county's counts add up a few hundred village rows instead of scanning every elder."""
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

# Per village: active, left-behind, key targets (and by reason), in hospital, deceased.
ELDER_COUNT_COLUMNS = ("active", "left_behind", "key_target", "hospitalised", "deceased", "key_target_hard_up",
                       "key_target_advanced_age", "key_target_disabled", "key_target_living_alone")
elder_counts = Table(
    "elder_counts", registry_metadata,
    Column("division_code", String(12), primary_key=True),
    *[Column(name, Integer, nullable=False) for name in ELDER_COUNT_COLUMNS],
)
