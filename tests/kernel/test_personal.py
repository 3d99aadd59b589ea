"""Crypto-shredding in the event kernel (kernel.personal): personal fields are stored sealed
with a key per person, reads open them, erasing a person destroys the key and the log still
verifies; master keys rotate while the data keys stay readable."""
import json

import pytest
from marshmallow import Schema, fields, validate
from sqlalchemy import text

from contracts.fields import personal
from kernel import migrate, personal as pii
from kernel.catalogue import EventCatalogue
from kernel.db import create_service_engine, transaction
from kernel.envelope import PendingEvent
from kernel.errors import EventSchemaError
from kernel.hashchain import verify_log
from kernel.store import SqlAlchemyEventStore
from kernel.trace import events_about
from tests.kernel.support import ACTOR, JURISDICTION, T0

NAME, RESIDENT_ID, PHONE = "王秀英", "410928195001011234", "13912345678"


class ContactSchema(Schema):
    name = personal(fields.String(required=True, validate=validate.Length(min=1, max=64)))
    relationship = fields.String(required=True)


class PersonNotedSchema(Schema):
    elder_id = fields.String(required=True)
    resident_id = personal(fields.String(required=True, validate=validate.Length(equal=18)))
    name = personal(fields.String(required=True))
    phone = personal(fields.String(allow_none=True, load_default=None))
    contacts = fields.List(fields.Nested(ContactSchema), required=True)
    village = fields.String(required=True)


class VisitorNotedSchema(Schema):
    personal_subject = "visitor_id"
    visitor_id = fields.String(required=True)
    phone = personal(fields.String(required=True))


class PlainSchema(Schema):
    text = fields.String(required=True)


def _catalogue():
    catalogue = EventCatalogue()
    catalogue.register("pii.person_noted.v1", PersonNotedSchema, "personal")
    catalogue.register("pii.visitor_noted.v1", VisitorNotedSchema, "personal, another subject")
    catalogue.register("pii.plain.v1", PlainSchema, "nothing personal")
    return catalogue


def _person(elder_id="e-1", name=NAME, resident_id=RESIDENT_ID):
    return PendingEvent(stream_id=elder_id, type="pii.person_noted.v1", time=T0, actor=ACTOR,
                        jurisdiction=JURISDICTION,
                        data={"elder_id": elder_id, "resident_id": resident_id, "name": name, "phone": PHONE,
                              "contacts": [{"name": "王小明", "relationship": "son"}], "village": "村一"})


@pytest.fixture
def log(database_url):
    migrate.upgrade("kerneltest", database_url)
    engine = create_service_engine(database_url)
    yield engine, SqlAlchemyEventStore(engine, "kerneltest", _catalogue())
    engine.dispose()


def _append(engine, store, events):
    with transaction(engine) as conn:
        return store.append(conn, events, {e.stream_id: store.stream_version(e.stream_id, conn) for e in events})


def _stored(engine):
    with engine.connect() as conn:
        return [row.data for row in conn.execute(text("SELECT data FROM events ORDER BY position"))]


def test_personal_fields_are_stored_sealed_and_read_back_opened(log):
    engine, store = log
    appended = _append(engine, store, [_person(), PendingEvent(
        stream_id="note", type="pii.plain.v1", data={"text": NAME}, time=T0, actor=ACTOR, jurisdiction=JURISDICTION)])
    assert appended[0].data["name"] == NAME          # the caller's envelope holds what it appended
    stored = _stored(engine)
    for value in (NAME, RESIDENT_ID, PHONE, "王小明"):
        assert value not in stored[0]
    sealed = json.loads(stored[0])
    assert sealed["village"] == "村一" and sealed["contacts"][0]["relationship"] == "son"
    assert sealed["name"] == sealed["resident_id"] == sealed["contacts"][0]["name"] == pii.SEALED
    assert sealed[pii.BOX].startswith("e-1:")
    assert json.loads(stored[1]) == {"text": NAME}   # an unmarked field stays plaintext
    [event] = store.read_stream("e-1")
    assert event.data == _person().data
    assert [e["data"]["name"] for e in events_about(engine, "e-1")] == [NAME]
    assert verify_log(engine).ok


def test_erasing_a_person_reads_erased_everywhere_and_the_log_still_verifies(log):
    engine, store = log
    _append(engine, store, [_person("e-1"), _person("e-2", "李四")])
    before = _stored(engine)
    with transaction(engine) as conn:
        assert pii.erase(conn, "e-1", "erasure-event", "2026-12-07T00:00:00Z")
    assert _stored(engine) == before                 # nothing in the log changed
    assert verify_log(engine).ok
    erased, kept = store.read_stream("e-1")[0].data, store.read_stream("e-2")[0].data
    assert erased["name"] == erased["resident_id"] == erased["phone"] == pii.ERASED
    assert erased["contacts"] == [{"name": pii.ERASED, "relationship": "son"}] and erased["village"] == "村一"
    assert kept["name"] == "李四"
    # Another process (nothing cached) reads the same.
    pii._keys_by_engine.clear()
    assert store.read_stream("e-1")[0].data["name"] == pii.ERASED
    # Its contract still loads: the marker stays where the field's rules would refuse it.
    loaded = store.catalogue.deserialize("pii.person_noted.v1", erased)
    assert loaded["resident_id"] == pii.ERASED and loaded["village"] == "村一"
    store.catalogue.validate("pii.person_noted.v1", erased)
    with pytest.raises(EventSchemaError):            # a bad value that is not a marker is still refused
        store.catalogue.validate("pii.person_noted.v1", {**erased, "village": 5})
    # Data arriving later for an erased person is not taken in again.
    _append(engine, store, [_person("e-1", "王秀英")])
    assert NAME not in _stored(engine)[-1]
    assert store.read_stream("e-1")[-1].data["name"] == pii.ERASED


def test_the_person_is_the_elder_or_the_field_the_contract_names(log):
    engine, store = log
    _append(engine, store, [PendingEvent(stream_id="v-1", type="pii.visitor_noted.v1", time=T0, actor=ACTOR,
                                         jurisdiction=JURISDICTION, data={"visitor_id": "v-1", "phone": PHONE})])
    assert json.loads(_stored(engine)[0])[pii.BOX].startswith("visitor_id:v-1:")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT person_id FROM personal_keys")).scalars().all() == ["visitor_id:v-1"]


def test_sealed_values_moved_to_another_event_or_altered_do_not_open(log):
    engine, store = log
    _append(engine, store, [_person(), _person("e-2")])
    first, second = (json.loads(data) for data in _stored(engine))
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT event_id FROM events ORDER BY position")).scalars().all()
    box = first[pii.BOX]
    with engine.connect() as conn:
        for doctored, event_id in (({**second, pii.BOX: box}, ids[1]),              # another event's box
                                   ({**first}, ids[1]),                             # under another event id
                                   ({**first, pii.BOX: box[:-8] + "AAAAAAA="}, ids[0]),   # altered
                                   ({**first, "phone": "13000000000"}, ids[0])):    # a sealed place replaced
            with pytest.raises(pii.PersonalDataError, match="altered"):
                pii.open_payloads(conn, [json.loads(json.dumps(doctored))], [event_id], ["pii.person_noted.v1"])


def test_the_master_key_rotates_and_old_keys_are_rewrapped_while_readers_keep_reading(log, tmp_path, monkeypatch):
    engine, store = log
    key_file = tmp_path / "master-keys.json"
    monkeypatch.delenv("MASTER_KEY", raising=False)
    monkeypatch.setenv("MASTER_KEY_FILE", str(key_file))
    pii.configure({})
    try:
        _append(engine, store, [_person("e-1")])
        first = pii.master_keyring().active
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert pii.master_keys_in_use(engine) == {first: 1}
        running = store.read_stream("e-1")           # a running service with the old key cached
        rotated = pii.master_keyring().rotated()
        assert pii.rewrap(engine, rotated) == 1
        assert pii.master_keys_in_use(engine) == {rotated.active: 1}
        # A process that loaded the old file meets a key id it does not hold: it reads the file again.
        pii._keys_by_engine.clear()
        assert store.read_stream("e-1")[0].data == running[0].data
        retired = rotated.without(first)
        assert list(retired.keys) == [rotated.active]
        pii.configure({})
        pii._keys_by_engine.clear()
        assert store.read_stream("e-1")[0].data["name"] == NAME
        with pytest.raises(pii.PersonalDataError, match="active"):
            retired.without(retired.active)
    finally:
        pii.configure({})
        pii._keys_by_engine.clear()


def test_a_bad_master_key_is_refused_naming_it(monkeypatch):
    with pytest.raises(pii.PersonalDataError) as raised:
        pii.MasterKeyring.from_text("k1:c2hvcnQ=")
    assert raised.value.field == "master_key"


def test_a_personal_field_that_is_not_a_string_is_refused_at_registration():
    class Bad(Schema):
        birth = personal(fields.Date(required=True))
    with pytest.raises(TypeError, match="String"):
        EventCatalogue().register("pii.bad.v1", Bad, "bad")


def test_eldercare_keys_rotate_rewraps_every_services_keys_and_retire_drops_the_old_one(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli.app import app
    from contracts.services import PROCESSES
    key_file = tmp_path / "keys" / "master-keys.json"
    monkeypatch.delenv("MASTER_KEY", raising=False)
    monkeypatch.setenv("MASTER_KEY_FILE", str(key_file))
    for service in PROCESSES:      # none migrated but the registry: they hold no keys
        monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / f'{service}.db'}")
    registry_url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade("registry", registry_url)
    engine = create_service_engine(registry_url)
    store = SqlAlchemyEventStore(engine, "registry", _catalogue())
    try:
        pii.configure({})
        _append(engine, store, [_person("e-1"), _person("e-2")])
        first = pii.master_keyring().active
        runner = CliRunner()
        assert runner.invoke(app, ["keys", "retire", first]).exit_code == 2        # the active key
        result = runner.invoke(app, ["keys", "rotate"])
        assert result.exit_code == 0, result.output
        active = json.loads(key_file.read_text())["active"]
        assert active != first and "registry: 2 data key(s) rewrapped" in result.output
        assert pii.master_keys_in_use(engine) == {active: 2}
        result = runner.invoke(app, ["keys", "retire", first])
        assert result.exit_code == 0, result.output
        assert list(json.loads(key_file.read_text())["keys"]) == [active]
        pii.configure({})
        pii._keys_by_engine.clear()
        assert store.read_stream("e-2")[0].data["name"] == NAME
    finally:
        engine.dispose()
        pii.configure({})
        pii._keys_by_engine.clear()
