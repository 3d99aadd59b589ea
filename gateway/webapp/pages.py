"""The pages, by role (issue 19): a home page with the person's work for today; the village
worker's elders, an elder's card, registering an elder, recording a visit and printing the
written notice; the township's alerts to acknowledge and close; the county's dashboard with
charts, elder search and subsidy runs."""
from __future__ import annotations

import base64
from functools import partial
from datetime import date, datetime, timezone

from werkzeug.routing import Map
from werkzeug.wrappers import Response

from gateway.accounts_api import client_address, login_of
from gateway.auth import AuthenticationError
from gateway.parties import party_of
from gateway.webapp import forms, ledger_pages, security, work_pages
from gateway.webapp.app import PREFIX, Page, rule, safe_next, static_file
from gateway.webapp.charts import bar_chart, coverage_chart
from gateway.webapp.i18n import LANGUAGES
from gateway.webapp.names import N_
from gateway.webapp.sessions import SESSION_COOKIE, complete_password_reset
from gateway.webapp.sessions import sign_in as accounts_sign_in, sign_out as accounts_sign_out
from contracts.notifications import OUTCOMES
from contracts.orders import CALLERS, SERVICE_KINDS as HOME_SERVICES
from contracts.registry import SELF_CARE_LEVELS, SEXES
from contracts.visits import RISK_KINDS, SERVICE_KINDS, SEVERITIES, VISIT_MODES
from kernel.divisions import LEVELS, significant_prefix
from kernel.errors import CommandRejected, ConflictError, EldercareError, TooManyAttemptsError, ValidationError
from kernel.ids import new_stream_id

ROUTINE_SERVICES = ("emotional_comfort", "safety_supervision")
COORDINATING = {"county_coordinator", "city_coordinator", "admin", "auditor"}
MONTHS_CHARTED = 6


def _today(page: Page) -> date:
    return page.service.db.clock.today()


def party_for(principal) -> str:
    """The party of the notifications routing a person answers for (their office)."""
    return party_of(principal)


# -- sign-in --------------------------------------------------------------------------------------
def sign_in(page: Page) -> Response:
    _ = page.gettext
    target = safe_next(page.request.values.get("next"))
    if page.request.method == "GET":
        return page.render("sign_in.html", next=target, values={}, errors={},
                           password_was_reset=page.request.args.get("reset") == "done")
    form = page.request.form
    values = {"login": (form.get("login") or "").strip()}
    client = client_address(page.service, page.request)
    try:
        # The same throttle as the API's sign-in: per client address and per account.
        session = page.service.throttle.attempt(
            {"client": client, "account": login_of(values["login"])},
            lambda: accounts_sign_in(page.service, values["login"], form.get("password") or "",
                                     (form.get("one_time_password") or "").strip() or None, client))
    except TooManyAttemptsError as error:
        minutes = max(1, -(-int(error.retry_after_seconds) // 60))
        response = page.render("sign_in.html", status=429, next=target, values=values, errors={"_": [
            _("Too many failed sign-ins. Try again in %(minutes)s minutes.") % {"minutes": minutes}]})
        response.headers["Retry-After"] = str(int(error.retry_after_seconds))
        return response
    except (AuthenticationError, ValidationError) as error:
        errors = {"_": [_("The login or password is not right.")]}
        if isinstance(error, ValidationError):
            errors = forms.field_errors(error, {"login": "login", "password": "password",
                                                "one_time_password": "one_time_password"})
        return page.render("sign_in.html", status=401 if isinstance(error, AuthenticationError) else 400,
                           next=target, values=values, errors=errors)
    response = page.redirect(target)
    # A browser-session cookie: the accounts service decides when the session ends (its
    # expires_at is on its clock, not this one). Path /: the API reads the same cookie (the
    # offline queue posts visits there).
    security.set_cookie(response, page.request, SESSION_COOKIE, session["session_token"], path="/")
    return response


# The accounts service's words for a weak password (services/accounts/domain/passwords.py),
# so the person reads them in their language; any other refusal is shown as it comes.
PASSWORD_PROBLEMS = (
    N_("must be at least 10 characters"), N_("must be at most 128 characters"),
    N_("is one of the most commonly used passwords; choose another"), N_("must not contain the login name"),
    N_("is too easy to guess (a few words, or a longer mix of letters, digits and signs, is better)"))


def password_reset(page: Page) -> Response:
    """The page a one-time reset link opens. The link carries its code after ``#``
    (``/app/password-reset#<code>``), which a browser never sends to a server, so the code is
    in no access log, proxy log or Referer; app.js moves it into the form (without script the
    person pastes it). Single use and expiry are the accounts service's; after the new
    password is set the person signs in with it."""
    _ = page.gettext
    if page.request.method == "GET":
        return page.render("password_reset.html", values={}, errors={})
    form = page.request.form
    values = {"reset_token": (form.get("reset_token") or "").strip()}
    new_password = form.get("new_password") or ""
    if new_password != (form.get("new_password_again") or ""):
        return page.render("password_reset.html", status=400, values=values,
                           errors={"new_password_again": [_("The two passwords are not the same.")]})
    try:
        complete_password_reset(page.service, values["reset_token"], new_password)
    except AuthenticationError as error:       # not valid, used already, expired, replaced
        return page.render("password_reset.html", status=400, values={}, errors={
            "_": [_("This reset link cannot be used. Ask your administrator for a new one.")],
            "reset_token": [error.message]})
    except ValidationError as error:           # the new password is too weak: said at its field
        errors = forms.field_errors(error, {"new_password": "new_password", "reset_token": "reset_token"})
        return page.render("password_reset.html", status=400, values=values,
                           errors={k: [_(m) if m in PASSWORD_PROBLEMS else m for m in v] for k, v in errors.items()})
    return page.redirect(f"{PREFIX}/sign-in?reset=done")


def sign_out(page: Page) -> Response:
    token = page.request.cookies.get(SESSION_COOKIE)
    if token:
        try:
            accounts_sign_out(page.service, token)
        except EldercareError:
            pass                # already over: the cookie goes either way
    response = page.redirect(f"{PREFIX}/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def set_language(page: Page, lang: str) -> Response:
    if lang not in LANGUAGES:
        lang = "zh"
    response = page.redirect(safe_next(page.request.args.get("next")))
    security.set_cookie(response, page.request, "lang", lang, max_age=365 * 24 * 3600)
    return response


# -- home -----------------------------------------------------------------------------------------
def home(page: Page) -> Response:
    principal = page.principal
    work = {}
    if principal.role == "village_worker":
        work["elders"] = _my_elders(page, principal.jurisdiction)
    if principal.role in ("village_worker", "township_officer", "department_officer") or principal.role in COORDINATING:
        work["alerts"] = _alerts_to_answer(page)
    if principal.role in ("township_officer",) or principal.role in COORDINATING:
        work["overdue"] = page.perform("list_overdue", args={"division_code": principal.jurisdiction, "limit": 500})
    if principal.role in COORDINATING or principal.department == "finance":
        work["runs"] = page.perform("list_runs", args={"month": _today(page).strftime("%Y-%m")})
    work.update(work_pages.home_work(page))
    return page.render("home.html", work=work, today=_today(page))


def _my_elders(page: Page, division_code: str) -> list[dict]:
    """The elders of a division with their badges: left-behind, key target, visit due this
    month (under obligation, not yet visited) and overdue (an open overdue period)."""
    elders = page.perform("search_elders", args={"division_code": division_code, "limit": 1000})
    plans = {p["elder_id"]: p for p in page.service.rpc["visits"].list_plans(
        {"division_code": division_code, "limit": 5000})}
    visited = {v["elder_id"]: v for v in page.service.rpc["visits"].last_visits(
        {"division_code": division_code, "limit": 5000})}
    overdue = {o["elder_id"] for o in page.perform("list_overdue", args={"division_code": division_code,
                                                                         "limit": 5000})}
    rows = []
    for elder in elders:
        plan = plans.get(elder["elder_id"]) or {}
        seen = visited.get(elder["elder_id"]) or {}
        owed = bool((plan.get("classes") or "").strip())
        rows.append({**elder, "owed": owed, "visit_due": owed and not seen.get("visits_this_month"),
                     "overdue": elder["elder_id"] in overdue, "last_visited_on": seen.get("last_visited_on")})
    rows.sort(key=lambda r: (not r["overdue"], not r["visit_due"], not r["key_target"], r["name"]))
    return rows


def _alerts_to_answer(page: Page) -> list[dict]:
    principal = page.principal
    party = party_for(principal)
    alerts = page.perform("list_alerts", args={"division_code": principal.jurisdiction})
    return [a for a in alerts if a["status"] != "closed"
            and (principal.role in COORDINATING or a.get("level") in (None, "") or _addressed(a, party, principal))]


def _addressed(alert: dict, party: str, principal) -> bool:
    """Shown to the office it is at (its level) or to the department it was routed to."""
    level_party = {"village_committee": "village_committee:", "township": "township:",
                   "county_civil_affairs": "county_civil_affairs:"}.get(alert.get("level") or "", "?")
    return party.startswith(level_party) or principal.role == "department_officer"


# -- elders ---------------------------------------------------------------------------------------
def elders(page: Page) -> Response:
    principal = page.principal
    args = page.request.args
    division = args.get("division_code") or principal.jurisdiction
    filters = {"division_code": division, "limit": 200}
    for flag in ("left_behind", "key_target"):
        if args.get(flag) == "true":
            filters[flag] = "true"
    if args.get("name"):
        filters["name"] = args["name"].strip()
    if principal.role == "village_worker" and not args.get("name"):
        rows = _my_elders(page, division)
    else:
        rows = page.perform("search_elders", args=filters)
    return page.render("elders.html", rows=rows, filters=filters, divisions=_divisions_within(page, principal))


def _divisions_within(page: Page, principal) -> list:
    prefix = significant_prefix(principal.jurisdiction)
    return page.divisions.within(prefix, ("township", "village")) if len(prefix) >= 6 else []


def _villages_within(page: Page, principal) -> list:
    return [page.divisions.get(code) for code in page.divisions.villages_within(significant_prefix(
        principal.jurisdiction))]


def register_elder(page: Page) -> Response:
    principal = page.principal
    villages = _villages_within(page, principal)
    if page.request.method == "GET":
        values = {"elder_id": new_stream_id(), "effective_date": _today(page).isoformat(),
                  "division_code": principal.jurisdiction if len(villages) == 1 else "",
                  "self_care_level": "full_self_care", "idempotency_key": new_stream_id()}
        return page.render("register.html", values=values, errors={}, **_registration_choices(page, villages))
    form = page.request.form
    elder_id = form.get("elder_id") or new_stream_id()
    try:
        page.perform("register_elder", body=forms.registration(form, elder_id),
                     idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        return page.render("register.html", status=400 if isinstance(error, ValidationError) else 409,
                           values=dict(form.items()), errors=forms.field_errors(error, forms.REGISTER_FIELDS),
                           **_registration_choices(page, villages))
    return page.redirect(f"{PREFIX}/elders/{elder_id}?registered=1")


def _registration_choices(page: Page, villages) -> dict:
    return {"sexes": SEXES, "village_options": [(v.code, page.place(v.code)) for v in villages],
            "level_options": [(level, page.name("self_care", level)) for level in SELF_CARE_LEVELS]}


def elder(page: Page, elder_id: str, status: int = 200, supporter_errors: dict | None = None,
          order_errors: dict | None = None, order_values: dict | None = None, **extra) -> Response:
    record = page.perform("get_elder", {"elder_id": elder_id}, purpose="web app: elder card")
    try:
        plan = page.perform("get_visit_plan", {"elder_id": elder_id}, purpose="web app: elder card")
    except EldercareError:
        plan = None             # not (yet) known to visits: no obligation, no visits
    visitors = {v["visitor_id"]: v for v in page.service.rpc["visits"].list_visitors(
        {"division_code": record["division_code"]})}
    args = page.request.args
    flash = page.gettext("Visit recorded.") if args.get("recorded") else \
        page.gettext("Elder registered.") if args.get("registered") else \
        page.gettext("Supporter's whereabouts recorded.") if args.get("supporter") else \
        page.gettext("Order placed.") if args.get("ordered") else \
        page.gettext("Details corrected.") if args.get("corrected") else None
    try:
        orders = page.perform("elder_orders", {"elder_id": elder_id})
    except EldercareError:
        orders = None           # the orders service does not answer: the card shows the rest
    return page.render("elder.html", status=status, elder=record, plan=plan, visitors=visitors, today=_today(page),
                       age=_age(record.get("birth_date"), _today(page)), flash=flash,
                       supporter_errors=supporter_errors or {}, idempotency_key=new_stream_id(), orders=orders,
                       order_errors=order_errors or {}, order_values=order_values or {"caller": "family"},
                       service_options=[(k, page.name("home_service", k)) for k in HOME_SERVICES],
                       caller_options=[(k, page.name("caller", k)) for k in CALLERS],
                       **work_pages.correction_context(page, record, extra))


# Form field → the field of place_order it fills.
ORDER_FIELDS = {"service_kind": "service_kind", "caller": "caller", "service_date": "service_date", "note": "note"}


def place_order(page: Page, elder_id: str) -> Response:
    """A home service ordered from the elder's card: the service routes it to the nearest
    facility with a place that day; a refusal is shown at its field."""
    form = page.request.form
    body = {"elder_id": elder_id, **{field: forms.text(form, name) for name, field in ORDER_FIELDS.items()}}
    try:
        page.perform("place_order", body={k: v for k, v in body.items() if v is not None},
                     idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        return elder(page, elder_id, status=400 if isinstance(error, ValidationError) else 409,
                     order_errors=forms.field_errors(error, ORDER_FIELDS), order_values=dict(form.items()))
    return page.redirect(f"{PREFIX}/elders/{elder_id}?ordered=1")


def facility_orders(page: Page, facility_id: str, status: int = 200, errors: dict | None = None) -> Response:
    """A facility's orders for its people: accept or decline what is offered, complete what
    was accepted."""
    facility = page.perform("get_facility", {"facility_id": facility_id})
    orders = page.perform("facility_orders", {"facility_id": facility_id})
    return page.render("facility_orders.html", status=status, facility=facility, orders=orders,
                       errors=errors or {}, today=_today(page), idempotency_key=new_stream_id())


ORDER_ACTIONS = {"acceptance": "accept_order", "declines": "decline_order", "completion": "complete_order"}


def answer_order(page: Page, facility_id: str, order_id: str, action: str) -> Response:
    form = page.request.form
    body = {"facility_id": facility_id, **({"reason": forms.text(form, "reason")} if action == "declines" else {})}
    if action == "completion" and forms.text(form, "delivered_on"):
        body["delivered_on"] = forms.text(form, "delivered_on")
    try:
        page.perform(ORDER_ACTIONS[action], {"order_id": order_id}, body={k: v for k, v in body.items() if v},
                     idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        messages = forms.all_messages(error)
        return facility_orders(page, facility_id, status=400 if isinstance(error, ValidationError) else 409,
                               errors={order_id: messages})
    return page.redirect(f"{PREFIX}/facilities/{facility_id}/orders")


def supporter_moved(page: Page, elder_id: str, supporter_id: str) -> Response:
    """A supporter left the county (where to, their phone there) or came back: the registry
    decides whether the elder becomes or stops being left-behind."""
    form = page.request.form
    went = form.get("change") == "left"
    body = {"supporter_id": supporter_id, "effective_date": forms.text(form, "effective_date")}
    if went:
        body.update({"whereabouts": forms.text(form, "whereabouts"), "phone": forms.text(form, "phone")})
    try:
        page.perform("record_supporter_left" if went else "record_supporter_returned", {"elder_id": elder_id},
                     body={k: v for k, v in body.items() if v is not None},
                     idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        messages = forms.all_messages(error, {"effective_date": "effective_date"})
        return elder(page, elder_id, status=400 if isinstance(error, ValidationError) else 409,
                     supporter_errors={supporter_id: messages})
    return page.redirect(f"{PREFIX}/elders/{elder_id}?supporter=1")


def _age(birth_date: str | None, today: date) -> int | None:
    if not birth_date:
        return None
    born = date.fromisoformat(birth_date)
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def record_visit(page: Page, elder_id: str) -> Response:
    purpose = "web app: kept on the phone for offline visits" if page.request.args.get("offline") \
        else "web app: record a visit"
    record = page.perform("get_elder", {"elder_id": elder_id}, purpose=purpose)
    try:
        plan = page.perform("get_visit_plan", {"elder_id": elder_id}, purpose=purpose)
    except EldercareError:
        plan = {}
    visitors = [v for v in page.service.rpc["visits"].list_visitors({"division_code": record["division_code"]})
                if v.get("active", True)]
    choices = dict(modes=VISIT_MODES, services=SERVICE_KINDS, risks=RISK_KINDS, severities=SEVERITIES,
                   visitors=visitors, elder=record)
    if page.request.method == "GET":
        values = {"visit_id": new_stream_id(), "visitor_id": plan.get("visitor_id") or (
            visitors[0]["visitor_id"] if len(visitors) == 1 else ""), "mode": "home",
            "visited_on": _today(page).isoformat(), "services": list(ROUTINE_SERVICES)}
        return page.render("visit.html", values=values, errors={}, **choices)
    form = page.request.form
    visit_id = form.get("visit_id") or new_stream_id()
    try:
        page.perform("record_visit", {"elder_id": elder_id}, body=forms.visit(form, visit_id),
                     idempotency_key=visit_id)
    except (ValidationError, CommandRejected, ConflictError) as error:
        values = {**dict(form.items()), "services": form.getlist("services")}
        return page.render("visit.html", status=400 if isinstance(error, ValidationError) else 409, values=values,
                           errors=forms.field_errors(error, forms.VISIT_FIELDS), **choices)
    return page.redirect(f"{PREFIX}/elders/{elder_id}?recorded=1")


def _notice(page: Page, elder_id: str, kind: str) -> dict:
    plan = page.perform("get_visit_plan", {"elder_id": elder_id}, purpose="web app: written notice")
    if not plan.get("notice_id"):
        from kernel.errors import NotFoundError
        raise NotFoundError(page.gettext("No written notice has been issued for this elder yet."), field="notice_id")
    return page.service.rpc["visits"].get_notice(plan["notice_id"], kind)


def notice(page: Page, elder_id: str) -> Response:
    issued = _notice(page, elder_id, "html")
    return page.render("notice.html", notice=issued, elder_id=elder_id)


def notice_pdf(page: Page, elder_id: str) -> Response:
    issued = _notice(page, elder_id, "pdf")
    return Response(base64.b64decode(issued["pdf_base64"]), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="notice-{issued["notice_id"]}.pdf"',
        "X-Notice-SHA256": issued["sha256"]})


# -- alerts ---------------------------------------------------------------------------------------
def alerts(page: Page) -> Response:
    return page.render("alerts.html", alerts=_alerts_to_answer(page), outcomes=OUTCOMES,
                       now=datetime.now(timezone.utc).isoformat(), errors={})


def _answer_alert(page: Page, alert_id: str, route: str, body: dict) -> Response:
    try:
        page.perform(route, {"alert_id": alert_id}, body={"party": party_for(page.principal), **body},
                     idempotency_key=page.request.form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        return page.render("alerts.html", status=409, alerts=_alerts_to_answer(page), outcomes=OUTCOMES,
                           now=datetime.now(timezone.utc).isoformat(),
                           errors={alert_id: forms.all_messages(error)})
    return page.redirect(f"{PREFIX}/alerts")


def acknowledge_alert(page: Page, alert_id: str) -> Response:
    note = forms.text(page.request.form, "note")
    return _answer_alert(page, alert_id, "acknowledge_alert", {"note": note} if note else {})


def close_alert(page: Page, alert_id: str) -> Response:
    form = page.request.form
    body = {"outcome": forms.text(form, "outcome")}
    if forms.text(form, "note"):
        body["note"] = forms.text(form, "note")
    return _answer_alert(page, alert_id, "close_alert", {k: v for k, v in body.items() if v})


# -- county ---------------------------------------------------------------------------------------
def dashboard(page: Page, division_code: str | None = None) -> Response:
    from gateway.dashboard import gather
    principal = page.principal
    division_code = division_code or principal.jurisdiction
    from gateway.access import check_jurisdiction
    check_jurisdiction(principal, division_code, "dashboard")
    today = _today(page)
    rpc = page.service.rpc
    months = _closed_months(today, MONTHS_CHARTED)
    pending = [rpc["visits"].coverage.call_async({"division_code": division_code, "period": m}) for m in months]
    data = gather(rpc, division_code, today.strftime("%Y-%m"), datetime.now(timezone.utc))
    coverage = []
    for month, reply in zip(months, pending):
        try:
            coverage.append((month, reply.result()))
        except EldercareError:
            coverage.append((month, None))
    division = page.divisions.get(division_code)
    charts = {"coverage": coverage_chart(coverage, page.gettext)}
    if data["elders"]:
        children = data["elders"]["children"]
        charts["places"] = bar_chart(
            [(_own_name(page, c["division_code"]),
              f"{PREFIX}/dashboard/{c['division_code']}", (c["left_behind"], c["key_target"])) for c in children],
            (page.gettext("Left-behind"), page.gettext("Key targets")), page.gettext("Elders by place"))
    if data["alerts"]:
        ages = data["alerts"]["by_age"]
        charts["alert_ages"] = bar_chart(
            [(page.gettext(label), None, (ages[key],)) for key, label in
             (("under_24h", N_("under 24 h")), ("24h_to_72h", N_("24–72 h")), ("over_72h", N_("over 72 h")))],
            (page.gettext("Open alerts"),), page.gettext("Open alerts by age"))
        charts["alert_departments"] = bar_chart(
            [(page.name("department", d), None, (n,)) for d, n in sorted(data["alerts"]["by_department"].items())],
            (page.gettext("Open alerts"),), page.gettext("Open alerts by department"))
    parent = division.parent_code if division and division.level not in ("province", "county") else None
    return page.render("dashboard.html", data=data, charts=charts, division=division, division_code=division_code,
                       parent=parent, today=today, level_index=LEVELS.index(division.level) if division else 2)


def _own_name(page: Page, code: str) -> str:
    division = page.divisions.get(code)
    return division.name if division else code


def _closed_months(today: date, count: int) -> list[str]:
    months, year, month = [], today.year, today.month
    for _ in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        months.append(f"{year}-{month:02d}")
    return list(reversed(months))


def subsidies(page: Page) -> Response:
    month = page.request.args.get("month") or _today(page).strftime("%Y-%m")
    runs = page.perform("list_runs", args={"month": month})
    return page.render("subsidies.html", runs=runs, month=month, errors={}, values={"month": month})


def start_run(page: Page) -> Response:
    form = page.request.form
    month = forms.text(form, "month") or ""
    body = {"jurisdiction": significant_prefix(page.principal.jurisdiction), "month": month}
    try:
        page.perform("start_run", body=body, idempotency_key=form.get("idempotency_key"))
    except (ValidationError, CommandRejected, ConflictError) as error:
        runs = page.perform("list_runs", args={"month": _today(page).strftime("%Y-%m")})
        return page.render("subsidies.html", status=400, runs=runs, month=month, values={"month": month},
                           errors=forms.field_errors(error, {"month": "month"}))
    return page.redirect(f"{PREFIX}/subsidies?month={month}")


def static(page: Page, version: str, name: str) -> Response:
    return static_file(page, version, name)


def service_worker(page: Page) -> Response:
    """At /app/sw.js (not under a versioned path): a worker's scope is its own directory, and
    the browser checks it for a new version on every visit, so it is never cached."""
    from gateway.webapp.app import STATIC_DIR
    return Response((STATIC_DIR / "sw.js").read_bytes(), mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache"})


URLS = Map([
    rule("/", "home"), rule("/sign-in", "sign_in", ("GET", "POST")), rule("/sign-out", "sign_out", ("POST",)),
    rule("/password-reset", "password_reset", ("GET", "POST")),
    rule("/language/<lang>", "set_language"),
    rule("/elders", "elders"), rule("/elders/new", "register_elder", ("GET", "POST")),
    rule("/elders/<elder_id>", "elder"), rule("/elders/<elder_id>/visits/new", "record_visit", ("GET", "POST")),
    rule("/elders/<elder_id>/supporters/<supporter_id>", "supporter_moved", ("POST",)),
    rule("/elders/<elder_id>/orders", "place_order", ("POST",)),
    rule("/facilities/<facility_id>/orders", "facility_orders"),
    rule("/facilities/<facility_id>/orders/<order_id>/<any(acceptance, declines, completion):action>", "answer_order",
         ("POST",)),
    rule("/elders/<elder_id>/notice", "notice"), rule("/elders/<elder_id>/notice.pdf", "notice_pdf"),
    rule("/alerts", "alerts"), rule("/alerts/<alert_id>/acknowledgement", "acknowledge_alert", ("POST",)),
    rule("/alerts/<alert_id>/closure", "close_alert", ("POST",)),
    rule("/dashboard", "dashboard"), rule("/dashboard/<division_code>", "dashboard"),
    rule("/subsidies", "subsidies"), rule("/subsidies/runs", "start_run", ("POST",)),
    rule("/static/<version>/<name>", "static"), rule("/sw.js", "service_worker"),
    *ledger_pages.URLS,
], strict_slashes=False)
HANDLERS = {**{name: function for name, function in globals().items()
               if callable(function) and name in {r.endpoint for r in URLS.iter_rules()}}, **ledger_pages.HANDLERS}

# The work pages (referrals, inbox, contacts, corrections, audit, finance) keep their own module;
# their rules join the table.
for _rule in work_pages.RULES:
    URLS.add(_rule)
HANDLERS.update(work_pages.HANDLERS)
HANDLERS.update({name: partial(handler, card=elder) for name, handler in work_pages.CARD_HANDLERS.items()})
