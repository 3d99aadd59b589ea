"""Personal data by design: the personal fields of events are stored encrypted, one key per
person, so that erasing a person (destroying their key) needs no change to the log.

- A contract marks its personal fields (``contracts.fields.personal``); the catalogue
  derives their paths (``name``, ``contacts.*.phone``, ``changes.resident_id``). Unmarked
  fields, and every event of a contract with none, are stored as before.
- On append the store replaces each personal value by ``pii:v1`` and puts the values, with
  their places, in one AES-GCM box per event under the person's data key (``BOX``). The hash chain, Merkle checkpoints,
  proofs and export bundles cover these stored bytes, so they verify before and after an
  erasure alike.
- Each data key is stored wrapped (AES-GCM) by a master key held outside the database
  (``PRIVACY`` in config.yml: the environment or a file), in the service's own
  ``personal_keys`` table. ``rewrap`` moves every key to the active master key while the
  services run (``eldercare keys rotate``).
- Reads open the values transparently; the values of an erased person read ``ERASED``.
  Unwrapped keys are cached per process (for ``key_cache_seconds``), so the append path
  pays a key lookup once per person, not once per event.
"""
from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection, Engine

from kernel.errors import EldercareError
from kernel.schema import personal_keys

# What a personal value of an erased person reads as, everywhere (API answers, pages, exports).
ERASED = "[erased]"
DEFAULT_MASTER_KEY_FILE = "var/keys/master-keys.json"
DEFAULT_KEY_CACHE_SECONDS = 60.0
_NONCE = 12


class PersonalDataError(EldercareError):
    code = "personal_data_error"


# -- master keys -------------------------------------------------------------------------
@dataclass
class MasterKeyring:
    """The master keys that wrap data keys: ``active`` wraps new keys, every one unwraps.

    From ``PRIVACY.master_key`` (``MASTER_KEY``: ``id:base64[,id:base64…]``, the first one
    active) when set, else from ``PRIVACY.master_key_file`` (JSON ``{"active", "keys"}``,
    created with one fresh key on first use, mode 0600)."""

    keys: dict[str, bytes]
    active: str
    path: Path | None = None

    @classmethod
    def from_text(cls, text: str) -> "MasterKeyring":
        keys, active = {}, None
        for part in (p.strip() for p in text.split(",") if p.strip()):
            key_id, _, encoded = part.partition(":")
            keys[key_id] = _master_key(key_id, encoded, "MASTER_KEY")
            active = active or key_id
        if not keys:
            raise PersonalDataError("MASTER_KEY is set but holds no key (id:base64 of 32 bytes)", field="MASTER_KEY")
        return cls(keys, active)

    @classmethod
    def from_file(cls, path: str | os.PathLike, create: bool = True) -> "MasterKeyring":
        path = Path(path)
        if not path.exists():
            if not create:
                raise PersonalDataError(f"no master key file at {path}", field="MASTER_KEY_FILE")
            _create_key_file(path)
        data = json.loads(path.read_text())
        try:
            keys = {key_id: _master_key(key_id, encoded, str(path)) for key_id, encoded in data["keys"].items()}
            active = data["active"]
        except (KeyError, TypeError, AttributeError) as exc:
            raise PersonalDataError(f"{path}: not a master key file ({exc!r})", field="MASTER_KEY_FILE") from exc
        if active not in keys:
            raise PersonalDataError(f"{path}: the active key {active!r} is not among its keys", field="MASTER_KEY_FILE")
        return cls(keys, active, path)

    def reloaded(self) -> "MasterKeyring":
        """The file as it is now (another process may have rotated it); itself from the environment."""
        return MasterKeyring.from_file(self.path, create=False) if self.path else self

    def wrap(self, person_id: str, data_key: bytes) -> tuple[str, str]:
        nonce = secrets.token_bytes(_NONCE)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, data_key, person_id.encode())
        return self.active, base64.b64encode(nonce + sealed).decode("ascii")

    def unwrap(self, key_id: str, person_id: str, wrapped: str) -> bytes:
        master = self.keys.get(key_id)
        if master is None:
            raise PersonalDataError(f"the data key of {person_id!r} is wrapped by master key {key_id!r}, "
                                    f"which this process does not hold", field="master_key")
        raw = base64.b64decode(wrapped)
        try:
            return AESGCM(master).decrypt(raw[:_NONCE], raw[_NONCE:], person_id.encode())
        except InvalidTag:
            raise PersonalDataError(f"the data key of {person_id!r} does not open with master key {key_id!r}",
                                    field="master_key") from None

    def rotated(self) -> "MasterKeyring":
        """A new active key added to the file (the old ones stay until every row is rewrapped)."""
        if self.path is None:
            raise PersonalDataError("the master key comes from MASTER_KEY: put the new key first in MASTER_KEY "
                                    "(id:base64,old-id:base64), restart, then run `eldercare keys rewrap`",
                                    field="MASTER_KEY")
        key_id = f"m{int(time.time())}"
        while key_id in self.keys:
            key_id += "x"
        keys = {**self.keys, key_id: secrets.token_bytes(32)}
        _write_key_file(self.path, keys, key_id)
        return MasterKeyring(keys, key_id, self.path)

    def without(self, key_id: str) -> "MasterKeyring":
        if key_id == self.active:
            raise PersonalDataError(f"{key_id!r} is the active master key; rotate first", field="key_id")
        if key_id not in self.keys:
            raise PersonalDataError(f"no master key {key_id!r} (held: {', '.join(sorted(self.keys))})", field="key_id")
        if self.path is None:
            raise PersonalDataError("the master key comes from MASTER_KEY: remove it there", field="MASTER_KEY")
        keys = {k: v for k, v in self.keys.items() if k != key_id}
        _write_key_file(self.path, keys, self.active)
        return MasterKeyring(keys, self.active, self.path)


def _master_key(key_id: str, encoded: str, where: str) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError):
        key = b""
    if not key_id or len(key) != 32:
        raise PersonalDataError(f"{where}: master key {key_id!r} must be id:base64 of 32 random bytes",
                                field="master_key")
    return key


def _write_key_file(path: Path, keys: Mapping[str, bytes], active: str) -> None:
    text = json.dumps({"active": active, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}},
                      indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(path.name + f".{os.getpid()}.tmp")
    descriptor = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(scratch, path)     # readers see the old file or the new one, never half of one


def _create_key_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return                    # another process made it first: use theirs
    key_id = f"m{int(time.time())}"
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps({"active": key_id, "keys": {key_id: base64.b64encode(secrets.token_bytes(32)).decode()}},
                                indent=2))


_configured: dict[str, Any] = {}


def configure(config: Mapping | None) -> None:
    """Take ``PRIVACY`` from a service's configuration (before its first append)."""
    section = dict((config or {}).get("PRIVACY") or {})
    _configured.clear()
    _configured.update(section)
    _keyrings.clear()


def _setting(key: str, env: str, default):
    value = _configured.get(key)
    if value in (None, ""):
        value = os.environ.get(env) or default
    return value


_keyrings: dict[str, MasterKeyring] = {}


def master_keyring() -> MasterKeyring:
    """The process's master keyring, per configuration (then the environment, then the default file)."""
    text = _setting("master_key", "MASTER_KEY", "")
    path = "" if text else str(_setting("master_key_file", "MASTER_KEY_FILE", DEFAULT_MASTER_KEY_FILE))
    cache_key = text or path
    if cache_key not in _keyrings:
        if text:
            _keyrings[cache_key] = MasterKeyring.from_text(str(text))
        else:
            from kernel.config import repository_path
            _keyrings[cache_key] = MasterKeyring.from_file(repository_path(path))
    return _keyrings[cache_key]


def _reload_keyring() -> MasterKeyring:
    ring = master_keyring().reloaded()
    _keyrings.clear()
    text = _setting("master_key", "MASTER_KEY", "")
    _keyrings[text or str(_setting("master_key_file", "MASTER_KEY_FILE", DEFAULT_MASTER_KEY_FILE))] = ring
    return ring


# -- which values are personal -----------------------------------------------------------
PersonalPath = tuple[str, ...]   # keys, "*" for every item of a list


def personal_paths_of(schema) -> tuple[PersonalPath, ...]:
    """The personal fields of a marshmallow schema, as paths (see ``contracts.fields.personal``)."""
    from marshmallow import fields as mf
    found: list[PersonalPath] = []
    for name, field in schema.fields.items():
        key = field.data_key or name
        found += [(key, *path) for path in _field_paths(field, mf)]
    return tuple(found)


def _field_paths(field, mf) -> list[PersonalPath]:
    metadata = field.metadata or {}
    if metadata.get("personal_paths") is not None:
        return [tuple(path) for path in metadata["personal_paths"]]
    if metadata.get("personal"):
        if not isinstance(field, mf.String):
            raise TypeError(f"personal field {field!r} must be a String field: an erased value reads as "
                            f"{ERASED!r}, which must still be a value of its type")
        return [()]
    if isinstance(field, mf.Nested):
        nested = field.schema
        return list(personal_paths_of(nested))
    if isinstance(field, mf.List):
        return [("*", *path) for path in _field_paths(field.inner, mf)]
    return []


def person_of(subject_field: str | None, data: Mapping, stream_id: str) -> str:
    """Whose key protects an event's personal values: the payload's ``elder_id`` by default
    (a supporter's phone is part of the elder's record), or the field the contract names."""
    if subject_field is None:
        subject_field = "elder_id" if "elder_id" in data else None
    if subject_field is None:
        return stream_id
    value = data.get(subject_field)
    if not isinstance(value, str) or not value:
        return stream_id
    return value if subject_field == "elder_id" else f"{subject_field}:{value}"


def erased_paths(data, paths: Sequence[PersonalPath]) -> list[tuple]:
    """The concrete places (list indexes included) where ``data`` holds ``ERASED`` at a personal path."""
    found: list[tuple] = []

    def walk(value, path, at):
        if not path:
            if value == ERASED:
                found.append(at)
            return
        step, rest = path[0], path[1:]
        if step == "*":
            if isinstance(value, list):
                for index, item in enumerate(value):
                    walk(item, rest, at + (index,))
        elif isinstance(value, dict) and step in value:
            walk(value[step], rest, at + (step,))

    for path in paths:
        walk(data, path, ())
    return found


def redacted(data: Mapping, paths: Sequence[PersonalPath], marker: str = ERASED) -> dict:
    """A copy of ``data`` with every value at ``paths`` replaced by ``marker`` (``ERASED`` for
    copies a consumer keeps of an erased person; a mask for a view)."""
    if not paths:
        return dict(data)
    tree = compile_tree(paths)
    stored = _sealed_copy(data, tree, [])
    _fill(stored, tree, itertools.repeat(marker))
    return stored


# -- data keys per person ------------------------------------------------------------------
_ERASED_KEY = object()


class PersonalKeys:
    """The data keys of one database, unwrapped and cached for this process."""

    def __init__(self, cache_seconds: float):
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()

    def _cached(self, person_id: str):
        found = self._cache.get(person_id)
        if found is None or time.monotonic() - found[1] > self.cache_seconds:
            return None
        return found[0]

    def keys_for(self, conn: Connection, person_ids: Iterable[str], create: bool) -> dict[str, Any]:
        """AESGCM per person (``_ERASED_KEY`` for an erased one); missing keys are made when
        ``create`` (in the caller's transaction), else the person reads as having none (None)."""
        wanted = set(person_ids)
        found = {p: k for p in wanted if (k := self._cached(p)) is not None}
        missing = wanted - found.keys()
        if missing:
            rows = conn.execute(_KEYS_OF, {"ids": sorted(missing)}).all()
            for row in rows:
                found[row.person_id] = self._remember(row.person_id, row.master_key_id, row.wrapped)
            fresh = missing - found.keys()
            if fresh and create:
                found.update(self._create(conn, sorted(fresh)))
        return found

    def _remember(self, person_id: str, master_key_id: str | None, wrapped: str | None):
        if wrapped is None:
            key = _ERASED_KEY
        else:
            ring = master_keyring()
            if master_key_id not in ring.keys:
                ring = _reload_keyring()       # rotated by another process since we loaded it
            key = AESGCM(ring.unwrap(master_key_id, person_id, wrapped))
        self._cache[person_id] = (key, time.monotonic())
        return key

    def _create(self, conn: Connection, person_ids: list[str]) -> dict[str, Any]:
        ring, made, rows = master_keyring(), {}, []
        for person_id in person_ids:
            data_key = AESGCM.generate_key(bit_length=256)
            key_id, wrapped = ring.wrap(person_id, data_key)
            rows.append({"person_id": person_id, "master_key_id": key_id, "wrapped": wrapped, "erased_at": None,
                         "erasure": None})
            made[person_id] = AESGCM(data_key)
        conn.execute(insert(personal_keys), rows)
        # Cached once the transaction commits would be exact; a rolled-back key is simply
        # made again (its values were rolled back with it).
        now = time.monotonic()
        for person_id, key in made.items():
            self._cache[person_id] = (key, now)
        return made

    def forget(self, person_id: str) -> None:
        self._cache.pop(person_id, None)

    def mark_erased(self, person_id: str) -> None:
        self._cache[person_id] = (_ERASED_KEY, time.monotonic())


_KEYS_OF = (select(personal_keys.c.person_id, personal_keys.c.master_key_id, personal_keys.c.wrapped)
            .where(personal_keys.c.person_id.in_(bindparam("ids", expanding=True))))

_keys_by_engine: "weakref.WeakKeyDictionary[Engine, PersonalKeys]" = weakref.WeakKeyDictionary()
_keys_lock = threading.Lock()


def keys_of(engine: Engine) -> PersonalKeys:
    with _keys_lock:
        keys = _keys_by_engine.get(engine)
        if keys is None:
            seconds = float(_setting("key_cache_seconds", "PERSONAL_KEY_CACHE_SECONDS", DEFAULT_KEY_CACHE_SECONDS))
            keys = _keys_by_engine[engine] = PersonalKeys(seconds)
        return keys


# -- sealing and opening ------------------------------------------------------------------
# As stored, each personal value of an event is replaced by ``SEALED`` and the values, in the
# order of the contract's personal paths, go into one AES-GCM box under ``BOX``
# (``<person>:<base64 nonce+ciphertext>``, with the person and the event id as associated
# data): one encryption per event, and a box opens only in the event it was made for.
SEALED = "pii:v1"
BOX = "pii:v1:box"
_LEAF = None
# The personal paths of every registered event type, as a tree (``compile_tree``): reads find
# the sealed places of a stored payload by its type, whichever catalogue registered it.
_TREES: dict[str, dict] = {}


def compile_tree(paths: Sequence[PersonalPath]) -> dict:
    tree: dict = {}
    for path in paths:
        node = tree
        for step in path[:-1]:
            node = node.setdefault(step, {})
        node[path[-1]] = _LEAF
    return tree


def remember_tree(type_: str, tree: dict) -> None:
    if tree:
        _TREES[type_] = tree


def _sealed_copy(value, tree: dict, values: list):
    """A copy of ``value`` with each personal value (appended to ``values``) replaced by ``SEALED``."""
    if "*" in tree:
        sub = tree["*"]
        if not isinstance(value, list):
            return value
        if sub is _LEAF:
            values.extend(item for item in value if item is not None)
            return [None if item is None else SEALED for item in value]
        return [None if item is None else _sealed_copy(item, sub, values) for item in value]
    if not isinstance(value, dict):
        return value
    copy = dict(value)
    for key, sub in tree.items():
        item = value.get(key)
        if item is None:
            continue
        if sub is _LEAF:
            values.append(item)
            copy[key] = SEALED
        else:
            copy[key] = _sealed_copy(item, sub, values)
    return copy


def _fill(value, tree: dict, supply) -> None:
    """Put the next value of ``supply`` at each ``SEALED`` place of ``value`` (in place), in
    the order ``_sealed_copy`` took them."""
    if "*" in tree:
        sub = tree["*"]
        if isinstance(value, list):
            if sub is _LEAF:
                for index, item in enumerate(value):
                    if item == SEALED:
                        value[index] = next(supply)
            else:
                for item in value:
                    if item is not None:
                        _fill(item, sub, supply)
        return
    if isinstance(value, dict):
        for key, sub in tree.items():
            item = value.get(key)
            if item is None:
                continue
            if sub is _LEAF:
                if item == SEALED:
                    value[key] = next(supply)
            else:
                _fill(item, sub, supply)


def _aad(person: str, event_id: str) -> bytes:
    return f"{person}|{event_id}".encode()


def seal_payloads(conn: Connection, items: Sequence[tuple[Any, Mapping, str, str]]) -> list[dict]:
    """Each ``(contract, data, stream_id, event_id)`` → the data as stored. Only contracts with
    personal paths are touched; their person's key is made on first use (in this transaction)."""
    result = [item[1] for item in items]
    todo = []
    for index, (contract, data, stream_id, event_id) in enumerate(items):
        if contract.personal_paths:
            values: list = []
            stored = _sealed_copy(data, contract.personal_tree, values)
            if values:
                todo.append((index, stored, values, person_of(contract.personal_subject, data, stream_id), event_id,
                             contract.personal_tree))
    if not todo:
        return result
    keys = keys_of(conn.engine).keys_for(conn, {item[3] for item in todo}, create=True)
    for index, stored, values, person, event_id, tree in todo:
        key = keys[person]
        if key is _ERASED_KEY:          # an erased person's data is not taken in again
            _fill(stored, tree, itertools.repeat(ERASED))
        else:
            nonce = os.urandom(_NONCE)
            box = key.encrypt(nonce, json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode(),
                              _aad(person, event_id))
            stored[BOX] = f"{person}:{base64.b64encode(nonce + box).decode('ascii')}"
        result[index] = stored
    return result


def needs_opening(data_text: str) -> bool:
    return BOX in data_text


def open_payloads(conn: Connection, payloads: Sequence[dict], event_ids: Sequence[str],
                  types: Sequence[str]) -> list[dict]:
    """Stored payloads (parsed; opened in place) of the events ``event_ids`` of ``types`` with
    their personal values back; an erased person's read ``ERASED``."""
    boxed = [(data, event_id, type_) for data, event_id, type_ in zip(payloads, event_ids, types) if BOX in data]
    if not boxed:
        return list(payloads)
    people = {data[BOX].rpartition(":")[0] for data, _, _ in boxed}
    keys = keys_of(conn.engine).keys_for(conn, people, create=False)
    for data, event_id, type_ in boxed:
        _open(data, event_id, type_, keys)
    return list(payloads)


def open_text(conn: Connection, data_text: str, event_id: str, type_: str) -> dict:
    data = json.loads(data_text)
    return open_payloads(conn, [data], [event_id], [type_])[0] if needs_opening(data_text) else data


def _open(data: dict, event_id: str, type_: str, keys) -> None:
    person, _, encoded = data.pop(BOX).rpartition(":")
    tree = _TREES.get(type_)
    if tree is None:
        raise PersonalDataError(f"{type_} holds sealed personal values but no contract of this process "
                                f"declares its personal fields", field="type")
    key = keys.get(person)
    if key is None or key is _ERASED_KEY:
        _fill(data, tree, itertools.repeat(ERASED))   # erased (or a copied log without its keys)
        return
    raw = base64.b64decode(encoded)
    try:
        supply = iter(json.loads(key.decrypt(raw[:_NONCE], raw[_NONCE:], _aad(person, event_id))))
        _fill(data, tree, supply)
        left_over = next(supply, None) is not None
    except (InvalidTag, StopIteration):
        left_over = True
    if left_over:
        raise PersonalDataError(f"the personal values of {person!r} do not open in event {event_id}: "
                                f"the stored event was altered", field=BOX)


# -- erasure and rotation -----------------------------------------------------------------
def erase(conn: Connection, person_id: str, erasure: str, erased_at: str) -> bool:
    """Destroy the person's data key in this database (in the caller's transaction): every
    past and future read of their sealed values answers ``ERASED``. True if a key existed."""
    existed = conn.execute(update(personal_keys).where(personal_keys.c.person_id == person_id)
                           .values(wrapped=None, master_key_id=None, erased_at=erased_at, erasure=erasure)).rowcount
    if not existed:
        # A tombstone, so that data arriving later for this person is not taken in again.
        conn.execute(insert(personal_keys), {"person_id": person_id, "master_key_id": None, "wrapped": None,
                                             "erased_at": erased_at, "erasure": erasure})
    keys_of(conn.engine).mark_erased(person_id)
    return bool(existed)


def erase_copies(conn: Connection, envelope, updates: Sequence = (), person_ids: Iterable[str] = ()) -> None:
    """What a consuming service does on an erasure event (``registry.elder_erased``), in its
    inbox transaction: destroy its own key for the elder (and ``person_ids``, e.g. the
    streams it keeps about them), run its ``updates`` (statements dropping the copies in
    its read models), and forget kept command answers that name the elder. SQLite's freed
    pages are zeroed (secure_delete); the write-ahead log is truncated after the commit by
    ``purge_freed_pages``."""
    from kernel.envelope import format_time
    elder_id = envelope.data["elder_id"]
    for person_id in (elder_id, *person_ids):
        erase(conn, person_id, envelope.id, format_time(envelope.recorded_time))
    for statement in updates:
        conn.execute(statement)
    drop_command_answers_naming(conn, elder_id)


def is_erased(conn: Connection, person_id: str) -> bool:
    row = conn.execute(select(personal_keys.c.erased_at).where(personal_keys.c.person_id == person_id)).first()
    return bool(row and row.erased_at)


def purge_freed_pages(engine: Engine) -> None:
    """After an erasure on SQLite: fold the write-ahead log into the file and truncate it, so
    that the old pages (the key, the plaintext copies) do not linger in ``-wal``. Deleted
    content itself is zeroed by ``PRAGMA secure_delete`` (kernel.db)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def rewrap(engine: Engine, ring: MasterKeyring | None = None, page: int = 500) -> int:
    """Wrap every data key not yet under the active master key with it; services keep
    running (each reads the key file again when it meets a key id it does not hold)."""
    ring = ring or master_keyring()
    done = 0
    from kernel.db import transaction
    while True:
        with transaction(engine) as conn:
            rows = conn.execute(select(personal_keys.c.person_id, personal_keys.c.master_key_id,
                                       personal_keys.c.wrapped)
                                .where(personal_keys.c.wrapped.is_not(None),
                                       personal_keys.c.master_key_id != ring.active).limit(page)).all()
            for row in rows:
                key_id, wrapped = ring.wrap(row.person_id, ring.unwrap(row.master_key_id, row.person_id, row.wrapped))
                conn.execute(update(personal_keys).where(personal_keys.c.person_id == row.person_id,
                                                         personal_keys.c.master_key_id == row.master_key_id)
                             .values(master_key_id=key_id, wrapped=wrapped))
        done += len(rows)
        if len(rows) < page:
            return done


def master_keys_in_use(engine: Engine) -> dict[str, int]:
    from sqlalchemy import func
    with engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(
            select(personal_keys.c.master_key_id, func.count()).where(personal_keys.c.wrapped.is_not(None))
            .group_by(personal_keys.c.master_key_id))}


def drop_command_answers_naming(conn: Connection, person_id: str) -> int:
    """Forget the kept answers of applied commands (``kernel.commands``) that name the person:
    they may quote their details. The command ids stay, so a redelivery still applies nothing
    (it is refused, as when an answer was never kept)."""
    from kernel.schema import applied_commands
    return conn.execute(update(applied_commands).where(applied_commands.c.answer.contains(person_id))
                        .values(answer=None)).rowcount
