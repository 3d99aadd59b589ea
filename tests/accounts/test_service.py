"""The accounts service end to end: real nameko container, real database (SQLite and
PostgreSQL), real RabbitMQ; a listener proves its events leave through the broker."""
import glob
import json
import time
from datetime import timedelta

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import func, inspect, select, text

from contracts import CATALOGUE
from kernel import migrate
from kernel.checkpoints import CHECKPOINT_EVENT, init_keys
from kernel.consumer import durable_event_handler
from kernel.db import create_service_engine
from kernel.errors import (AccountLockedError, AuthenticationError, ConflictError, NotPermittedError,
                           TooManyAttemptsError, ValidationError)
from kernel.hashchain import verify_log
from kernel.providers import ServiceDatabase
from kernel.schema import events as events_table
from services.accounts import handlers
from services.accounts.adapters.secrets import SecretKeyError, new_secret_key, totp_now
from services.accounts.adapters.tables import credentials
from services.accounts.cli import opened
from services.accounts.rules import accounts_context
from services.accounts.service import AccountsService
from tests.accounts.support import (CITY, COUNTY, FAST_ARGON2, JINCHENG_COUNTY, OTHER_COUNTY, SECRET_KEY, STRONG,
                                    SYSTEM, TODAY, TOWNSHIP, VILLAGE, actor_of, enrol, make_person,
                                    next_code, paired_authenticator, sign_in)

RECEIVED = []


class AccountsListener:
    name = "listener"
    db = ServiceDatabase(CATALOGUE)

    @durable_event_handler("accounts", ["accounts.person_created.v1", "accounts.role_granted.v1",
                                        "accounts.signed_in.v1"])
    def on_accounts_event(self, event, uow):
        RECEIVED.append((event.type, event.subject))


def wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        eventlet.sleep(0.05)
    raise AssertionError("timed out")


def config_for(rabbit_config, urls, key_dir, **accounts):
    return {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "RELAY": {"poll_interval": 0.1},
            "ACCOUNTS": {**FAST_ARGON2, "secret_key": SECRET_KEY, **accounts},
            "CHECKPOINTS": {"interval_seconds": 3600, "key_dir": key_dir}}


@pytest.fixture
def accounts(rabbit_config, database_url, tmp_path, container_factory):
    urls = {"accounts": database_url, "listener": f"sqlite:///{tmp_path / 'listener.db'}"}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = config_for(rabbit_config, urls, str(tmp_path / "keys"))
    init_keys(("accounts",), tmp_path / "keys")        # its relay signs what the listener checks
    RECEIVED.clear()
    container_factory(AccountsListener, config).start()
    container = container_factory(AccountsService, config)
    container.start()
    with ServiceRpcProxy("accounts", config) as proxy:
        proxy.database_url, proxy.container, proxy.key_dir = database_url, container, str(tmp_path / "keys")
        proxy.authenticator = paired_authenticator(container)
        proxy.config = config
        yield proxy


def event_count(url, type_=None):
    """Events of the accounts log (of ``type_``), the checkpoints the relay seals after each
    batch left out: they are not what a command wrote."""
    engine = create_service_engine(url)
    statement = select(func.count()).select_from(events_table).where(
        events_table.c.type == type_ if type_ else events_table.c.type != CHECKPOINT_EVENT)
    with engine.connect() as conn:
        count = conn.execute(statement).scalar()
    engine.dispose()
    return count


def city_admin(accounts):
    admin = make_person(accounts, "city-admin", "admin", CITY)
    return admin, enrol(accounts, "city-admin")


def test_admin_signs_in_with_a_second_factor_and_events_reach_a_consumer(accounts):
    admin, secret = city_admin(accounts)
    with pytest.raises(AuthenticationError) as refused:
        sign_in(accounts, "city-admin")                     # the password alone is not enough
    assert refused.value.field == "one_time_password"
    session = sign_in(accounts, "city-admin", secret=secret)
    assert session["person"]["login"] == "city-admin"
    assert [g["role"] for g in session["person"]["grants"]] == ["admin"]
    resolved = accounts.resolve_session({"session_token": session["session_token"]})
    assert resolved["person"]["person_id"] == admin["person_id"] == resolved["person_id"]
    assert resolved["active_grant"]["jurisdiction"] == CITY
    accounts.sign_out({"session_token": session["session_token"]})
    with pytest.raises(AuthenticationError):
        accounts.resolve_session({"session_token": session["session_token"]})
    wait_for(lambda: ("accounts.signed_in.v1", admin["person_id"]) in RECEIVED)
    assert ("accounts.role_granted.v1", admin["person_id"]) in RECEIVED
    report = verify_log(create_service_engine(accounts.database_url))
    assert report.ok, report


def test_who_administers_whom(accounts):
    city, _ = city_admin(accounts)
    county = make_person(accounts, "county-admin", "admin", COUNTY, by=actor_of(city))
    history = accounts.person_history(county["person_id"])
    granted = next(e for e in history if e["type"] == "accounts.role_granted.v1")
    assert granted["data"]["by"] == city["person_id"]          # every grant names who granted it
    cadre = make_person(accounts, "cadre-1", "village_worker", VILLAGE, by=actor_of(county))
    assert cadre["grants"][0]["granted_by"] == county["person_id"]
    before = event_count(accounts.database_url)
    refusals = [
        (dict(login="x-1", role="village_worker", jurisdiction="410922100201", home=OTHER_COUNTY), "jurisdiction"),
        (dict(login="x-2", role="admin", jurisdiction=COUNTY), "role"),         # an admin only one level down
        (dict(login="x-3", role="city_coordinator", jurisdiction=CITY, home=COUNTY), "jurisdiction"),
    ]
    for kwargs, field in refusals:
        with pytest.raises(NotPermittedError) as refused:
            make_person(accounts, by=actor_of(county), **kwargs)
        assert refused.value.field.endswith(field), (kwargs, refused.value.to_dict())
    with pytest.raises(NotPermittedError):                   # a village worker administers nobody
        make_person(accounts, "x-4", "village_worker", VILLAGE, by=actor_of(cadre))
    with pytest.raises(NotPermittedError):                   # nor may a county admin suspend the city's
        accounts.suspend_person({"person_id": city["person_id"], "reason": "test"}, actor_of(county))
    assert event_count(accounts.database_url) == before


def test_bad_input_names_the_field_and_writes_nothing(accounts):
    make_person(accounts, "cadre-1", "village_worker", VILLAGE)
    before = event_count(accounts.database_url)
    cases = [
        (dict(login="a-1", role="village_worker", jurisdiction=VILLAGE, department="ministry_of_magic"),
         ValidationError, "grants.0.department"),
        (dict(login="a-2", role="wizard", jurisdiction=VILLAGE), ValidationError, "grants.0.role"),
        (dict(login="a-3", role="village_worker", jurisdiction="410928999999"), ValidationError,
         "grants.0.jurisdiction"),
        (dict(login="a-4", role="village_worker", jurisdiction="4109", home=VILLAGE), ValidationError, "grants.0.jurisdiction"),
        (dict(login="a-5", role="village_worker", jurisdiction=TOWNSHIP), ValidationError, "grants.0.role"),
        (dict(login="cadre-1", role="village_worker", jurisdiction=VILLAGE), ConflictError, "login"),
        (dict(login="a-6", role="village_worker", jurisdiction=VILLAGE, password="password123"), ValidationError,
         "password"),
        (dict(login="a-7", role="village_worker", jurisdiction=VILLAGE, password="a-7-a-7-a-7"), ValidationError,
         "password"),
    ]
    for kwargs, error, field in cases:
        with pytest.raises(error) as refused:
            make_person(accounts, **kwargs)
        assert refused.value.field == field, (kwargs, refused.value.to_dict())
    assert event_count(accounts.database_url) == before


def test_repeated_failures_lock_the_account_until_an_administrator_unlocks_it(accounts):
    make_person(accounts, "cadre-1", "village_worker", VILLAGE)
    for _ in range(4):
        with pytest.raises(AuthenticationError) as refused:
            sign_in(accounts, "cadre-1", password="wrong-password-1")
        assert refused.value.code == "unauthenticated"
    with pytest.raises(AccountLockedError):
        sign_in(accounts, "cadre-1", password="wrong-password-1")
    with pytest.raises(AccountLockedError) as locked:         # the right password no longer helps
        sign_in(accounts, "cadre-1")
    assert locked.value.field == "login"
    assert event_count(accounts.database_url, "accounts.account_locked.v1") == 1
    person = accounts.find_person("cadre-1")
    assert person["locked"] is True
    accounts.unlock_account({"person_id": person["person_id"], "reason": "called the office"}, SYSTEM)
    assert sign_in(accounts, "cadre-1")["person"]["login"] == "cadre-1"


def test_a_thousand_wrong_passwords_from_one_address_are_throttled(accounts):
    """Count the attempts that reached the password check: the failures recorded."""
    for n in range(4):
        make_person(accounts, f"cadre-{n}", "village_worker", VILLAGE)
    logins = ["cadre-0", "cadre-1", "cadre-2", "nobody-here"]
    throttled = 0
    for attempt in range(1000):
        try:
            sign_in(accounts, logins[attempt % len(logins)], password=f"guess-{attempt}-x", address="203.0.113.9")
        except TooManyAttemptsError as error:
            throttled += 1
            assert error.retry_after_seconds > 0
        except AuthenticationError:
            pass
    checked = (event_count(accounts.database_url, "accounts.sign_in_failed.v1")
               + event_count(accounts.database_url, "accounts.unknown_login_attempted.v1"))
    assert checked <= 20 and throttled >= 980
    assert event_count(accounts.database_url, "accounts.client_address_throttled.v1") == 1
    # Another address is not held up by this one (the attacked accounts are locked by now).
    assert sign_in(accounts, "cadre-3", address="198.51.100.7")["person"]["login"] == "cadre-3"
    with pytest.raises(AccountLockedError):
        sign_in(accounts, "cadre-0", address="198.51.100.7")


def test_api_tokens_are_personal_short_lived_and_revocable(accounts):
    cadre = make_person(accounts, "cadre-1", "village_worker", VILLAGE)
    session = sign_in(accounts, "cadre-1")
    me = dict(actor_of(cadre))
    issued = accounts.issue_api_token({"grant_id": cadre["grants"][0]["grant_id"], "label": "phone", "days": 1}, me)
    resolved = accounts.resolve_token({"token": issued["token"]})
    assert resolved["person"]["login"] == "cadre-1" and resolved["active_grant"]["role"] == "village_worker"
    with pytest.raises(ValidationError) as too_long:
        accounts.issue_api_token({"grant_id": cadre["grants"][0]["grant_id"], "label": "x", "days": 400}, me)
    assert too_long.value.field == "days"
    accounts.revoke_api_token({"token_id": issued["token_id"]}, me)
    with pytest.raises(AuthenticationError) as revoked:
        accounts.resolve_token({"token": issued["token"]})
    assert "revoked" in revoked.value.message
    with pytest.raises(AuthenticationError):
        accounts.resolve_token({"token": issued["token"][:-2] + "xx"})
    assert accounts.resolve_session({"session_token": session["session_token"]})
    detail = accounts.get_person(cadre["person_id"])
    assert [s["session_id"] for s in detail["sessions"]] == [session["session_token"].split(".")[0]]
    assert detail["api_tokens"] == []                 # the revoked one is gone
    accounts.end_session({"person_id": cadre["person_id"], "session_id": detail["sessions"][0]["session_id"]},
                         SYSTEM)
    with pytest.raises(AuthenticationError) as ended:
        accounts.resolve_session({"session_token": session["session_token"]})
    assert "ended by admin" in ended.value.message


def test_suspension_ends_sessions_and_reset_gives_a_one_time_link(accounts):
    cadre = make_person(accounts, "cadre-1", "village_worker", VILLAGE)
    session = sign_in(accounts, "cadre-1")
    accounts.suspend_person({"person_id": cadre["person_id"], "reason": "investigation"}, SYSTEM)
    with pytest.raises(AuthenticationError) as ended:
        accounts.resolve_session({"session_token": session["session_token"]})
    assert "suspended" in ended.value.message
    with pytest.raises(AuthenticationError):
        sign_in(accounts, "cadre-1")
    accounts.reinstate_person({"person_id": cadre["person_id"], "reason": "cleared"}, SYSTEM)
    reset = accounts.reset_password({"person_id": cadre["person_id"]}, SYSTEM)
    with pytest.raises(AuthenticationError):
        sign_in(accounts, "cadre-1")                       # the old password stopped working
    with pytest.raises(ValidationError) as weak:
        accounts.complete_password_reset({"reset_token": reset["reset_token"], "new_password": "12345678"})
    assert weak.value.field == "new_password"
    accounts.complete_password_reset({"reset_token": reset["reset_token"], "new_password": "violet-canyon-93-drum"})
    with pytest.raises(AuthenticationError):              # one time only
        accounts.complete_password_reset({"reset_token": reset["reset_token"],
                                          "new_password": "another-canyon-93-drum"})
    assert sign_in(accounts, "cadre-1", password="violet-canyon-93-drum")


def test_departments_are_data_with_effective_dates(accounts):
    jincheng = accounts.departments(JINCHENG_COUNTY)
    assert "political_legal_committee" in [d["code"] for d in jincheng["departments"]]
    puyang = accounts.departments(COUNTY)
    assert [d["code"] for d in puyang["departments"]] == list(__import__("contracts.actors").actors.DEFAULT_DEPARTMENTS)
    with pytest.raises(ValidationError):
        make_person(accounts, "plc-1", "department_officer", COUNTY, department="political_legal_committee")
    accounts.add_department({"jurisdiction": COUNTY, "code": "political_legal_committee", "name_zh": "政法委",
                             "name_en": "Political-legal committee", "effective_date": "2026-11-01"}, SYSTEM)
    officer = make_person(accounts, "plc-1", "department_officer", COUNTY, department="political_legal_committee")
    assert officer["grants"][0]["department"] == "political_legal_committee"
    meeting = accounts.set_joint_meeting({"jurisdiction": COUNTY, "convenor": "civil_affairs",
                                          "members": ["civil_affairs", "political_legal_committee"],
                                          "effective_date": "2026-12-01"}, SYSTEM)
    assert meeting["joint_meeting"]["members"] == ["civil_affairs", "political_legal_committee"]
    assert accounts.departments(COUNTY, "2026-11-15")["joint_meeting"]["members"][0] == "civil_affairs"
    assert len(accounts.departments(COUNTY, "2026-11-15")["joint_meeting"]["members"]) == 9
    accounts.retire_department({"jurisdiction": COUNTY, "code": "culture", "effective_date": "2026-11-20"}, SYSTEM)
    with pytest.raises(ValidationError) as retired:
        make_person(accounts, "culture-1", "department_officer", COUNTY, department="culture")
    assert retired.value.field == "grants.0.department"


def test_several_grants_pick_the_active_one(accounts):
    person = accounts.create_person({"login": "both-1", "name": "两职", "home_jurisdiction": VILLAGE,
                                     "password": STRONG, "grants": [
                                         {"department": "civil_affairs", "role": "village_worker",
                                          "jurisdiction": VILLAGE},
                                         {"department": "health", "role": "village_worker", "jurisdiction": VILLAGE}]},
                                    SYSTEM)
    health = next(g for g in person["grants"] if g["department"] == "health")
    session = sign_in(accounts, "both-1", grant_id=health["grant_id"])
    assert session["active_grant"]["department"] == "health"
    other = next(g for g in person["grants"] if g["department"] == "civil_affairs")
    switched = accounts.select_grant({"session_token": session["session_token"], "grant_id": other["grant_id"]})
    assert switched["active_grant"]["department"] == "civil_affairs"
    accounts.revoke_role({"person_id": person["person_id"], "grant_id": other["grant_id"], "reason": "moved"}, SYSTEM)
    with pytest.raises(AuthenticationError):          # its session was under the revoked grant
        accounts.resolve_session({"session_token": session["session_token"]})


def test_the_log_is_sealed_into_a_signed_checkpoint(accounts):
    from kernel.providers import CheckpointSealer
    from nameko.testing.utils import get_extension
    make_person(accounts, "cadre-1", "village_worker", VILLAGE)
    checkpoint = get_extension(accounts.container, CheckpointSealer).seal_now()
    sealed = event_count(accounts.database_url) + event_count(accounts.database_url, CHECKPOINT_EVENT)
    assert checkpoint.tree_size in (sealed - 1, sealed - 2)   # the seal is an event; one after its batch may follow
    assert verify_log(create_service_engine(accounts.database_url)).ok


def failure_reasons(accounts, person_id):
    return [e["data"]["reason"] for e in accounts.person_history(person_id) if e["type"] == "accounts.sign_in_failed.v1"]


def test_a_one_time_code_signs_in_once(accounts):
    admin, secret = city_admin(accounts)
    payload = {"login": "city-admin", "password": STRONG, "client_address": "10.0.0.1",
               "one_time_password": next_code(accounts.authenticator, secret)}
    assert accounts.sign_in(payload)["person"]["login"] == "city-admin"
    with pytest.raises(AuthenticationError) as refused:
        accounts.sign_in(payload)
    assert refused.value.field == "one_time_password" and "already used" in refused.value.to_dict()["message"]
    # Nor the code of the step before, which the drift window would otherwise still take.
    older = totp_now(secret, accounts.authenticator.now() - timedelta(seconds=30))
    with pytest.raises(AuthenticationError):
        accounts.sign_in({**payload, "one_time_password": older})
    assert failure_reasons(accounts, admin["person_id"]) == ["one_time_password_reused"] * 2
    assert sign_in(accounts, "city-admin", secret=secret)["person"]["login"] == "city-admin"   # the next step
    with create_service_engine(accounts.database_url).connect() as conn:
        steps = conn.execute(select(credentials.c.last_step).where(credentials.c.kind == "totp")).scalars().all()
    assert steps == [int(accounts.authenticator.now().timestamp()) // 30]


def test_two_sign_ins_with_one_code_at_once_let_exactly_one_in(accounts):
    admin, secret = city_admin(accounts)
    payload = {"login": "city-admin", "password": STRONG, "client_address": "10.0.0.1",
               "one_time_password": next_code(accounts.authenticator, secret)}

    def attempt(_):
        with ServiceRpcProxy("accounts", accounts.config) as own:      # one proxy per greenthread
            try:
                return own.sign_in(payload)["person"]["login"]
            except AuthenticationError as refused:
                return refused.to_dict()["message"]
    outcomes = list(eventlet.GreenPool(3).imap(attempt, range(3)))
    assert outcomes.count("city-admin") == 1, outcomes
    assert all("already used" in outcome for outcome in outcomes if outcome != "city-admin"), outcomes
    assert failure_reasons(accounts, admin["person_id"]) == ["one_time_password_reused"] * 2
    assert event_count(accounts.database_url, "accounts.signed_in.v1") == 1


def test_totp_secrets_are_encrypted_at_rest_and_not_in_the_log(accounts):
    admin, secret = city_admin(accounts)
    engine = create_service_engine(accounts.database_url)
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            assert secret not in repr(conn.execute(text(f'SELECT * FROM "{table}"')).all()), table
        [stored] = conn.execute(select(credentials.c.secret).where(credentials.c.kind == "totp")).scalars()
    engine.dispose()
    assert stored.startswith("aesgcm1:")
    if accounts.database_url.startswith("sqlite"):
        files = glob.glob(accounts.database_url.removeprefix("sqlite:///") + "*")     # the file, its WAL
        assert files and all(secret.encode() not in open(path, "rb").read() for path in files)
    assert secret not in json.dumps(accounts.person_history(admin["person_id"]))
    assert sign_in(accounts, "city-admin", secret=secret)["person"]["login"] == "city-admin"


def test_a_wrong_secret_key_is_a_clear_error_and_signs_nobody_in(accounts, tmp_path):
    city_admin(accounts)
    config = {"DATABASES": {"accounts": accounts.database_url}, "FIXED_TODAY": TODAY.isoformat(),
              "ACCOUNTS": {**FAST_ARGON2, "secret_key": new_secret_key()}}
    ctx = accounts_context(config)
    with opened(config) as db:
        with pytest.raises(SecretKeyError) as wrong:
            handlers.sign_in(db, ctx, {"login": "city-admin", "password": STRONG, "client_address": "10.0.0.1",
                                       "one_time_password": "123456", "grant_id": None}, {})
    assert wrong.value.field == "secret_key" and "sealed under accounts key" in str(wrong.value)
    assert event_count(accounts.database_url, "accounts.signed_in.v1") == 0
