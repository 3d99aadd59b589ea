"""The ledger's pages: a county loads its Excel ledger (the template, the upload, the dry
run's refused rows and probable duplicates, the commit) and follows its survey campaigns
(全面摸底排查), completion drawn by township and village. Every call goes through the
gateway's routes, so the access table decides who may do what."""
from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.files import file_response, uploaded_file_body
from gateway.webapp import forms
from gateway.webapp.app import PREFIX, Page, rule
from gateway.webapp.charts import bar_chart
from kernel.errors import CommandRejected, ConflictError, ValidationError
from kernel.ids import new_stream_id

# While the service reads, checks or registers, the page asks again every few seconds.
IN_PROGRESS = frozenset({"reading", "checking", "committing"})
FIGURES = ("rows", "accepted", "refused", "existing", "same_person", "registered", "probable_duplicates",
           "undecided_duplicates")
LISTED = {"limit": "200"}


def _refused(error) -> int:
    return 400 if isinstance(error, ValidationError) else 409


# -- ledger imports ------------------------------------------------------------------------------
def imports(page: Page, status: int = 200, errors: dict | None = None) -> Response:
    return page.render("imports.html", status=status, errors=errors or {}, idempotency_key=new_stream_id())


def import_template(page: Page) -> Response:
    return file_response(page.perform("import_template"))


def open_import(page: Page) -> Response:
    """The upload starts the dry run; the import's page then shows its progress."""
    upload = page.request.files.get("file")
    if upload is None or not upload.filename:
        return imports(page, 400, {"file": [page.gettext("Choose the ledger file (XLSX or CSV).")]})
    body = uploaded_file_body(page.request)
    body.pop("idempotency_key", None)
    body.pop(page.env.globals["csrf_field"], None)
    body["jurisdiction"] = page.principal.jurisdiction
    try:
        opened = page.perform("open_import", body=body, idempotency_key=page.request.form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        # Whatever the import names (the file, a column, the jurisdiction) is about the file chosen.
        return imports(page, _refused(error), {"file": forms.all_messages(error)})
    return page.redirect(f"{PREFIX}/imports/{opened['import_id']}")


def ledger_import(page: Page, import_id: str, status: int = 200, errors: dict | None = None) -> Response:
    record = page.perform("get_import", {"import_id": import_id})
    checked = record["status"] not in ("reading", "checking", "failed")
    refused = page.perform("import_refused_rows", {"import_id": import_id}, args=LISTED) if checked else []
    duplicates = page.perform("import_duplicates", {"import_id": import_id}, args=LISTED) if checked else []
    return page.render("import.html", status=status, record=record, refused=refused, duplicates=duplicates,
                       figures=FIGURES, refresh=record["status"] in IN_PROGRESS, errors=errors or {},
                       idempotency_key=new_stream_id())


def import_report(page: Page, import_id: str) -> Response:
    return file_response(page.perform("import_report", {"import_id": import_id}))


def decide_duplicate(page: Page, import_id: str) -> Response:
    form = page.request.form
    row = forms.text(form, "row") or ""
    body = {"row": int(row) if row.isdigit() else row, "other": forms.text(form, "other"),
            "decision": forms.text(form, "decision")}
    try:
        page.perform("decide_duplicate", {"import_id": import_id}, body=body,
                     idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        key = f"duplicate-{row}-{body['other']}"
        return ledger_import(page, import_id, _refused(error), {key: forms.all_messages(error)})
    return page.redirect(f"{PREFIX}/imports/{import_id}#duplicates")


def commit_import(page: Page, import_id: str) -> Response:
    try:
        page.perform("commit_import", {"import_id": import_id},
                     idempotency_key=page.request.form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        return ledger_import(page, import_id, _refused(error), {"commit": forms.all_messages(error)})
    return page.redirect(f"{PREFIX}/imports/{import_id}")


# -- survey campaigns ----------------------------------------------------------------------------
def campaigns(page: Page) -> Response:
    return page.render("campaigns.html", campaigns=page.perform("list_campaigns"))


def campaign(page: Page, campaign_id: str) -> Response:
    """A campaign's figures and its completion by township, or by village of one township."""
    found = page.perform("get_campaign", {"campaign_id": campaign_id})
    township = page.request.args.get("township") or None
    args = {"division_code": township} if township else {}
    progress = page.perform("campaign_progress", {"campaign_id": campaign_id}, args=args)
    rows = [(page.place(row["division_code"], "county" if township is None else "township"),
             None if township else f"{PREFIX}/surveys/{campaign_id}?township={row['division_code']}",
             [row["surveyed"], row["total"]]) for row in progress]
    chart = bar_chart(rows, [page.gettext("Surveyed"), page.gettext("Elders")], page.gettext("Survey completion"))
    return page.render("campaign.html", campaign=found, progress=progress, township=township, chart=chart)


URLS = (
    rule("/imports", "imports"), rule("/imports", "open_import", ("POST",)),
    rule("/imports/template", "import_template"),
    rule("/imports/<import_id>", "ledger_import"), rule("/imports/<import_id>/report", "import_report"),
    rule("/imports/<import_id>/duplicates", "decide_duplicate", ("POST",)),
    rule("/imports/<import_id>/commit", "commit_import", ("POST",)),
    rule("/surveys", "campaigns"), rule("/surveys/<campaign_id>", "campaign"),
)
HANDLERS = {"imports": imports, "open_import": open_import, "import_template": import_template,
            "ledger_import": ledger_import, "import_report": import_report, "decide_duplicate": decide_duplicate,
            "commit_import": commit_import, "campaigns": campaigns, "campaign": campaign}
