"""The cases database: SQLite by default, PostgreSQL (or any SQLAlchemy URL) for a lab server, and its migrations.

The URL is the argument, else ``FORENSICS_DB_URL``, else ``sqlite:///<cache>/workbench.sqlite`` (not the audit log's
``cases.sqlite``: that file is a hash-chained log and refuses other tables). Migrations are numbered; the applied
number is kept in ``schema_version`` and each migration runs in its own transaction, so an interrupted upgrade
resumes at the step that failed. A database newer than this code is refused rather than written to.
Timestamps are ISO-8601 UTC text ("2026-12-03T13:05:00.123456Z"): identical on both backends and sortable as text.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable

import sqlalchemy as sa

from forensics.errors import ForensicsError

metadata = sa.MetaData()

schema_version = sa.Table("schema_version", metadata, sa.Column("version", sa.Integer, nullable=False))

users = sa.Table(
    "users",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# one row per failed sign-in (rate limit); a successful sign-in deletes that user's rows
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.String(32), nullable=False),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

members = sa.Table(
    "case_members",
    metadata,
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("username", sa.String(64), primary_key=True, index=True),
    sa.Column("added_by", sa.String(64), nullable=False),
    sa.Column("added_at", sa.String(32), nullable=False),
)

items = sa.Table(
    "case_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("added_by", sa.String(64), nullable=False),
    sa.Column("added_at", sa.String(32), nullable=False),
    sa.UniqueConstraint("case_id", "sha256", name="uq_case_item"),
)

# analyses, explanations, checks, reports and notes: a JSON payload, optionally a file in the evidence store
records = sa.Table(
    "case_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("item_sha256", sa.String(64), nullable=True),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("blob_sha256", sa.String(64), nullable=True),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

# the user's last open case, so a reload (or a restart) reopens it
preferences = sa.Table(
    "user_preferences",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("last_case_id", sa.Integer, nullable=True),
)


def _create(*tables: sa.Table) -> Callable[[sa.Connection], None]:
    def step(conn: sa.Connection) -> None:
        for t in tables:
            t.create(conn)

    return step


# (version, what it does, step). Append only: a released step is never edited (databases in the field ran it).
MIGRATIONS: list[tuple[int, str, Callable[[sa.Connection], None]]] = [
    (1, "accounts and failed sign-ins", _create(users, login_failures)),
    (2, "cases, members, evidence items, records, preferences", _create(cases, members, items, records, preferences)),
]
LATEST = MIGRATIONS[-1][0]


def now() -> str:
    """The current UTC time as the database stores it."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def default_url() -> str:
    """``FORENSICS_DB_URL`` or the SQLite file ``<cache>/workbench.sqlite``."""
    from forensics.paths import CACHE_DIR

    return os.environ.get("FORENSICS_DB_URL") or f"sqlite:///{CACHE_DIR / 'workbench.sqlite'}"


def make_engine(url: str | None = None) -> sa.Engine:
    """An engine for ``url`` (or the default); the SQLite file's folder is created, foreign keys are enforced."""
    url = url or default_url()
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ForensicsError(f"database URL {url!r} is not a valid SQLAlchemy URL ({exc})") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # readers (other browser sessions) do not block a writer
            cur.close()

        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver installed (not psycopg2)
    try:
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ForensicsError(f"no driver for {parsed.drivername} ({exc}): install the pinned requirements") from exc


def current_version(conn: sa.Connection) -> int:
    """The applied migration number (0 for an empty database)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0)


def migrate(engine: sa.Engine, target: int | None = None) -> int:
    """Apply the pending migrations up to ``target`` (default: the latest); returns the version reached."""
    target = LATEST if target is None else target
    try:
        _version_table(engine)
        with engine.connect() as conn:
            version = current_version(conn)
    except sa.exc.OperationalError as exc:
        raise ForensicsError(
            f"cannot open the cases database {engine.url!r} ({exc.orig}): check FORENSICS_DB_URL "
            "and that the server is running"
        ) from exc
    if version > LATEST:
        raise ForensicsError(
            f"the cases database is at schema version {version}, this code knows up to {LATEST}: "
            "update the workbench before using this database"
        )
    for number, _what, step in MIGRATIONS:
        if version < number <= target:
            try:
                with engine.begin() as conn:
                    step(conn)
                    conn.execute(schema_version.update().values(version=number))
            except (sa.exc.OperationalError, sa.exc.ProgrammingError):
                # another process (a second dashboard server, a CLI) applied this step since we read the version:
                # its transaction holds the step and the number together, so a number at or past ours settles it
                if _version_now(engine) < number:
                    raise
            version = number
    return version


def _version_table(engine: sa.Engine) -> None:
    """Create ``schema_version`` (at 0) unless it exists, also when another process creates it at the same time."""
    try:
        with engine.begin() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                schema_version.create(conn)
                conn.execute(schema_version.insert().values(version=0))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                raise


def _version_now(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return current_version(conn)


def connect(url: str | None = None) -> sa.Engine:
    """An engine on an up-to-date database (migrated on first use)."""
    engine = make_engine(url)
    migrate(engine)
    return engine
