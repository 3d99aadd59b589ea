"""An erased elder (registry.elder_erased) leaves nothing in the imports' staging: their
staged row's payload, the matches naming them and the uploaded files that held them go."""
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import select

from kernel import migrate, personal
from kernel.db import create_service_engine, transaction
from services.imports.adapters.tables import import_files, import_matches, import_rows, imports
from services.imports.handlers import drop_personal_copies


def test_an_erasure_drops_the_staged_row_the_matches_and_the_uploaded_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'imports.db'}"
    migrate.upgrade("imports", url)
    engine = create_service_engine(url)
    base = {"filename": "台账.csv", "file_sha256": "0" * 64, "jurisdiction": "410928000000", "mapping": "{}",
            "rows_total": 2, "opened_by": "{}", "opened_at": "2026-11-01T00:00:00Z", "effective_date": "2026-11-01"}
    with transaction(engine) as conn:
        conn.execute(imports.insert(), [{**base, "import_id": "i-1", "status": "committed"},
                                        {**base, "import_id": "i-2", "status": "committed"}])
        conn.execute(import_files.insert(), [{"import_id": "i-1", "content": "王秀英,13912345678".encode()},
                                             {"import_id": "i-2", "content": b"other people"}])
        conn.execute(import_rows.insert(), [
            {"import_id": "i-1", "row_no": 1, "payload": '{"name": "王秀英"}', "status": "registered", "elder_id": "e-1"},
            {"import_id": "i-1", "row_no": 2, "payload": '{"name": "李四"}', "status": "registered", "elder_id": "e-2"},
            {"import_id": "i-2", "row_no": 1, "payload": '{"name": "赵六"}', "status": "registered", "elder_id": "e-3"}])
        conn.execute(import_matches.insert(), [
            {"import_id": "i-2", "row_no": 1, "other": "elder:e-1", "reason": "same_name_birth", "merged": False}])
    erasure = SimpleNamespace(id="erasure-1", data={"elder_id": "e-1"}, recorded_time=datetime.now(timezone.utc))
    with transaction(engine) as conn:
        drop_personal_copies(conn, erasure)
    with engine.connect() as conn:
        payloads = dict(((r.import_id, r.row_no), r.payload) for r in conn.execute(select(import_rows)))
        assert payloads == {("i-1", 1): None, ("i-1", 2): '{"name": "李四"}', ("i-2", 1): '{"name": "赵六"}'}
        assert conn.execute(select(import_files.c.import_id)).scalars().all() == ["i-2"]
        assert conn.execute(select(import_matches)).all() == []
        assert personal.is_erased(conn, "e-1")
    personal.purge_freed_pages(engine)
    engine.dispose()
    assert "王秀英".encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("imports.db*"))
