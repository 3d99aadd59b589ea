"""The ledger import service (台账导入): a county's Excel or CSV ledger into the registry.

Upload (``open_import``) stages the rows; a timer then checks every row with the
registry's own rules (``registry.check_registrations``, writing nothing there) and lists
probable duplicates; ``report`` is the dry run's XLSX. ``commit`` asks for the accepted rows
to be registered: the timer registers them page by page through ``registry.register_elder``
with one command id per (import, row), so a commit killed half way resumes where it stopped
and a row is never registered twice. Decided merges go through ``registry.merge_records``.
"""
from __future__ import annotations

import base64
import json
import time

import structlog
from sqlalchemy import select

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from contracts.services import IMPORTS
from kernel.consumer import durable_event_handler
from kernel.divisions import configured_division_table
from kernel.errors import ValidationError
from kernel.providers import (CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase, configured_timer,
                              ping_answer)
from kernel.rpc import command_rpc
from kernel.service_rpc import ServiceRpc
from kernel.validation import load_or_refuse
from nameko.extensions import DependencyProvider
from services.imports import handlers
from services.imports.adapters.tables import import_matches, import_rows, imports
from services.imports.ledger import template_xlsx
from services.imports.report import refusal_lines, report_xlsx
from contracts.imports_rpc import (DecideDuplicateSchema, FileView, ImportIdSchema, ImportView,
                                      OpenImportSchema, RowsQuerySchema)

log = structlog.get_logger(__name__)
ACTOR, OPEN, IMPORT_ID, DECIDE, ROWS = (ActorSchema(), OpenImportSchema(), ImportIdSchema(),
                                        DecideDuplicateSchema(), RowsQuerySchema())
VIEW, FILE = ImportView(), FileView()
WORK_BUDGET_SECONDS = 5.0     # one timer tick's work, so stopping the service never waits long


class Divisions(DependencyProvider):
    """The configured division table, loaded once (village names → codes)."""

    def setup(self):
        self.table = configured_division_table(self.container.config)

    def get_dependency(self, worker_ctx):
        return self.table


class ImportsService:
    name = "imports"

    db = ServiceDatabase(CATALOGUE)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()       # signed checkpoints of its log, held by the witnesses
    registry = ServiceRpc("IMPORTS")
    divisions = Divisions()
    log = LoggingContext()

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)

    @durable_event_handler(*IMPORTS.consumer("on_registry_event").arguments)
    def on_registry_event(self, event, uow):
        """An elder's personal data was erased: drop what the imports staged about them."""
        handlers.drop_personal_copies(uow.conn, event)

    @command_rpc
    def template(self):
        """The ledger template (XLSX, Chinese headers, an example row and how to fill it)."""
        return FILE.dump({"filename": "留守老年人台账模板.xlsx",
                          "content_base64": base64.b64encode(template_xlsx()).decode()})

    @command_rpc
    def open_import(self, payload, actor):
        """Stage a ledger file for its dry run; the same file again is the same import."""
        request = load_or_refuse(OPEN, payload)
        who = load_or_refuse(ACTOR, actor)
        import_id = handlers.open_import(self.db, request["content_base64"], request["filename"],
                                         request["mapping"], request["jurisdiction"], who)
        return self._view(import_id)

    @command_rpc
    def get_import(self, import_id):
        """The import, its status and its figures (rows pending, accepted, refused, ...)."""
        return self._view(load_or_refuse(IMPORT_ID, {"import_id": import_id})["import_id"])

    def _view(self, import_id: str) -> dict:
        # Not through get_import: a command's answer is built inside the command, not by a
        # second command_rpc call that would meet the command's own id half recorded.
        with self.db.connect() as conn:
            record = handlers.load_import(conn, import_id)
            return VIEW.dump({**record._mapping, "mapping": json.loads(record.mapping),
                              "summary": handlers.summary(conn, record.import_id)})

    @command_rpc
    def refused_rows(self, query):
        """The refused rows: row number, and per problem the column, field and reason in Chinese."""
        query = load_or_refuse(ROWS, query)
        with self.db.connect() as conn:
            handlers.load_import(conn, query["import_id"])
            rows = conn.execute(select(import_rows.c.row_no, import_rows.c.problems).where(
                import_rows.c.import_id == query["import_id"], import_rows.c.status == "refused")
                .order_by(import_rows.c.row_no).limit(query["limit"]).offset(query["offset"])).all()
        return [{"row": r.row_no, "problems": [dict(zip(("column", "field", "reason", "reason_en"), line))
                                               for line in refusal_lines(json.loads(r.problems))]} for r in rows]

    @command_rpc
    def duplicates(self, query):
        """Probable duplicates for a person to decide: the row, the other (``row:<n>`` or
        ``elder:<id>``), why, and the decision so far."""
        query = load_or_refuse(ROWS, query)
        with self.db.connect() as conn:
            handlers.load_import(conn, query["import_id"])
            rows = conn.execute(select(import_matches).where(import_matches.c.import_id == query["import_id"])
                                .order_by(import_matches.c.row_no, import_matches.c.other)
                                .limit(query["limit"]).offset(query["offset"])).all()
        return [{"row": r.row_no, "other": r.other, "reason": r.reason, "decision": r.decision, "merged": r.merged}
                for r in rows]

    @command_rpc
    def report(self, import_id):
        """The dry run's report as XLSX: one line per refused row, then duplicates and people
        already in the ledger."""
        query = load_or_refuse(IMPORT_ID, {"import_id": import_id})
        with self.db.connect() as conn:
            record = handlers.load_import(conn, query["import_id"])
            if record.status in ("reading", "checking"):
                raise ValidationError({"import_id": ["the dry run is still reading or checking rows (试运行尚未完成)"]})
            figures = handlers.summary(conn, record.import_id)
            rows = conn.execute(select(import_rows).where(import_rows.c.import_id == record.import_id,
                                                          import_rows.c.status.in_(("refused", "existing",
                                                                                    "same_person")))
                                .order_by(import_rows.c.row_no)).all()
            matches = conn.execute(select(import_matches).where(import_matches.c.import_id == record.import_id)
                                   .order_by(import_matches.c.row_no)).all()
        refused = [{"row": r.row_no, "problems": json.loads(r.problems)} for r in rows if r.status == "refused"]
        existing = [{"row": r.row_no, "elder_id": r.elder_id if r.status == "existing" else None,
                     "same_as_row": r.same_as_row} for r in rows if r.status != "refused"]
        content = report_xlsx(figures, refused, [dict(m._mapping) for m in matches], existing)
        return FILE.dump({"filename": f"导入试运行报告-{record.filename.rsplit('.', 1)[0]}.xlsx",
                          "content_base64": base64.b64encode(content).decode()})

    @command_rpc
    def decide_duplicate(self, payload, actor):
        """Merge (the registry's reversible merge, once both are registered) or keep both."""
        request = load_or_refuse(DECIDE, payload)
        who = load_or_refuse(ACTOR, actor)
        handlers.decide_duplicate(self.db, self.registry, request["import_id"], request["row"], request["other"],
                                  request["decision"], who, self.db.clock.today())
        return self._view(request["import_id"])

    @command_rpc
    def commit(self, payload, actor):
        """Register the accepted rows (in the background; ``get_import`` shows progress)."""
        request = load_or_refuse(IMPORT_ID, payload)
        handlers.request_commit(self.db, request["import_id"], load_or_refuse(ACTOR, actor))
        return self._view(request["import_id"])

    # -- the work, resumable -----------------------------------------------------------------
    @configured_timer("IMPORTS.work_interval_seconds", 1)
    def work_on_timer(self):
        with self.db.exclusively("import-work") as mine:
            if mine:
                self.work()

    def work(self, budget: float = WORK_BUDGET_SECONDS) -> None:
        """Advance the oldest unfinished import for up to ``budget`` seconds."""
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            with self.db.connect() as conn:
                record = conn.execute(select(imports).where(imports.c.status.in_(("reading", "checking",
                                                                                  "committing")))
                                      .order_by(imports.c.opened_at)).first()
            if record is None:
                return
            if record.status == "reading":
                handlers.stage_rows(self.db, self.divisions, record)
            elif record.status == "checking":
                if not handlers.check_page(self.db, self.registry, record):
                    handlers.finish_check(self.db, record)
            elif not handlers.commit_page(self.db, self.registry, record):
                handlers.apply_merges(self.db, self.registry, record, self.db.clock.today())
                handlers.finish_commit(self.db, record)
