"""The accounts service's own tables (only accounts reads them).

Projections of the log, rebuildable (``eldercare rebuild accounts``): ``people``,
``grants``, ``sessions``, ``api_tokens``, ``sign_in_failures``, ``address_throttles``,
``department_changes``.

Not projections: ``credentials`` holds the secrets the events name by ``credential_id``
(argon2id password hashes, one-time reset links and session/token secrets as SHA-256
digests, TOTP secrets sealed with AES-GCM, and the time step of the last code accepted),
written in the transaction of the event that names them and never published; ``session_activity`` is when each session was last used (for the
inactivity timeout), which is not a fact worth an event per request.
"""
from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, String, Table, Text

accounts_metadata = MetaData()

people = Table(
    "people", accounts_metadata,
    Column("person_id", String(64), primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("phone", String(32)),
    Column("home_jurisdiction", String(12), nullable=False),
    Column("status", String(16), nullable=False),
    Column("second_factor", Boolean, nullable=False),
    Column("locked", Boolean, nullable=False),
    Column("locked_until", String(32)),
    Index("ix_people_home", "home_jurisdiction"),
)

grants = Table(
    "grants", accounts_metadata,
    Column("grant_id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("department", String(48), nullable=False),
    Column("role", String(32), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("granted_by", String(64), nullable=False),
    Column("granted_at", String(32), nullable=False),
    Index("ix_grants_person", "person_id"),
)

sessions = Table(
    "sessions", accounts_metadata,
    Column("session_id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("grant_id", String(64), nullable=False),
    Column("client_address", String(64), nullable=False),
    Column("started_at", String(32), nullable=False),
    Column("ended_at", String(32)),
    Column("end_reason", String(32)),
    Index("ix_sessions_person", "person_id"),
)

api_tokens = Table(
    "api_tokens", accounts_metadata,
    Column("token_id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("grant_id", String(64), nullable=False),
    Column("label", String(100), nullable=False),
    Column("issued_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
    Column("revoked_at", String(32)),
    Index("ix_api_tokens_person", "person_id"),
)

sign_in_failures = Table(
    "sign_in_failures", accounts_metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("client_address", String(64), nullable=False),
    Column("person_id", String(64)),
    Column("reason", String(32), nullable=False),
    Column("failed_at", String(32), nullable=False),
    Index("ix_sign_in_failures_address", "client_address", "failed_at"),
)

address_throttles = Table(
    "address_throttles", accounts_metadata,
    Column("client_address", String(64), primary_key=True),
    Column("until", String(32), nullable=False),
)

department_changes = Table(
    "department_changes", accounts_metadata,
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("type", String(64), nullable=False),
    Column("data", Text, nullable=False),
)

credentials = Table(
    "credentials", accounts_metadata,
    Column("credential_id", String(64), primary_key=True),
    Column("person_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),        # password | reset_link | totp | session | api_token
    Column("secret", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32)),
    Column("used_at", String(32)),
    Column("last_step", BigInteger),     # totp: the 30-second step of the last accepted code
)

session_activity = Table(
    "session_activity", accounts_metadata,
    Column("session_id", String(64), primary_key=True),
    Column("last_seen_at", String(32), nullable=False),
)

PROJECTION_TABLES = (people, grants, sessions, api_tokens, sign_in_failures, address_throttles, department_changes)
