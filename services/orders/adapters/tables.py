"""Orders' own tables: the orders (a row per order, written in the unit of work that appends
its events), what orders knows of elders and facilities (kept from the registry's and
facilities' events, never their databases), each facility's load per service and day, and
the meals delivered per elder and month."""
from sqlalchemy import Boolean, Column, Index, Integer, MetaData, String, Table

orders_metadata = MetaData()

orders = Table(
    "orders", orders_metadata,
    Column("order_id", String(64), primary_key=True),
    Column("elder_id", String(64), nullable=False),
    Column("division_code", String(12), nullable=False),
    Column("service_kind", String(16), nullable=False),
    Column("service_date", String(10), nullable=False),
    Column("caller", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("facility_id", String(64)),            # offered to / accepted by; empty while unrouted
    Column("accept_by", String(32), nullable=False),
    Column("unaccepted", Boolean, nullable=False),
    Column("delivered_on", String(10)),
    Column("version", Integer, nullable=False),
)
Index("ix_orders_facility", orders.c.facility_id, orders.c.status, orders.c.service_date)
Index("ix_orders_waiting", orders.c.status, orders.c.accept_by)
Index("ix_orders_elder", orders.c.elder_id)

order_elders = Table(
    "order_elders", orders_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("division_code", String(12), nullable=False),
    Column("record_status", String(16), nullable=False),   # active | deceased | merged
    Column("version", Integer, nullable=False),            # the registry stream's, applied up to
)

order_facilities = Table(
    "order_facilities", orders_metadata,
    Column("facility_id", String(64), primary_key=True),
    Column("division_code", String(12), nullable=False),
    Column("county_code", String(6), nullable=False),
    Column("name", String(128), nullable=False),
    Column("in_operation", Boolean, nullable=False),
    Column("version", Integer, nullable=False),            # the facility stream's, applied up to
)

home_offers = Table(
    "home_offers", orders_metadata,
    Column("facility_id", String(64), primary_key=True),
    Column("service_kind", String(16), primary_key=True),
    Column("county_code", String(6), nullable=False),
    Column("daily_capacity", Integer, nullable=False),
)
Index("ix_home_offers_county", home_offers.c.county_code, home_offers.c.service_kind)

daily_load = Table(
    "daily_load", orders_metadata,
    Column("facility_id", String(64), primary_key=True),
    Column("service_kind", String(16), primary_key=True),
    Column("service_date", String(10), primary_key=True),
    Column("taken", Integer, nullable=False),              # orders offered or accepted, not declined
)

meals_delivered = Table(
    "meals_delivered", orders_metadata,
    Column("elder_id", String(64), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("division_code", String(12), nullable=False),
    Column("meals", Integer, nullable=False),
)
Index("ix_meals_delivered_month", meals_delivered.c.month, meals_delivered.c.division_code)
