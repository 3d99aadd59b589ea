"""The import's units of work: open (parse and stage), check a page of rows with the
registry, find the file's own probable duplicates, register a page of accepted rows,
decide a duplicate, apply merges.

Every step is resumable by design: a row's status moves only after the registry answered,
and each registration carries the command id of (import, row), so a page sent again after a
crash is answered by the registry as the first time and registers nothing twice.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections import deque
from datetime import date

import structlog
from sqlalchemy import and_, bindparam, delete, func, select, update

from kernel.db import insert_many
from kernel.envelope import Actor, PendingEvent
from kernel.errors import CommandRejected, ConflictError, EldercareError, NotFoundError, ValidationError
from kernel.likeness import LikenessIndex, Person, REASON_LABELS
from services.imports.adapters.tables import import_files, import_matches, import_rows, imports
from services.imports.ledger import YIELD_EVERY, VillageFinder, column_positions, pause, read_sheet, row_payload

log = structlog.get_logger(__name__)
IMPORT_NAMESPACE = uuid.UUID("7a4e9b02-61c3-4d8f-a5e7-3b9c0d2f1e68")
CHECK_PAGE = 500
COMMIT_PAGE = 100
IN_FLIGHT = 8           # registrations awaiting their answer at once (the registry runs max_workers)


def import_id_for(jurisdiction: str, file_sha256: str) -> str:
    """One import per file and jurisdiction: uploading the same file again is the same import."""
    return str(uuid.uuid5(IMPORT_NAMESPACE, f"{jurisdiction}\n{file_sha256}"))


def _event(import_id, type_, data, actor: Actor, jurisdiction, now) -> PendingEvent:
    return PendingEvent(import_id, f"imports.{type_}.v1", {"import_id": import_id, **data}, now, actor, jurisdiction)


def open_import(db, content: bytes, filename: str, mapping: dict | None, jurisdiction: str, actor: Actor) -> str:
    """Check the file's kind and columns at once (a person waits for that answer), keep it,
    and leave its rows to the background (``stage_rows``)."""
    digest = hashlib.sha256(content).hexdigest()
    import_id = import_id_for(jurisdiction, digest)
    with db.connect() as conn:
        if conn.execute(select(imports.c.import_id).where(imports.c.import_id == import_id)).first():
            return import_id
    sheet = read_sheet(content, filename, headers_only=True)
    used = {key: sheet.headers[index] for key, index in column_positions(sheet.headers, mapping).items()}
    with db.unit_of_work() as uow:
        uow.conn.execute(imports.insert().values(
            import_id=import_id, filename=filename, file_sha256=digest, jurisdiction=jurisdiction,
            mapping=json.dumps(used, ensure_ascii=False), status="reading", rows_total=0,
            opened_by=json.dumps(actor.to_dict()), opened_at=uow.now().isoformat(),
            effective_date=db.clock.today().isoformat()))
        uow.conn.execute(import_files.insert().values(import_id=import_id, content=content))
        uow.append([_event(import_id, "import_opened", {"filename": filename, "file_sha256": digest,
                                                        "jurisdiction": jurisdiction,
                                                        "columns": [{"column": k, "header": v} for k, v in used.items()]},
                           actor, jurisdiction, uow.now())], {import_id: 0})
    log.info("import opened", import_id=import_id, filename=filename)
    return import_id


def stage_rows(db, divisions, record) -> None:
    """Read every row of the kept file into the work list: a row whose cells are not of the
    right form is refused here; the same resident ID twice is one person."""
    with db.connect() as conn:
        content = conn.execute(select(import_files.c.content).where(
            import_files.c.import_id == record.import_id)).scalar_one()
    try:
        sheet = read_sheet(content, record.filename)
        positions = column_positions(sheet.headers, json.loads(record.mapping))
    except ValidationError as error:
        # A file whose header read well but whose body does not: the import stops here, saying why.
        with db.unit_of_work() as uow:
            uow.conn.execute(update(imports).where(imports.c.import_id == record.import_id).values(
                status="failed", problem=error.message))
        log.warning("import file unreadable", import_id=record.import_id, problem=error.message)
        return
    villages = VillageFinder(divisions, record.jurisdiction)
    today = date.fromisoformat(record.effective_date)
    rows, first_row_of = [], {}
    for count, (number, cells) in enumerate(sheet.rows, start=1):
        if count % YIELD_EVERY == 0:
            pause()
        payload, problems = row_payload(cells, positions, villages, today)
        status, same_as = ("refused", None) if problems else ("pending", None)
        if payload is not None:
            first = first_row_of.setdefault(payload["resident_id"], number)
            if first != number:          # the same resident ID is the same person: one record
                status, same_as = "same_person", first
        rows.append({"import_id": record.import_id, "row_no": number,
                     "payload": json.dumps(payload, ensure_ascii=False) if payload else None,
                     "problems": json.dumps(problems, ensure_ascii=False) if problems else None,
                     "status": status, "elder_id": payload["elder_id"] if payload else None, "same_as_row": same_as})
    with db.unit_of_work() as uow:
        uow.conn.execute(delete(import_rows).where(import_rows.c.import_id == record.import_id))
        for start in range(0, len(rows), 1000):
            insert_many(uow.conn, import_rows, rows[start:start + 1000])
        uow.conn.execute(update(imports).where(imports.c.import_id == record.import_id).values(
            status="checking", rows_total=len(rows)))
    log.info("import rows staged", import_id=record.import_id, rows=len(rows))


def load_import(conn, import_id: str):
    row = conn.execute(select(imports).where(imports.c.import_id == import_id)).first()
    if row is None:
        raise NotFoundError(f"no import {import_id!r}", field="import_id")
    return row


def check_page(db, registry, record) -> bool:
    """Check the next page of pending rows with the registry. False when none was left."""
    with db.connect() as conn:
        page = conn.execute(select(import_rows.c.row_no, import_rows.c.payload).where(
            import_rows.c.import_id == record.import_id, import_rows.c.status == "pending")
            .order_by(import_rows.c.row_no).limit(CHECK_PAGE)).all()
    if not page:
        return False
    answers = registry.query("registry", "check_registrations", [json.loads(r.payload) for r in page],
                             json.loads(record.opened_by))
    with db.unit_of_work() as uow:
        for row, answer in zip(page, answers):
            if answer["existing"]:
                values = {"status": "existing", "elder_id": answer["existing"]}
            elif answer["errors"]:
                values = {"status": "refused", "problems": json.dumps(answer["errors"], ensure_ascii=False)}
            else:
                values = {"status": "accepted"}
            uow.conn.execute(update(import_rows).where(import_rows.c.import_id == record.import_id,
                                                       import_rows.c.row_no == row.row_no).values(**values))
            for similar in answer["similar"] if not answer["existing"] else ():
                _add_match(uow.conn, record.import_id, row.row_no, f"elder:{similar['elder_id']}", similar["reason"])
    return True


def _add_match(conn, import_id, row_no, other, reason):
    exists = conn.execute(select(import_matches.c.row_no).where(
        import_matches.c.import_id == import_id, import_matches.c.row_no == row_no,
        import_matches.c.other == other)).first()
    if not exists:
        conn.execute(import_matches.insert().values(import_id=import_id, row_no=row_no, other=other, reason=reason,
                                                    decision=None, merged=False))


def finish_check(db, record) -> None:
    """Every row is checked: find the file's own probable duplicates among its acceptable
    rows (a later row against an earlier one), and record the dry run's figures."""
    with db.unit_of_work() as uow:
        rows = uow.conn.execute(select(import_rows.c.row_no, import_rows.c.payload).where(
            import_rows.c.import_id == record.import_id, import_rows.c.status == "accepted")
            .order_by(import_rows.c.row_no)).all()
        index = LikenessIndex()
        for count, row in enumerate(rows, start=1):
            if count % YIELD_EVERY == 0:
                pause()
            p = json.loads(row.payload)
            person = Person(row.row_no, p["resident_id"], p["name"], p["birth_date"], p["division_code"],
                            p["household_id"])
            for other, reason in index.probable(person):
                _add_match(uow.conn, record.import_id, row.row_no, f"row:{other.ref}", reason)
            index.add(person)
        figures = summary(uow.conn, record.import_id)
        uow.conn.execute(update(imports).where(imports.c.import_id == record.import_id).values(status="checked"))
        uow.append([_event(record.import_id, "import_checked", {k: figures[k] for k in (
            "rows", "accepted", "refused", "existing", "same_person", "probable_duplicates")}, Actor.system("imports"),
            record.jurisdiction, uow.now())], {record.import_id: uow.stream_version(record.import_id)})
    log.info("import checked", import_id=record.import_id, **figures)


def summary(conn, import_id: str) -> dict:
    counts = dict(conn.execute(select(import_rows.c.status, func.count()).where(
        import_rows.c.import_id == import_id).group_by(import_rows.c.status)).all())
    matches = conn.execute(select(func.count(func.distinct(import_matches.c.row_no))).where(
        import_matches.c.import_id == import_id)).scalar()
    undecided = conn.execute(select(func.count()).where(import_matches.c.import_id == import_id,
                                                        import_matches.c.decision.is_(None))).scalar()
    statuses = ("pending", "accepted", "refused", "existing", "same_person", "registered")
    figures = {status: counts.get(status, 0) for status in statuses}
    # Registered rows were accepted: the dry run's figure stays what it was.
    figures["accepted"] += figures["registered"]
    return {**figures, "rows": sum(counts.values()), "probable_duplicates": matches, "undecided_duplicates": undecided}


def request_commit(db, import_id: str, actor: Actor) -> None:
    with db.unit_of_work() as uow:
        record = load_import(uow.conn, import_id)
        if record.status in ("committing", "committed"):
            return                          # asked again: the commit is under way or done
        if record.status != "checked":
            raise CommandRejected("the dry run of this import is not finished yet; wait for it, then commit "
                                  "(试运行尚未完成)", field="import_id")
        accepted = summary(uow.conn, import_id)["accepted"]
        uow.conn.execute(update(imports).where(imports.c.import_id == import_id).values(
            status="committing", committed_by=json.dumps(actor.to_dict())))
        uow.append([_event(import_id, "commit_requested", {"rows": accepted}, actor, record.jurisdiction, uow.now())],
                   {import_id: uow.stream_version(import_id)})


def row_command_id(import_id: str, row_no: int) -> str:
    return f"import/{import_id}/row/{row_no}"


def commit_page(db, registry, record) -> bool:
    """Register the next page of accepted rows. False when none was left."""
    with db.connect() as conn:
        page = conn.execute(select(import_rows.c.row_no, import_rows.c.payload).where(
            import_rows.c.import_id == record.import_id, import_rows.c.status == "accepted")
            .order_by(import_rows.c.row_no).limit(COMMIT_PAGE)).all()
    if not page:
        return False
    actor = json.loads(record.committed_by)

    def send(row):
        return row, registry.send("registry", "register_elder", json.loads(row.payload), actor,
                                  command_id=row_command_id(record.import_id, row.row_no))

    # A sliding window: as each answer comes back, the next row goes out.
    waiting, outcomes = deque(send(row) for row in page[:IN_FLIGHT]), []
    for row in page[IN_FLIGHT:] + [None] * len(waiting):
        done, reply = waiting.popleft()
        outcomes.append((done, _registration_outcome(done, reply)))
        if row is not None:
            waiting.append(send(row))
    registered = [{"row": row.row_no, "elder": values.get("elder_id")} for row, values in outcomes
                  if values["status"] == "registered"]
    with db.unit_of_work() as uow:
        if registered:       # one statement for the page (executemany), not one round trip per row
            uow.conn.execute(update(import_rows).where(
                import_rows.c.import_id == record.import_id, import_rows.c.row_no == bindparam("row")).values(
                status="registered", elder_id=func.coalesce(bindparam("elder"), import_rows.c.elder_id)), registered)
        for row, values in outcomes:
            if values["status"] != "registered":
                uow.conn.execute(update(import_rows).where(import_rows.c.import_id == record.import_id,
                                                           import_rows.c.row_no == row.row_no).values(**values))
    return True


def _registration_outcome(row, reply) -> dict:
    try:
        answer = reply.result()
        return {"status": "registered", "elder_id": answer["elder_id"]}
    except ConflictError as error:
        if error.field == "command_id":
            # Registered before a crash that lost only the answer: the elder id is the row's.
            return {"status": "registered"}
        if error.field == "resident_id":
            return {"status": "existing", "problems": json.dumps({"resident_id": [error.message]})}
        return {"status": "refused", "problems": json.dumps({error.field or "_schema": [error.message]})}
    except ValidationError as error:
        return {"status": "refused", "problems": json.dumps(error.errors, ensure_ascii=False)}
    except EldercareError as error:
        return {"status": "refused", "problems": json.dumps({error.field or "_schema": [error.message]})}


def decide_duplicate(db, registry, import_id: str, row_no: int, other: str, decision: str, actor: Actor,
                     today: date) -> None:
    """Record a person's decision. Once the import is committed a merge is made at once, before
    the decision is recorded, so a merge the registry refuses is refused to the person."""
    with db.connect() as conn:
        record = load_import(conn, import_id)
        match = _match(conn, import_id, row_no, other)
        if match.merged:
            raise ConflictError("these records are already merged; undo it with the registry's unmerge",
                                field="decision")
        pair = _merge_pair(conn, record, match) if record.status == "committed" and decision == "merge" else None
    if pair is not None:
        _merge(registry, record, match, *pair, actor.to_dict(), today)
    with db.unit_of_work() as uow:
        uow.conn.execute(update(import_matches).where(
            import_matches.c.import_id == import_id, import_matches.c.row_no == row_no,
            import_matches.c.other == other).values(decision=decision, merged=pair is not None))
        uow.append([_event(import_id, "duplicate_decided", {"row": row_no, "other": other, "decision": decision},
                           actor, record.jurisdiction, uow.now())], {import_id: uow.stream_version(import_id)})


def _match(conn, import_id, row_no, other):
    match = conn.execute(select(import_matches, import_rows.c.elder_id, import_rows.c.status).join(
        import_rows, and_(import_rows.c.import_id == import_matches.c.import_id,
                          import_rows.c.row_no == import_matches.c.row_no)).where(
        import_matches.c.import_id == import_id, import_matches.c.row_no == row_no,
        import_matches.c.other == other)).first()
    if match is None:
        raise NotFoundError(f"row {row_no} of import {import_id} has no probable duplicate {other!r}",
                            field="other")
    return match


def _merge_pair(conn, record, match) -> tuple[str, str] | None:
    """(duplicate, survivor) elder ids once both records are registered, else None."""
    if match.status != "registered":
        return None
    if match.other.startswith("elder:"):
        return match.elder_id, match.other[len("elder:"):]
    other = conn.execute(select(import_rows.c.elder_id, import_rows.c.status).where(
        import_rows.c.import_id == record.import_id, import_rows.c.row_no == int(match.other[len("row:"):]))).first()
    return (match.elder_id, other.elder_id) if other is not None and other.status == "registered" else None


def _merge(registry, record, match, duplicate: str, survivor: str, actor: dict, today: date) -> None:
    """The registry's reversible merge of the row's record into the other, once per pair."""
    chinese, _ = REASON_LABELS[match.reason]
    payload = {"elder_id": duplicate, "survivor_id": survivor, "effective_date": today.isoformat(),
               "reason": f"台账导入 {record.filename} 第{match.row_no}行：{chinese}，经人工确认合并"}
    pair = f"{record.import_id}\n{match.row_no}\n{match.other}".encode()
    try:
        registry.send("registry", "merge_records", payload, actor,
                      command_id="import-merge/" + hashlib.sha256(pair).hexdigest()[:48]).result()
    except ConflictError as error:
        if error.field != "command_id":      # this pair's merge was applied already
            raise


def apply_merges(db, registry, record, today: date) -> int:
    """Merge every pair decided "merge" before the commit, now both records are registered.
    A merge the registry refuses goes back to the person undecided (the reason is logged), so
    the commit still finishes. Returns how many were merged."""
    with db.connect() as conn:
        decided = conn.execute(select(import_matches.c.row_no, import_matches.c.other).where(
            import_matches.c.import_id == record.import_id, import_matches.c.decision == "merge",
            import_matches.c.merged.is_(False))).all()
        work = [(match, _merge_pair(conn, record, match)) for match in
                (_match(conn, record.import_id, d.row_no, d.other) for d in decided)]
    actor = json.loads(record.committed_by or record.opened_by)
    merged = 0
    for match, pair in work:
        if pair is None:
            continue
        try:
            _merge(registry, record, match, *pair, actor, today)
            values = {"merged": True}
            merged += 1
        except (CommandRejected, ConflictError, NotFoundError, ValidationError) as refused:
            log.warning("decided merge refused by the registry; the duplicate is undecided again",
                        import_id=record.import_id, row=match.row_no, other=match.other, reason=refused.message)
            values = {"decision": None}
        with db.unit_of_work() as uow:
            uow.conn.execute(update(import_matches).where(
                import_matches.c.import_id == record.import_id, import_matches.c.row_no == match.row_no,
                import_matches.c.other == match.other).values(**values))
    return merged


def finish_commit(db, record) -> None:
    with db.unit_of_work() as uow:
        figures = summary(uow.conn, record.import_id)
        merged = uow.conn.execute(select(func.count()).where(import_matches.c.import_id == record.import_id,
                                                             import_matches.c.merged.is_(True))).scalar()
        uow.conn.execute(update(imports).where(imports.c.import_id == record.import_id).values(status="committed"))
        uow.append([_event(record.import_id, "import_committed", {"registered": figures["registered"],
                                                                  "merged": merged}, Actor.system("imports"),
                           record.jurisdiction, uow.now())], {record.import_id: uow.stream_version(record.import_id)})
    log.info("import committed", import_id=record.import_id, registered=figures["registered"])


def drop_personal_copies(conn, envelope) -> None:
    """The elder's personal data was erased (``registry.elder_erased``): forget their staged
    row (its ``register_elder`` payload) and the matches naming them, and the uploaded file
    of every import that held them once it is read (the file quotes every row; its SHA-256
    stays in the import's events)."""
    from kernel import personal
    elder_id = envelope.data["elder_id"]
    holding = select(import_rows.c.import_id).where(import_rows.c.elder_id == elder_id)
    read = select(imports.c.import_id).where(imports.c.import_id.in_(holding), imports.c.status != "reading")
    personal.erase_copies(conn, envelope, [
        delete(import_files).where(import_files.c.import_id.in_(read)),
        update(import_rows).where(import_rows.c.elder_id == elder_id).values(payload=None),
        delete(import_matches).where(import_matches.c.other == f"elder:{elder_id}"),
    ])
