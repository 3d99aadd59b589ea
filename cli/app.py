"""The ``eldercare`` command line. Every command reads ``config.yml`` (override with
``--config`` or ELDERCARE_CONFIG) and talks to the databases and broker named there."""
from __future__ import annotations

import json
import math
import sys
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from contracts.services import PROCESSES
from kernel.config import amqp_uri, database_url, load_config
from kernel.errors import EldercareError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
parked_app = typer.Typer(no_args_is_help=True, help="Events a consumer gave up on (dead-letter queues).")
unroutable_app = typer.Typer(no_args_is_help=True, help="Events the broker could not route to any queue.")
demo_app = typer.Typer(no_args_is_help=True, help="The demo county.")
app.add_typer(parked_app, name="parked")
app.add_typer(unroutable_app, name="unroutable")
app.add_typer(demo_app, name="demo")
from cli.audit import audit_app  # noqa: E402
app.add_typer(audit_app, name="audit")
from cli.imports import STATE as IMPORT_STATE, import_app  # noqa: E402
app.add_typer(import_app, name="import")
from cli.surveys import STATE as SURVEY_STATE, survey_app  # noqa: E402
app.add_typer(survey_app, name="survey")
from cli.departments import STATE as DEPARTMENTS_STATE, departments_app  # noqa: E402
app.add_typer(departments_app, name="departments")
from cli.orders import STATE as ORDER_STATE, order_app  # noqa: E402
app.add_typer(order_app, name="order")
console = Console(stderr=True, soft_wrap=True)


def _out() -> Console:
    """Tables on stdout: full width when piped (rich would cut them at 80 columns)."""
    return Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)


STATE = {"config_path": None}
# An emergency operator token lasts at most this long (a person's own API token: 30 days).
MAX_TOKEN_HOURS = 720.0


@app.callback()
def _options(config: Optional[Path] = typer.Option(None, "--config", help="config.yml to use")):
    STATE["config_path"] = IMPORT_STATE["config_path"] = SURVEY_STATE["config_path"] = config
    DEPARTMENTS_STATE["config_path"] = ORDER_STATE["config_path"] = config


def _config() -> dict:
    return load_config(STATE["config_path"])


def _fail(message: str, code: int = 1):
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _known_service(name: str) -> str:
    if name not in PROCESSES:
        _fail(f"unknown service {name!r}; known: {', '.join(PROCESSES)}", 2)
    return name


def _engine(service: str):
    from kernel.db import create_service_engine
    return create_service_engine(database_url(_config(), service))


@app.command()
def migrate(services: list[str] = typer.Argument(None, help="services to migrate (default: all)")):
    """Create or upgrade each service's database schema (Alembic; safe to repeat)."""
    from kernel import migrate as migrations
    config = _config()
    for service in services or PROCESSES:
        url = database_url(config, _known_service(service))
        migrations.upgrade(service, url)
        console.print(f"[green]✓[/] {service}: schema up to date ({_redacted(url)})")


@app.command()
def verify(service: str, as_json: bool = typer.Option(False, "--json")):
    """Check a service's hash chain; names the first bad position. Exit 1 if broken."""
    from kernel.hashchain import verify_log
    report = verify_log(_engine(_known_service(service)))
    if as_json:
        print(json.dumps({"service": service, "ok": report.ok, "checked": report.checked,
                          "first_bad_position": report.first_bad_position, "problem": report.problem,
                          "head_hash": report.head_hash}))
    else:
        console.print(("[green]✓[/] " if report.ok else "[bold red]✗[/] ") + f"{service}: {report}")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def rebuild(service: str, projection: Optional[str] = typer.Argument(None, help="default: all of the service's")):
    """Drop a service's projection(s) and replay its log into them (one transaction)."""
    from cli.services import catalogue_of, projections_of
    from kernel.projection import rebuild as rebuild_projection
    from kernel.store import SqlAlchemyEventStore
    _known_service(service)
    config = _config()
    engine = _engine(service)
    store = SqlAlchemyEventStore(engine, service, catalogue_of(service))
    chosen = [p for p in projections_of(service, config) if projection in (None, p.name)]
    if not chosen:
        _fail(f"{service} has no projection named {projection!r}", 2)
    total = store.last_position()
    for item in chosen:
        with _progress() as progress:
            task = progress.add_task(f"{service}.{item.name}", total=total)
            count = rebuild_projection(engine, store, item, lambda n: progress.advance(task, n))
        console.print(f"[green]✓[/] {service}.{item.name}: replayed {count} events")


@parked_app.command("list")
def parked_list(queue: str = typer.Argument(..., help="consumer queue, e.g. visits.on_registry_event"),
                as_json: bool = typer.Option(False, "--json")):
    """Show the events parked for a consumer queue (without removing them)."""
    from kernel.parked import list_parked
    rows = list_parked(amqp_uri(_config()), queue)
    if as_json:
        print(json.dumps([row.__dict__ for row in rows], ensure_ascii=False))
        return
    table = Table("event id", "type", "stream", "attempts", "error", "parked at", "replayed by itself",
                  title=f"parked in {queue}.dead")
    for row in rows:
        # The consumer replays a handler's failure by itself; a refused event waits for an operator.
        healing = "given up" if row.given_up else f"{row.auto_replays}×" if row.retryable else "no (refused)"
        table.add_row(row.event_id or "(no id)", row.event_type or row.body_note or "?", row.stream_id or "?",
                      str(row.attempts), f"{row.error_type}: {row.error}"[:80], row.parked_at, healing)
    _out().print(table)


@parked_app.command("replay")
def parked_replay(queue: str, event_id: list[str] = typer.Option(None, "--event-id", help="only these (default: all)")):
    """Put parked events back on the consumer's queue (after fixing what made them fail)."""
    from kernel.parked import replay_parked
    replayed = replay_parked(amqp_uri(_config()), queue, set(event_id) if event_id else None)
    console.print(f"[green]✓[/] replayed {len(replayed)} event(s) onto {queue}")


@unroutable_app.command("list")
def unroutable_list(service: str):
    """Events of a service the broker returned as unroutable (no queue bound)."""
    from sqlalchemy import select

    from kernel.schema import unroutable_events
    with _engine(_known_service(service)).connect() as conn:
        rows = conn.execute(select(unroutable_events).order_by(unroutable_events.c.position)).all()
    table = Table("position", "event id", "type", "routing key", "detected", "republished")
    for row in rows:
        table.add_row(str(row.position), row.event_id, row.type, row.routing_key, row.detected_at,
                      row.republished_at or "-")
    _out().print(table)


@unroutable_app.command("republish")
def unroutable_republish(service: str):
    """Publish again the unroutable events (once the missing consumer queue exists)."""
    from cli.services import catalogue_of
    from kernel.authenticity import relay_signer_for
    from kernel.relay import OutboxRelay
    from kernel.store import SqlAlchemyEventStore
    engine = _engine(_known_service(service))
    relay = OutboxRelay(engine, SqlAlchemyEventStore(engine, service, catalogue_of(service)), amqp_uri(_config()),
                        signer=relay_signer_for(service, _config()))
    try:
        console.print(f"[green]✓[/] republished {relay.republish_unroutable()} event(s)")
    finally:
        relay.release()


@app.command()
def topology():
    """Declare every exchange, its archive of events nobody consumes yet, and every consumer
    queue (run at deploy, before services start)."""
    import kombu

    from contracts.services import PROCESSES, SERVICES, subscriptions
    from kernel.config import setting
    from kernel.topology import DEFAULT_ARCHIVE_MAX_EVENTS, archive_queue_name, declare, declare_archive
    config = _config()
    queue_type = config.get("QUEUE_TYPE", "classic")
    max_events = setting(config, "ARCHIVE", "max_events", DEFAULT_ARCHIVE_MAX_EVENTS)
    with kombu.Connection(amqp_uri(config), connect_timeout=5) as connection:
        for name in PROCESSES:         # the gateway publishes its access log too
            _declare_events_exchange(connection, name)
            declare_archive(connection.default_channel, name, queue_type, max_events)
        channel = connection.default_channel
        for name in SERVICES:
            for subscription in subscriptions(name):
                declare(channel, subscription, queue_type)
                console.print(f"[green]✓[/] queue {subscription.consumer} ← {subscription.source}")
        console.print("[green]✓[/] exchanges declared: " + ", ".join(f"{n}.events" for n in PROCESSES))
        console.print("[green]✓[/] events no consumer reads yet are archived in "
                      + ", ".join(archive_queue_name(n) for n in PROCESSES))


def _declare_events_exchange(connection, source: str) -> None:
    """Declare ``<source>.events`` with its alternate exchange. One declared by an earlier
    version (without it) is refused as inequivalent; it is replaced, and the bindings it
    loses are declared again by the caller with every consumer queue."""
    from amqp.exceptions import PreconditionFailed

    from kernel.topology import events_exchange
    try:
        events_exchange(source)(connection.default_channel).declare()
    except PreconditionFailed:
        connection.close()
        connection.connect()
        connection.default_channel.exchange_delete(events_exchange(source).name)
        events_exchange(source)(connection.default_channel).declare()
        console.print(f"[yellow]![/] {source}.events re-declared with its archive (alternate exchange)")


@app.command("broker-users")
def broker_users(api: str = typer.Option("http://guest:guest@127.0.0.1:15672", help="management API, with an "
                                                                                    "administrator's credentials"),
                 vhost: str = typer.Option("/", help="the vhost the services use"),
                 passwords: str = typer.Option("var/broker-users.yml", help="user → password (generated when missing)")):
    """Give every process its own broker user: publish only to its own exchanges, read only
    its own queues (contracts.broker_permissions; the k8s manifests declare the same)."""
    from cli.broker import ManagementApi, apply_users, passwords_for
    from kernel.config import repository_path
    for user in apply_users(ManagementApi(api), vhost, passwords_for(repository_path(passwords))):
        console.print(f"[green]✓[/] {user} on vhost {vhost}")


@app.command("check-broker")
def check_broker(timeout: float = 3.0):
    """Exit 0 if RabbitMQ answers at AMQP_URI; otherwise say how to start it."""
    from kernel.broker import broker_problem
    problem = broker_problem(amqp_uri(_config()), timeout)
    if problem:
        _fail(problem)
    console.print(f"[green]✓[/] RabbitMQ reachable at {_redacted(amqp_uri(_config()))}")


@demo_app.command("load")
def demo_load(elders: int = typer.Option(3000, help="how many elders"),
              seed: int = typer.Option(42),
              county: str = typer.Option("410928", help="6-digit county code with villages in the division tables "
                                         "(the demo county 410928; 140525, 411221, 150121, 610330 for the "
                                         "shipped Jincheng, Sanmenxia, Inner Mongolia and Feng county rules)"),
              in_flight: int = typer.Option(16, help="RPC calls in flight at once")):
    """Register a generated county through the registry's RPC (the registry must be running),
    after giving its village committees, townships and county bureaus their in-app inbox."""
    from cli.demo_loader import load_demo_county
    from demo.contacts import load_contacts
    from kernel.divisions import configured_division_table
    table = configured_division_table(_config())
    if not (len(county) == 6 and county.isdigit()) or not table.villages_within(county):
        counties = sorted({code[:6] for code in table.villages_within("")})
        _fail(f"--county {county!r} has no villages in the division tables (DIVISION_FILES); "
              f"counties with villages: {', '.join(counties)}", 2)
    load_contacts(_config(), county=county, console=console)
    load_demo_county(_config(), elders=elders, seed=seed, county=county, in_flight=in_flight,
                     progress_factory=_progress, console=console)


@demo_app.command("facilities")
def demo_facilities(seed: int = typer.Option(42), in_flight: int = typer.Option(16, help="RPC calls in flight at once")):
    """Open the seed figures' facilities (Puyang, Jincheng, Sanmenxia) through the facilities RPC."""
    from demo.facilities import load_facilities
    load_facilities(_config(), seed=seed, in_flight=in_flight, progress_factory=_progress, console=console)


@demo_app.command("visits")
def demo_visits(seed: int = typer.Option(42), county: str = typer.Option("410928"),
                settle: float = typer.Option(60.0, help="seconds to wait for visits to catch up with the registry")):
    """Village cadres, assignments (with written notices) and a month of visits, through the
    visits RPC (registry and visits must be running; the demo county loaded)."""
    from cli.status import wait_until_caught_up
    from demo.visits import load_visits
    wait_until_caught_up(_config(), "visits", settle)
    load_visits(_config(), county=county, seed=seed, today=_today(), console=console)


def _today():
    from kernel.providers import clock_from_config
    return clock_from_config(_config()).today()


@app.command()
def keys(action: str = typer.Argument("init", help="init | personal | rotate | rewrap | retire"),
         key_id: Optional[str] = typer.Argument(None, help="retire: the master key id to drop")):
    """Keys. init: create missing checkpoint signing keys (Ed25519) and the personal-data
    master key, list them. personal: which master key wraps how many data keys, per service.
    rotate: a new master key becomes active and every service's data keys are rewrapped
    with it while the services run (they re-read the key file when they meet the new id).
    rewrap: rewrap under the active key (after MASTER_KEY changed). retire <id>: drop an old
    master key once no data key needs it. init also makes the accounts service's key for
    TOTP secrets (ACCOUNTS_SECRET_KEY_FILE) unless ACCOUNTS_SECRET_KEY gives it."""
    from kernel import personal
    from kernel.authenticity import key_dir_of
    from kernel.checkpoints import init_keys
    config = _config()
    personal.configure(config)
    if action == "init":
        # Every process with a log: the key signs its checkpoints and each batch its relay publishes.
        key_dir = key_dir_of(config)
        for service, signing_key in init_keys(PROCESSES, key_dir).items():
            console.print(f"[green]✓[/] {service}: signing key {signing_key} in {key_dir}")
        ring = _master_keyring()
        console.print(f"[green]✓[/] personal data: master key {ring.active} ({ring.path or 'MASTER_KEY'})")
        _accounts_secret_key(config)
        return
    if action == "rotate":
        ring = _master_keyring().rotated()
        personal.configure(config)
        console.print(f"[green]✓[/] new active master key {ring.active} in {ring.path}")
        _rewrap_all(ring)
        console.print(f"the earlier keys stay in the file for running processes; drop one with "
                      f"`eldercare keys retire <id>` once `eldercare keys personal` shows it wraps nothing")
        return
    if action == "rewrap":
        _rewrap_all(_master_keyring())
        return
    if action == "personal":
        ring = _master_keyring()
        for service in PROCESSES:
            console.print(f"{service}: " + (", ".join(f"{k}: {n}" for k, n in _keys_in_use(service).items()) or "none")
                          + f" (active: {ring.active})")
        return
    if action == "retire":
        if not key_id:
            _fail("retire needs the id of the master key to drop (key_id)", 2)
        if key_id == _master_keyring().active:
            _fail(f"key_id: {key_id} is the active master key; rotate first", 2)
        still = {service: n for service in PROCESSES if (n := _keys_in_use(service).get(key_id))}
        if still:
            _fail(f"master key {key_id} still wraps data keys ({still}); run `eldercare keys rewrap` first")
        try:
            _master_keyring().without(key_id)
        except personal.PersonalDataError as exc:
            _fail(f"{exc.field}: {exc.message}", 2)
        console.print(f"[green]✓[/] master key {key_id} dropped")
        return
    _fail(f"unknown action {action!r}; use init, personal, rotate, rewrap or retire", 2)


def _accounts_secret_key(config) -> None:
    """The accounts service's key for TOTP secrets: the file made once, unless the
    environment gives the key (ACCOUNTS_SECRET_KEY)."""
    from kernel.config import setting
    from services.accounts.adapters.secrets import write_secret_key_file
    from services.accounts.rules import secret_box
    key_file = setting(config, "ACCOUNTS", "secret_key_file", None)
    if not setting(config, "ACCOUNTS", "secret_key", None) and key_file:
        made = write_secret_key_file(key_file)
        console.print(f"[green]✓[/] accounts: TOTP secret key {secret_box(config).key_id} in {key_file}"
                      + (" (new)" if made else ""))


def _master_keyring():
    from kernel import personal
    try:
        return personal.master_keyring()
    except personal.PersonalDataError as exc:
        _fail(f"{exc.field}: {exc.message}", 2)


def _keys_in_use(service: str) -> dict[str, int]:
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from kernel import personal
    engine = _engine(service)
    try:
        return personal.master_keys_in_use(engine)
    except (OperationalError, ProgrammingError):
        return {}                   # not migrated yet: holds no keys
    finally:
        engine.dispose()


def _rewrap_all(ring) -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from kernel import personal
    for service in PROCESSES:
        engine = _engine(service)
        try:
            count = personal.rewrap(engine, ring)
        except (OperationalError, ProgrammingError):
            count = 0
        finally:
            engine.dispose()
        console.print(f"[green]✓[/] {service}: {count} data key(s) rewrapped with {ring.active}")


token_app = typer.Typer(no_args_is_help=True, help="Gateway access tokens.")
app.add_typer(token_app, name="token")


@token_app.command("rotate")
def token_rotate():
    """Add a new signing key and make it sign new tokens; tokens signed with earlier keys stay
    valid until their key is removed from the keyring file (that revokes them)."""
    from gateway.auth import Keyring
    from kernel.config import setting
    keyring = Keyring(setting(_config(), "GATEWAY", "token_keyring", "var/keys/gateway_tokens.yml"))
    console.print(f"[green]✓[/] new signing key {keyring.rotate()} in {keyring.path}")


def _token_help() -> str:
    from contracts.actors import DEFAULT_DEPARTMENTS, INTERNAL_ROLES, ROLES
    return ("Print a signed bearer token for a user (admin only: whoever can read the keyring).\n\n"
            f"Departments: {', '.join(DEFAULT_DEPARTMENTS)}.\n\n"
            f"Roles: {', '.join(r for r in ROLES if r not in INTERNAL_ROLES)}.\n\n"
            "For example an auditor: --department civil_affairs --role auditor --jurisdiction 410928000000.")


@token_app.command("issue", help=_token_help())
def token_issue(user: str,
                department: str = typer.Option(..., help="one of the departments listed above"),
                role: str = typer.Option(..., help="one of the roles listed above"),
                jurisdiction: str = typer.Option(..., help="12-digit division code"),
                hours: float = typer.Option(12.0, help=f"how long it is valid: more than 0, at most "
                                                        f"{MAX_TOKEN_HOURS:.0f} hours")):
    from contracts.actors import INTERNAL_ROLES, ROLES, is_department_code
    from gateway.auth import Keyring, Principal
    from kernel.config import setting
    from services.accounts.cli import record_emergency_token
    people_roles = [r for r in ROLES if r not in INTERNAL_ROLES]
    if not is_department_code(department):
        _fail("--department must be a department code (e.g. civil_affairs)", 2)
    if role in INTERNAL_ROLES:
        _fail(f"--role {role} is the system's own and is never issued; use one of {', '.join(people_roles)}", 2)
    if role not in ROLES:
        _fail(f"--role must be one of {', '.join(people_roles)}", 2)
    if not (len(jurisdiction) == 12 and jurisdiction.isdigit()):
        _fail("--jurisdiction must be a 12-digit division code", 2)
    # A token that has already expired (or never expires) is a mistake, not an emergency.
    if not (math.isfinite(hours) and 0 < hours <= MAX_TOKEN_HOURS):
        _fail(f"--hours must be more than 0 and at most {MAX_TOKEN_HOURS:.0f} (got {hours:g}): "
              "a token's expiry lies in the future", 2)
    keyring = Keyring(setting(_config(), "GATEWAY", "token_keyring", "var/keys/gateway_tokens.yml"))
    if not keyring.path.exists():
        keyring.rotate()
    # Recorded in the accounts log first: an emergency token nobody can see issued is not issued.
    record_emergency_token(_config(), user, department, role, jurisdiction, hours)
    print(keyring.issue(Principal(user, department, role, jurisdiction), hours))


@token_app.command("keyring")
def token_keyring():
    """Print the path of the token keyring file (GATEWAY_TOKEN_KEYRING); exit 1 if it does not exist yet."""
    from gateway.auth import Keyring
    from kernel.config import setting
    path = Keyring(setting(_config(), "GATEWAY", "token_keyring", "var/keys/gateway_tokens.yml")).path
    print(path)
    raise typer.Exit(0 if path.exists() else 1)


accounts_app = typer.Typer(no_args_is_help=True, help="People and sign-in (the accounts service's database).")
app.add_typer(accounts_app, name="accounts")


@accounts_app.command("create-admin")
def accounts_create_admin(login: str, name: str = typer.Option(..., help="the person's name"),
                          jurisdiction: str = typer.Option(..., help="12-digit division code they administer"),
                          department: str = typer.Option("civil_affairs"),
                          password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True,
                                                       help="at least 10 characters, not a common one")):
    """The first administrator of an installation (who then creates everyone else). Prints the
    second factor's secret for their authenticator app."""
    from services.accounts.cli import create_admin
    person = create_admin(_config(), login, name, jurisdiction, department, password)
    console.print(f"[green]✓[/] administrator {login} ({person['person_id']}) for {jurisdiction}")
    console.print(f"  add to an authenticator app: {person['otpauth_uri']}  (secret {person['totp_secret']})")


@accounts_app.command("demo")
def accounts_demo():
    """Create (once) one demo account per role for the demo county, and print how to sign in."""
    from services.accounts.cli import demo_accounts
    rows = demo_accounts(_config())
    table = Table("login", "role", "department", "jurisdiction", "password", "second factor",
                  title="demo accounts: POST /api/session {login, password, one_time_password}")
    for row in rows:
        code = "eldercare accounts code " + row["login"] if row["totp_secret"] else "-"
        table.add_row(row["login"], row["role"], row["department"], row["jurisdiction"], row["password"], code)
    _out().print(table)


@accounts_app.command("code")
def accounts_code(login: str):
    """The current one-time code of a demo account (as its authenticator app would show it)."""
    from services.accounts.cli import demo_code
    print(demo_code(login))


@app.command()
def wait(services: list[str] = typer.Argument(..., help="services that must answer RPC"),
         timeout: float = typer.Option(60.0)):
    """Wait until each service answers over RPC (used by bin/run before loading the demo)."""
    from cli.status import wait_for_services
    missing = wait_for_services(_config(), services, timeout)
    if missing:
        _fail(f"no answer within {timeout:.0f}s from: {', '.join(missing)}")


@demo_app.command("present")
def demo_present():
    """Exit 0 if the registry already holds elders (so bin/run does not load twice)."""
    from cli.status import registry_has_elders
    raise typer.Exit(0 if registry_has_elders(_config()) else 1)


subsidies_app = typer.Typer(no_args_is_help=True, help="Monthly subsidy disbursement runs.")
app.add_typer(subsidies_app, name="subsidies")


@subsidies_app.command("run")
def subsidies_run(jurisdiction: str = typer.Argument(..., help="division code or prefix, e.g. 1405"),
                  month: str = typer.Argument(..., help="YYYY-MM"),
                  user: str = typer.Option("cli", help="civil-affairs user starting the run")):
    """Compute a jurisdiction's monthly run here with a progress bar (the subsidies service
    publishes its events). Starting it again changes nothing."""
    from services.subsidies.adapters.payment_file import yuan
    from services.subsidies.cli import run_month
    try:
        with _progress() as progress:
            result = run_month(_config(), jurisdiction, month, user, progress)
    except EldercareError as error:
        _fail(str(error))
    verb = "computed" if result["changed"] else "already computed, nothing changed"
    console.print(f"[green]✓[/] {result['run_id']}: {verb} — {result['disbursements']} disbursements "
                  f"({yuan(result['disbursed_fen'])} yuan), {result['adjustments']} adjustments "
                  f"({yuan(result['adjusted_fen'])} yuan), status {result['status']}")


@app.command("config")
def show_config(as_json: bool = typer.Option(False, "--json")):
    """The effective configuration: every setting, its value as the services see it (secrets
    masked), and the environment variable that sets it (* = set in this environment)."""
    from kernel.config import effective_settings
    rows = effective_settings(_config(), STATE["config_path"])
    if as_json:
        print(json.dumps([{"key": r.key, "value": r.value, "variables": list(r.variables),
                           "from_environment": r.from_environment} for r in rows], ensure_ascii=False, default=str))
        return
    table = Table("setting", "value", "environment variable", title="effective configuration")
    for row in rows:
        table.add_row(row.key, "" if row.value is None else str(row.value),
                      ", ".join(row.variables) + (" *" if row.from_environment else ""))
    _out().print(table)


@app.command()
def where(division: str = typer.Option("410928000000", help="the dashboard's division")):
    """The addresses to open, from the configuration (WEB_SERVER_ADDRESS or GATEWAY.public_url).
    No address carries a token: sign in to the web app, and the dashboard opens."""
    from kernel.config import gateway_base_url
    base = gateway_base_url(_config())
    print(f"web app    {base}/app/  (sign in with an account; `eldercare accounts demo` lists the demo ones)")
    print(f"dashboard  {base}/dashboard/{division}  (after signing in to the web app)")
    print(f"API docs   {base}/docs")
    print(f"API        curl -H \"Authorization: Bearer $TOKEN\" {base}/api/elders")
    print(f"ready      {base}/ready")


@app.command()
def status():
    """What is running and where to look: services, event logs, relay backlog, queues."""
    from cli.status import print_status
    print_status(_config(), _out())


def _progress() -> Progress:
    return Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                    "[progress.percentage]{task.percentage:>3.0f}%", TimeRemainingColumn(), console=console)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - amqp URIs are not SQLAlchemy URLs
        return url.split("@")[-1]


def main() -> None:
    try:
        app()
    except EldercareError as error:
        console.print(f"[bold red]error:[/] {error}")
        sys.exit(1)
    except (OSError, ConnectionError) as error:
        console.print(f"[bold red]error:[/] {type(error).__name__}: {error}")
        sys.exit(1)
