"""Survey campaigns' own tables: each campaign and its task list (one row per elder to
survey, with the visit's outcome once recorded). Written in the unit of work that appends
the campaign's events."""
from sqlalchemy import Column, Index, Integer, MetaData, String, Table

surveys_metadata = MetaData()

campaigns = Table(
    "campaigns", surveys_metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False),
    Column("name", String(128), nullable=False),
    Column("opened_on", String(10), nullable=False),
    Column("deadline", String(10), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
)

survey_tasks = Table(
    "survey_tasks", surveys_metadata,
    Column("campaign_id", String(64), primary_key=True),
    Column("elder_id", String(64), primary_key=True),
    Column("village_code", String(12), nullable=False),
    Column("outcome", String(16)),                 # empty: not surveyed yet
    Column("surveyed_on", String(10)),
    Column("visitor", String(64)),
)
Index("ix_survey_tasks_village", survey_tasks.c.campaign_id, survey_tasks.c.village_code)
