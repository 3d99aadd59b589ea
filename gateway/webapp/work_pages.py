"""Work pages (issue 19) beside the role pages of ``pages.py``: the referrals addressed to a
person's department and those it sent (accept, record what was done, close with an outcome);
the in-app inbox of their office, the channel alerts fall back to; and, for county civil
affairs, who gets alerts by SMS, e-mail or the inbox at each level.

Each page reads and writes through ``page.perform`` with the API route of the same name, so
the access table decides who sees and does what; the page only leaves out the forms its
person may not use (``page.may``)."""
from __future__ import annotations

from werkzeug.wrappers import Response

from contracts.actors import DEFAULT_DEPARTMENTS
from contracts.notifications import OUTCOMES
from gateway.parties import party_of
from gateway.webapp import forms
from gateway.webapp.app import PREFIX, Page, flatten, rule
from kernel.divisions import significant_prefix
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from kernel.ids import new_stream_id

REFUSALS = (ValidationError, CommandRejected, ConflictError)


def _status(error) -> int:
    return 400 if isinstance(error, ValidationError) else 409


# -- home -----------------------------------------------------------------------------------------
def home_work(page: Page) -> dict:
    """What the home page counts for these pages: referrals to act on, messages kept."""
    work = {}
    if page.may("record_referral_action"):
        owing = _referrals(page, "owing")
        owed = _referrals(page, "owed")
        work["referrals"] = {"owing": len(owing), "overdue": sum(1 for r in owing if r["overdue"]),
                             "to_close": sum(1 for r in owed if r["status"] == "action_taken")}
    if page.may("own_inbox"):
        work["inbox"] = len(page.perform("own_inbox"))
    return work


# -- referrals ------------------------------------------------------------------------------------
def _referrals(page: Page, side: str, status: str = "open") -> list[dict]:
    principal = page.principal
    return page.perform("list_referrals", args={"department": principal.department, "side": side,
                                                "status": status, "division_code": principal.jurisdiction})


NEW_REFERRAL_FIELDS = {"to_department": "to_department", "division_code": "division_code", "request": "request",
                       "due_on": "due_on"}
ANSWER_FIELDS = {"note": "note", "action": "action", "outcome": "outcome"}
REFERRAL_ROUTES = {"acceptance": "accept_referral", "actions": "record_referral_action",
                   "closure": "close_referral"}


def referrals(page: Page, status: int = 200, errors: dict | None = None, values: dict | None = None,
              new_errors: dict | None = None, new_values: dict | None = None) -> Response:
    """Open referrals addressed to my department (to accept and act on) and those it sent (to
    close once satisfied); ``?closed=1`` adds the closed ones."""
    principal = page.principal
    shown = "any" if page.request.args.get("closed") else "open"
    places = [(d.code, page.place(d.code)) for d in page.divisions.within(
        significant_prefix(principal.jurisdiction), ("township", "village"))] or [
        (principal.jurisdiction, page.place(principal.jurisdiction, "county"))]
    return page.render(
        "referrals.html", status=status, owing=_referrals(page, "owing", shown), owed=_referrals(page, "owed", shown),
        outcomes=[(o, page.name("outcome", o)) for o in OUTCOMES], closed_shown=shown == "any",
        errors=errors or {}, values=values or {}, new_errors=new_errors or {},
        new_values=new_values or {"division_code": principal.jurisdiction, "idempotency_key": new_stream_id()},
        departments=[(d, page.name("department", d)) for d in DEFAULT_DEPARTMENTS
                     if d not in (principal.department, "system")],
        places=places, idempotency_key=new_stream_id(),
        flash=page.gettext("Referral sent.") if page.request.args.get("sent") else None)


def create_referral(page: Page) -> Response:
    form = page.request.form
    body = {field: forms.text(form, name) for name, field in NEW_REFERRAL_FIELDS.items()}
    if form.get("elder_id"):
        body["elder_id"] = forms.text(form, "elder_id")
    try:
        page.perform("create_referral", body={k: v for k, v in body.items() if v is not None},
                     idempotency_key=form.get("idempotency_key"))
    except REFUSALS as error:
        return referrals(page, status=_status(error), new_errors=forms.field_errors(error, NEW_REFERRAL_FIELDS),
                         new_values=dict(form.items()))
    return page.redirect(f"{PREFIX}/referrals?sent=1")


def answer_referral(page: Page, referral_id: str, action: str) -> Response:
    """Accept (with a note), record what was done, or close with an outcome; a refusal is shown
    on that referral with what was typed kept."""
    form = page.request.form
    body = {name: forms.text(form, name) for name in {"acceptance": ("note",), "actions": ("action",),
                                                      "closure": ("outcome", "note")}[action]}
    try:
        page.perform(REFERRAL_ROUTES[action], {"referral_id": referral_id},
                     body={k: v for k, v in body.items() if v is not None},
                     idempotency_key=form.get("idempotency_key"))
    except REFUSALS as error:
        messages = forms.all_messages(error, ANSWER_FIELDS)
        return referrals(page, status=_status(error), errors={referral_id: messages},
                         values={referral_id: {**dict(form.items()), "form": action}})
    return page.redirect(f"{PREFIX}/referrals#referral-{referral_id}")


# -- the in-app inbox -----------------------------------------------------------------------------
def inbox(page: Page) -> Response:
    """The messages kept for my office: alerts that reached it in the app (the fallback when
    SMS and e-mail could not), newest first."""
    return page.render("inbox.html", messages=page.perform("own_inbox"), party=party_of(page.principal))


# -- party contacts -------------------------------------------------------------------------------
CONTACT_CHANNELS = ("sms", "email", "inbox")


def _parties(page: Page, township: str | None) -> list[dict]:
    """The parties alert routing names within the person's county: its civil affairs bureau,
    each department's bureau, each township and, for the township chosen, its villages."""
    prefix = significant_prefix(page.principal.jurisdiction)
    counties = [prefix[:6]] if len(prefix) >= 6 else [d.code[:6] for d in page.divisions.within(prefix, ("county",))]
    parties = []
    for county in counties:
        parties.append({"party": f"county_civil_affairs:{county}", "place": page.place(county.ljust(12, "0")),
                        "kind": page.name("alert_level", "county_civil_affairs")})
        parties += [{"party": f"department:{d}:{county}", "place": page.place(county.ljust(12, "0")),
                     "kind": page.name("department", d)} for d in DEFAULT_DEPARTMENTS
                    if d not in ("system", "civil_affairs")]
    for division in page.divisions.within(prefix, ("township",)):
        parties.append({"party": f"township:{division.code[:9]}", "place": page.place(division.code),
                        "kind": page.name("alert_level", "township"), "code": division.code})
    if township and township.startswith(prefix):
        parties += [{"party": f"village_committee:{code}", "place": page.place(code),
                     "kind": page.name("alert_level", "village_committee")}
                    for code in page.divisions.villages_within(township[:9])]
    return parties


def contacts(page: Page, status: int = 200, errors: dict | None = None, values: dict | None = None) -> Response:
    township = page.request.values.get("township") or None
    known = {row["party"]: row for row in page.perform(
        "list_party_contacts", args={"division_code": page.principal.jurisdiction, "limit": 5000})}
    parties = _parties(page, township)
    for party in parties:
        row = known.get(party["party"]) or {}
        party["channels"] = row.get("channels") or []
        party["set_at"] = row.get("set_at")
        given = {c["channel"]: c["address"] for c in party["channels"]}
        party["values"] = (values or {}).get(party["party"]) or {
            "sms": given.get("sms", ""), "email": given.get("email", ""),
            "inbox": "yes" if "inbox" in given or not party["channels"] else ""}
    flash = page.gettext("Contacts saved.") if page.request.args.get("saved") else None
    return page.render("contacts.html", status=status, parties=parties, township=township, flash=flash,
                       errors=errors or {}, idempotency_key=new_stream_id(),
                       townships=[p for p in parties if p.get("code")])


def set_contacts(page: Page) -> Response:
    """One party's channels, in the order SMS, e-mail, inbox: the service names a bad number
    or address by its position, shown at the field it came from; nothing is written."""
    form = page.request.form
    party = forms.text(form, "party") or ""
    channels, fields = [], {}
    for channel in CONTACT_CHANNELS:
        address = (party if form.get("inbox") == "yes" else None) if channel == "inbox" else forms.text(form, channel)
        if address:
            fields[channel] = f"channels.{len(channels)}.address"
            channels.append({"channel": channel, "address": address})
    try:
        page.perform("set_party_contacts", body={"party": party, "channels": channels},
                     idempotency_key=form.get("idempotency_key"))
    except REFUSALS as error:
        refused = forms.field_errors(error, {**fields, "_": "party"})
        return contacts(page, status=_status(error), errors={party: refused},
                        values={party: dict(form.items())})
    township = forms.text(form, "township")
    return page.redirect(f"{PREFIX}/contacts?saved=1" + (f"&township={township}" if township else "")
                         + f"#party-{party.replace(':', '-')}")


RULES = [
    rule("/referrals", "referrals"), rule("/referrals", "create_referral", ("POST",)),
    rule("/referrals/<referral_id>/<any(acceptance, actions, closure):action>", "answer_referral", ("POST",)),
    rule("/inbox", "inbox"),
    rule("/contacts", "contacts"), rule("/contacts", "set_contacts", ("POST",)),
]
HANDLERS = {"referrals": referrals, "create_referral": create_referral, "answer_referral": answer_referral,
            "inbox": inbox, "contacts": contacts, "set_contacts": set_contacts}


# -- correcting an elder's details ----------------------------------------------------------------
# Form field → the field of correct_details it fills (a change is ``changes.<field>``).
CORRECTED = ("name", "resident_id", "sex", "birth_date", "address", "phone", "household_id")
CORRECTION_FIELDS = (*CORRECTED, "reason", "effective_date")


def _correction_errors(error) -> dict[str, list[str]]:
    """The registry names a bad change by its field (``resident_id``) or under ``changes``
    (``changes.name``): either is shown at the form's field of that name."""
    shown: dict[str, list[str]] = {}
    for name, messages in flatten(getattr(error, "errors", None) or {error.field or "_": [error.message]}).items():
        field = name.removeprefix("changes.")
        if field in CORRECTION_FIELDS:
            shown.setdefault(field, []).extend(str(m) for m in messages)
        else:
            shown.setdefault("_", []).extend(str(m) if name == "_" else f"{name}: {m}" for m in messages)
    return shown


def correction_context(page: Page, record: dict, extra: dict) -> dict:
    """What the card's correction form needs: the record's values (or what was typed, after a
    refusal) and the refusal's messages by field."""
    values = extra.get("correction_values") or {
        **{name: record.get(name) or "" for name in CORRECTED}, "effective_date": page.service.db.clock.today()
        .isoformat()}
    return {"correction_values": values, "correction_errors": extra.get("correction_errors") or {},
            "sex_options": [(s, page.name("sex", s)) for s in ("male", "female")]}


def correct_details(page: Page, elder_id: str, card) -> Response:
    """Only what was typed and differs from the record is sent (a masked identity number left
    as shown, or a field left empty, is not a change); the registry checks each change as at
    registration. ``card`` renders the elder's card (``pages.elder``), the refusal on it."""
    form = page.request.form
    record = page.perform("get_elder", {"elder_id": elder_id}, purpose="web app: correct details")
    changes = {name: forms.text(form, name) for name in CORRECTED
               if forms.text(form, name) and forms.text(form, name) != (record.get(name) or "")}
    body = {"changes": changes, "reason": forms.text(form, "reason"),
            "effective_date": forms.text(form, "effective_date")}
    try:
        page.perform("correct_details", {"elder_id": elder_id}, body={k: v for k, v in body.items() if v is not None},
                     idempotency_key=form.get("idempotency_key"))
    except REFUSALS as error:
        return card(page, elder_id, status=_status(error), correction_values=dict(form.items()),
                    correction_errors=_correction_errors(error))
    return page.redirect(f"{PREFIX}/elders/{elder_id}?corrected=1")


RULES.append(rule("/elders/<elder_id>/corrections", "correct_details", ("POST",)))
# Handlers that show their refusal on the elder's card: ``pages`` binds them to it (this module
# does not import ``pages``, which imports it).
CARD_HANDLERS = {"correct_details": correct_details}


# -- the auditor's view of an elder ---------------------------------------------------------------
def access_log(page: Page, elder_id: str) -> Response:
    """Who read, listed or was refused this elder's record, when and why (newest first), for
    the auditors and coordinators the access table lets see it."""
    entries = list(reversed(page.perform("elder_access_log", {"elder_id": elder_id})))
    return page.render("access_log.html", entries=entries, elder_id=elder_id)


RULES.append(rule("/elders/<elder_id>/access-log", "access_log"))
HANDLERS["access_log"] = access_log


def timeline(page: Page, elder_id: str) -> Response:
    """The elder's history across every service, newest first, each event by its name, who
    recorded it and when; a service that did not answer is named, not silently left out."""
    answer = page.perform("elder_timeline", {"elder_id": elder_id}, purpose="web app: timeline")
    items = []
    for item in reversed(answer["items"]):
        department, _, user = (item.get("actor") or "").partition("/")
        items.append({**item, "event": item["type"].rsplit(".", 1)[0], "department": department, "user": user})
    return page.render("timeline.html", items=items, elder_id=elder_id,
                       unavailable=[s["service"] for s in answer.get("sources_unavailable") or []])


RULES.append(rule("/elders/<elder_id>/timeline", "timeline"))
HANDLERS["timeline"] = timeline


def checkpoints(page: Page) -> Response:
    """Each service's latest checkpoint, as the audit witness holds it (``latest_checkpoints``)."""
    return page.render("checkpoints.html", rows=page.perform("latest_checkpoints"))


RULES.append(rule("/audit", "checkpoints"))
HANDLERS["checkpoints"] = checkpoints


# -- finance: runs to approve, bank payment files, runs paid ----------------------------------------
FINANCE_ROUTES = {"approval": "approve_run", "payment": "mark_paid", "payment-file": "issue_payment_file"}
FINANCE_FIELDS = {"approval": ("note",), "payment": ("paid_on", "payment_reference"), "payment-file": ()}


def finance(page: Page, status: int = 200, errors: dict | None = None, values: dict | None = None,
            return_errors: dict | None = None, return_values: dict | None = None,
            returned: dict | None = None) -> Response:
    """The month's runs: those computed await finance's approval; an approved one gets its
    bank payment file and is marked paid when the bank has paid it."""
    month = page.request.values.get("month") or page.service.db.clock.today().strftime("%Y-%m")
    runs = page.perform("list_runs", args={"month": month})
    return page.render("finance.html", status=status, runs=runs, month=month, errors=errors or {},
                       values=values or {}, today=page.service.db.clock.today(), idempotency_key=new_stream_id(),
                       return_errors=return_errors or {}, return_values=return_values or {}, returned=returned)


def finance_step(page: Page, step: str) -> Response:
    form = page.request.form
    run = {"jurisdiction": forms.text(form, "jurisdiction") or "", "month": forms.text(form, "month") or ""}
    body = {**run, **{name: forms.text(form, name) for name in FINANCE_FIELDS[step]}}
    try:
        answer = page.perform(FINANCE_ROUTES[step], body={k: v for k, v in body.items() if v is not None},
                              idempotency_key=form.get("idempotency_key"))
    except REFUSALS as error:
        key = f"{run['jurisdiction']}-{run['month']}"
        messages = forms.all_messages(error)
        return finance(page, status=_status(error), errors={key: messages}, values={key: dict(form.items())})
    if step == "payment-file" and not answer.get("file_id"):
        # Nothing payable yet (every entry held, e.g. no payee account): say so at the run.
        key = f"{run['jurisdiction']}-{run['month']}"
        return finance(page, status=409, errors={key: [page.gettext(
            "Nothing to pay in this run yet: %(held)s entries held (no payee account, or not an elder's).")
            % {"held": len(answer.get("held") or [])}]})
    if step == "payment-file":
        # The file goes to the bank as it is: sent to this browser, never kept in a page.
        return Response(answer["csv"].encode("utf-8-sig"), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="payment-{answer["file_id"]}.csv"',
            "X-Payment-Rows": str(answer["rows"])})
    return page.redirect(f"{PREFIX}/finance?month={run['month']}")


def bank_return(page: Page) -> Response:
    """The bank's return file for a payment file: each line paid or failed (a failed one is
    paid again by the next file once its account changed, or alerted). A refusal is shown at
    the field it names, the file id kept."""
    form = page.request.form
    upload = page.request.files.get("return_file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload and upload.filename else ""
    body = {"file_id": forms.text(form, "file_id") or "", "csv": text}
    try:
        answer = page.perform("read_bank_return", body=body, idempotency_key=form.get("idempotency_key"))
    except (*REFUSALS, NotFoundError) as error:
        return finance(page, status=404 if isinstance(error, NotFoundError) else _status(error),
                       return_errors=forms.field_errors(error, {"file_id": "file_id", "return_file": "csv"}),
                       return_values={"file_id": body["file_id"]})
    return finance(page, returned=answer)


RULES += [rule("/finance", "finance"), rule("/finance/bank-return", "bank_return", ("POST",)),
          rule("/finance/<any(approval, payment, \"payment-file\"):step>", "finance_step", ("POST",))]
HANDLERS.update(finance=finance, finance_step=finance_step, bank_return=bank_return)
