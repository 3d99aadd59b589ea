"""The HTTP API as one table: each route names its RPC, who may call it and how its
jurisdiction is found. What each takes and answers (the schemas the OpenAPI document is
generated from) is in ``gateway.service_schemas``, by route name.

``scope`` says where the division code that the caller's jurisdiction must contain comes
from: ``("elder", param)`` the elder's record in the registry, ``("facility", param)`` the
facility's, ``("alert", param)`` the alert's, ``("order", param)`` the order's (its elder's village),
``("body_facility", field)`` the facility named in the body, ``("body_party", field)`` the place of
the notifications party named in the body, ``("body", field)`` / ``("query", field)`` a
division code in the request, ``None`` nothing to check (e.g. the caller's own inbox).
``personal`` marks reads of an elder's personal record: each is written to the access log.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from contracts.departments_rpc import OWNERS as DEPARTMENT_OWNERS
from kernel.divisions import significant_prefix
from gateway.parties import party_of
from gateway.access import COORDINATORS, EVERYONE, FIELD_ROLES, OFFICERS, Permission, command, query

CIVIL_AFFAIRS = {"civil_affairs"}
# Health records health-management visits; civil affairs the care visits (DOMAIN.md §3, §7).
VISITING = {"civil_affairs", "health"}
ANY = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str                      # werkzeug rule, e.g. /api/elders/<elder_id>
    name: str                      # operationId
    summary: str
    permission: Permission
    call: "RpcCall | None"         # None: the gateway composes the answer itself
    scope: tuple | None = None
    personal: bool = False
    tag: str = "registry"
    answers_file: bool = False     # the service answers {filename, content_base64}: sent as the file
    upload: bool = False           # takes a file: bodies up to GATEWAY.max_upload_bytes (gateway.edges)

    @property
    def creates(self) -> bool:
        """A write that answers 201 and carries a command id (``Idempotency-Key``)."""
        return self.method == "POST" and self.permission.writes


@dataclass(frozen=True)
class RpcCall:
    """What a route calls: one RPC method of one service (in ``contracts.services``, where its
    request and answer schemas are), and how the request becomes its arguments."""

    service: str
    method: str
    invoke: Callable               # (rpc, principal, params, args, body) -> result

    def __call__(self, rpc, principal, params, args, body):
        return self.invoke(rpc, principal, params, args, body)


def _command(service: str, method: str, id_field: str | None = None) -> RpcCall:
    """A command: the body (plus the id from the path) and the caller as actor."""
    def call(rpc, principal, params, args, body):
        payload = {**body, **({id_field: params[id_field]} if id_field else {})}
        with rpc.carrying_command_id():
            return getattr(rpc[service], method)(payload, principal.actor())
    return RpcCall(service, method, call)


def _get(service: str, method: str, *names) -> RpcCall:
    def call(rpc, principal, params, args, body):
        return getattr(rpc[service], method)(*[params.get(n, args.get(n)) for n in names])
    return RpcCall(service, method, call)


def _filters(service: str, method: str) -> RpcCall:
    """A query taking one filters dict from the query string; the division defaults to the
    caller's jurisdiction."""
    def call(rpc, principal, params, args, body):
        filters = dict(args)
        filters.setdefault("division_code", principal.jurisdiction)
        return getattr(rpc[service], method)(filters)
    return RpcCall(service, method, call)


def _query(service: str, method: str, arguments: Callable) -> RpcCall:
    """A query whose arguments ``arguments(principal, args)`` makes from the query string."""
    def call(rpc, principal, params, args, body):
        return getattr(rpc[service], method)(*arguments(principal, args))
    return RpcCall(service, method, call)


def _import_command(method: str):
    """An import command: the body, the import id from the path, the caller as actor."""
    return _command("imports", method, "import_id")


def _with_path(service: str, method: str, id_field: str, defaulted: str | None = None) -> RpcCall:
    """A query taking one filters dict: the query string plus the id from the path;
    ``defaulted``: a division filter that defaults to the caller's jurisdiction."""
    def call(rpc, principal, params, args, body):
        filters = {**({defaulted: principal.jurisdiction} if defaulted else {}), **args, id_field: params[id_field]}
        return getattr(rpc[service], method)(filters)
    return RpcCall(service, method, call)


# Ledger imports are civil affairs' (the county bureau leads the ledger; townships organise it).
IMPORTING = command(CIVIL_AFFAIRS, COORDINATORS | {"township_officer"})
IMPORT_READERS = Permission(frozenset(CIVIL_AFFAIRS), COORDINATORS | {"township_officer", "auditor"}, False)


def mask_resident_id(resident_id: str) -> str:
    """``410928********0021``: the address code and the last four characters, as lists of
    people show an identity number. The whole number is in the elder's record, whose every
    read is logged with its purpose; a list of a village's elders is not such a read."""
    return resident_id[:6] + "*" * (len(resident_id) - 10) + resident_id[-4:]


def _masked_identities(call: RpcCall) -> RpcCall:
    def masked(rpc, principal, params, args, body):
        return [{**row, "resident_id": mask_resident_id(row["resident_id"])} for row in call(rpc, principal, params,
                                                                                            args, body)]
    return RpcCall(call.service, call.method, masked)


REGISTRY_COMMANDS = {
    # path segment: (rpc method, summary)
    "corrections": ("correct_details", "Correct recorded details (a new event; nothing is edited)"),
    "supporter-departures": ("record_supporter_left", "A supporter left the county"),
    "supporter-returns": ("record_supporter_returned", "A supporter came back"),
    "carer": ("entrust_carer", "A supporter entrusted a carer"),
    "self-care-assessments": ("assess_self_care", "Self-care ability assessed"),
    "support-status": ("change_support_status", "低保/特困/建档立卡 status changed"),
    "moves": ("record_move", "The elder moved"),
    "hospitalisations": ("record_hospitalisation", "Admitted to hospital"),
    "hospital-discharges": ("record_hospital_discharge", "Left hospital"),
    "death": ("record_death", "The elder died"),
    "merges": ("merge_records", "This record duplicates another: merge into the survivor"),
    "unmerges": ("unmerge_records", "Undo a merge"),
    "consents": ("give_consent", "The elder's separate consent (e.g. health details shown to named departments)"),
    "consent-withdrawals": ("withdraw_consent", "The elder withdrew a consent"),
}

FACILITY_COMMANDS = {
    "details": ("change_details", "Name, operator, operating model or services changed"),
    "capacity": ("change_capacity", "Beds/places changed"),
    "ratings": ("rate_facility", "Star rating awarded or changed"),
    "suspension": ("suspend_facility", "Stop operating for now"),
    "reinstatement": ("reinstate_facility", "Operate again"),
    "merge": ("merge_facility", "Merge into another facility (residents move)"),
    "closure": ("close_facility", "Close for good"),
    "admissions": ("admit_elder", "Admit an elder"),
    "discharges": ("discharge_elder", "Discharge an elder"),
    "transfers": ("transfer_elder", "Transfer an elder to another facility"),
    "home-services": ("declare_home_services", "Home services offered to elders at home, with daily capacity"),
}

ORDER_COMMANDS = {
    "acceptance": ("accept_order", "The facility offered the order accepts it"),
    "declines": ("decline_order", "The facility cannot take it: the next nearest facility is offered it"),
    "completion": ("complete_order", "The service was delivered (only after acceptance)"),
}
# Who answers for a facility's orders: civil affairs' people at the facility's place.
FACILITY_STAFF = command(CIVIL_AFFAIRS, COORDINATORS | {"township_officer", "village_worker"})


# The departments' own records (services/departments): each command is its owning
# department's (contracts.departments_rpc.OWNERS, the access table the service applies too),
# by any of its people but auditors: a village doctor, a township officer, a bureau officer.
DEPARTMENT_ROLES = EVERYONE - {"auditor"}
DEPARTMENT_ELDER_COMMANDS = {
    # path segment: (rpc method, summary)
    "health-checks": ("record_health_check", "Health: the annual health-management check of an elder 65+"),
    "chronic-followups": ("record_chronic_followup", "Health: a chronic-condition follow-up"),
    "family-doctor": ("sign_family_doctor", "Health: a family-doctor contract signed (签约)"),
    "family-doctor/end": ("end_family_doctor", "Health: the family-doctor contract ended"),
    "pension": ("enrol_pension", "HR & social security: enrolled in a pension scheme"),
    "pension/status": ("change_pension_status", "HR & social security: pension received (fen a month) or suspended"),
    "poverty-registration": ("register_poverty", "Poverty office: registered as poor (建档立卡; the registry's "
                                                 "support status changes)"),
    "poverty-registration/end": ("end_poverty_registration", "Poverty office: the registration as poor ended"),
    "poverty-monitoring": ("start_poverty_monitoring", "Poverty office: the household watched for a return to "
                                                       "poverty"),
    "poverty-monitoring/end": ("end_poverty_monitoring", "Poverty office: the household no longer watched"),
    "cultural-services": ("record_cultural_service", "Culture / aging office: a cultural service delivered"),
    "payee-account": ("set_payee_account", "Finance: the account the elder's subsidies are paid into (personal)"),
}
DEPARTMENT_CASE_COMMANDS = {
    "legal-aid": ("give_legal_aid", "Justice: legal aid given in a case"),
    "closure": ("close_case", "Close a case with its outcome (its referral closes too)"),
}


def department_command(method: str) -> Permission:
    return command(DEPARTMENT_OWNERS[method], DEPARTMENT_ROLES)


def _routes() -> list[Route]:
    routes = [
        Route("POST", "/api/elders", "register_elder", "Register an elder in the ledger",
              command(CIVIL_AFFAIRS), _command("registry", "register_elder"), ("body", "division_code")),
        Route("GET", "/api/elders", "search_elders",
              "Elders in a division (by status); identity numbers masked: the full record is a logged read",
              query(), _masked_identities(_filters("registry", "search_elders")), ("query", "division_code")),
        Route("GET", "/api/elders/<elder_id>", "get_elder", "An elder's current record",
              query(), _get("registry", "get_elder", "elder_id"), ("elder", "elder_id"), personal=True),
        Route("GET", "/api/elders/<elder_id>/as-of", "get_elder_as_of",
              "The record in effect on a date, optionally as it was known at a time",
              query(), _get("registry", "get_elder_as_of", "elder_id", "on", "known_at"), ("elder", "elder_id"),
              personal=True),
        Route("GET", "/api/elders/<elder_id>/timeline", "elder_timeline",
              "The elder's whole cross-agency history in time order", query(), None, ("elder", "elder_id"),
              personal=True, tag="timeline"),
        Route("GET", "/api/elders/<elder_id>/access-log", "elder_access_log",
              "Who read this elder's record, when and why", query(COORDINATORS | {"auditor"}), None,
              ("elder", "elder_id"), tag="audit"),
        Route("GET", "/api/reports/quarterly", "quarterly_report",
              "The quarterly report to the region (CSV or XLSX), replayed as recorded by known_at",
              query(COORDINATORS | {"township_officer", "department_officer", "auditor"}), None,
              ("query", "division_code"), tag="reports"),
        # visits
        Route("POST", "/api/visitors", "register_visitor", "Register a visitor", command(CIVIL_AFFAIRS),
              _command("visits", "register_visitor"), ("body_first", "village_codes"), tag="visits"),
        Route("GET", "/api/visitors", "list_visitors", "Visitors covering a division", query(),
              _filters("visits", "list_visitors"), ("query", "division_code"), tag="visits"),
        Route("POST", "/api/elders/<elder_id>/visitor", "assign_visitor",
              "Assign the responsible visitor (issues the written notice)", command(CIVIL_AFFAIRS),
              _command("visits", "assign_visitor", "elder_id"), ("elder", "elder_id"), tag="visits"),
        Route("POST", "/api/elders/<elder_id>/visits", "record_visit", "Record (or correct) a visit",
              command(VISITING), _command("visits", "record_visit", "elder_id"), ("elder", "elder_id"),
              tag="visits"),
        Route("GET", "/api/elders/<elder_id>/visit-plan", "get_visit_plan",
              "Obligation, responsible visitor, visits and closed periods", query(),
              _get("visits", "get_plan", "elder_id"), ("elder", "elder_id"), personal=True, tag="visits"),
        Route("GET", "/api/visits/overdue", "list_overdue", "Overdue visit periods in a division", query(),
              _filters("visits", "list_overdue"), ("query", "division_code"), tag="visits"),
        Route("GET", "/api/visits/coverage", "visit_coverage", "Visit coverage of a division for a closed period",
              query(), _filters("visits", "coverage"), ("query", "division_code"), tag="visits"),
        # facilities
        Route("POST", "/api/facilities", "open_facility", "Open a facility", command(CIVIL_AFFAIRS, COORDINATORS),
              _command("facilities", "open_facility"), ("body", "division_code"), tag="facilities"),
        Route("GET", "/api/facilities", "search_facilities", "Facilities in a division", query(),
              _filters("facilities", "search_facilities"), ("query", "division_code"), tag="facilities"),
        Route("GET", "/api/facilities/statistics", "facility_statistics",
              "Facilities, beds, occupancy and stars by kind", query(),
              _query("facilities", "facility_statistics", lambda p, args: [args.get("division_code", p.jurisdiction)]),
              ("query", "division_code"), tag="facilities"),
        Route("GET", "/api/facilities/<facility_id>", "get_facility", "A facility", query(),
              _get("facilities", "get_facility", "facility_id"), ("facility", "facility_id"), tag="facilities"),
        # notifications
        Route("GET", "/api/alerts", "list_alerts", "Alerts in a division (open by default)", query(),
              _filters("notifications", "list_alerts"), ("query", "division_code"), tag="notifications"),
        Route("POST", "/api/alerts", "report_alert", "Report a risk by hand", command(ANY, OFFICERS | FIELD_ROLES),
              _command("notifications", "report_alert"), ("body", "division_code"), tag="notifications"),
        Route("GET", "/api/alerts/<alert_id>", "get_alert", "An alert and its routing", query(),
              _get("notifications", "get_alert", "alert_id"), ("alert", "alert_id"), tag="notifications"),
        Route("POST", "/api/alerts/<alert_id>/acknowledgement", "acknowledge_alert",
              "Acknowledge as a party the alert was sent to", command(ANY, EVERYONE - {"auditor"}),
              _command("notifications", "acknowledge_alert", "alert_id"), ("alert", "alert_id"),
              tag="notifications"),
        Route("POST", "/api/alerts/<alert_id>/closure", "close_alert", "Close with an outcome",
              command(ANY, EVERYONE - {"auditor"}), _command("notifications", "close_alert", "alert_id"),
              ("alert", "alert_id"), tag="notifications"),
        Route("GET", "/api/referrals", "list_referrals", "The referral obligation ledger", query(),
              _filters("notifications", "list_referrals"), ("query", "division_code"), tag="notifications"),
        Route("POST", "/api/referrals", "create_referral", "Refer a case to a department",
              command(ANY, OFFICERS), _command("notifications", "create_referral"), ("body", "division_code"),
              tag="notifications"),
        Route("POST", "/api/referrals/<referral_id>/acceptance", "accept_referral",
              "Accept a referral addressed to your department", command(ANY, OFFICERS),
              _command("notifications", "accept_referral", "referral_id"), None, tag="notifications"),
        Route("POST", "/api/referrals/<referral_id>/actions", "record_referral_action", "Record action taken",
              command(ANY, OFFICERS), _command("notifications", "record_referral_action", "referral_id"), None,
              tag="notifications"),
        Route("POST", "/api/referrals/<referral_id>/closure", "close_referral", "Close a referral",
              command(ANY, OFFICERS), _command("notifications", "close_referral", "referral_id"), None,
              tag="notifications"),
        # subsidies (a jurisdiction is a division prefix such as 1405; runs are civil affairs', approval
        # and payment finance's)
        Route("POST", "/api/subsidies/runs", "start_run", "Compute (or resume) a monthly disbursement run",
              command(CIVIL_AFFAIRS, COORDINATORS), _command("subsidies", "start_run"), ("body_prefix", "jurisdiction"),
              tag="subsidies"),
        Route("POST", "/api/subsidies/runs/approval", "approve_run", "Approve a run for payment (finance)",
              command({"finance"}, COORDINATORS | {"department_officer"}), _command("subsidies", "approve_run"),
              ("body_prefix", "jurisdiction"), tag="subsidies"),
        Route("POST", "/api/subsidies/runs/payment", "mark_paid", "Mark an approved run paid (finance)",
              command({"finance"}, COORDINATORS | {"department_officer"}), _command("subsidies", "mark_paid"),
              ("body_prefix", "jurisdiction"), tag="subsidies"),
        Route("POST", "/api/subsidies/months/closure", "close_month", "No further run for the month",
              command({"civil_affairs", "finance"}, COORDINATORS | {"department_officer"}),
              _command("subsidies", "close_month"), ("body_prefix", "jurisdiction"), tag="subsidies"),
        Route("GET", "/api/subsidies/runs", "list_runs", "Runs by jurisdiction and month", query(),
              _query("subsidies", "list_runs",
                     lambda p, args: [{"jurisdiction": significant_prefix(p.jurisdiction) or None, **args}]),
              ("query_prefix", "jurisdiction"),
              tag="subsidies"),
        Route("GET", "/api/subsidies/payment-file", "payment_file", "A run's payment file (CSV in `csv`)",
              query(COORDINATORS | {"department_officer", "auditor"}),
              _query("subsidies", "payment_file", lambda p, args: [args]), ("query_prefix", "jurisdiction"),
              tag="subsidies"),
        Route("GET", "/api/subsidies/summary", "subsidy_summary", "A run's totals by division and programme",
              query(), _query("subsidies", "division_summary", lambda p, args: [args]),
              ("query_prefix", "jurisdiction"), tag="subsidies"),
        Route("GET", "/api/elders/<elder_id>/entitlement", "entitlement_as_of",
              "What was due for a month and why, as known at a time", query(),
              _get("subsidies", "entitlement_as_of", "elder_id", "month", "known_at"), ("elder", "elder_id"),
              personal=True, tag="subsidies"),
        # ledger import (台账导入)
        Route("GET", "/api/imports/template", "import_template", "The ledger template (XLSX, Chinese headers)",
              IMPORT_READERS, _query("imports", "template", lambda p, args: []), None, tag="imports",
              answers_file=True),
        Route("POST", "/api/imports", "open_import",
              "Upload a ledger (XLSX or CSV, base64; or multipart with a `file` part) for its dry run",
              IMPORTING, _command("imports", "open_import"), ("body", "jurisdiction"), tag="imports", upload=True),
        Route("GET", "/api/imports/<import_id>", "get_import", "An import: status and figures (progress)",
              IMPORT_READERS, _get("imports", "get_import", "import_id"), ("import", "import_id"), tag="imports"),
        Route("GET", "/api/imports/<import_id>/refused-rows", "import_refused_rows",
              "The refused rows: row number, column, reason in Chinese", IMPORT_READERS,
              _with_path("imports", "refused_rows", "import_id"), ("import", "import_id"), tag="imports"),
        Route("GET", "/api/imports/<import_id>/report", "import_report",
              "The dry run's report (XLSX): one line per refused row, then duplicates", IMPORT_READERS,
              _get("imports", "report", "import_id"), ("import", "import_id"), tag="imports", answers_file=True),
        Route("GET", "/api/imports/<import_id>/duplicates", "import_duplicates",
              "Probable duplicates for a person to decide", IMPORT_READERS, _with_path("imports", "duplicates", "import_id"),
              ("import", "import_id"), tag="imports"),
        Route("POST", "/api/imports/<import_id>/duplicates/decision", "decide_duplicate",
              "Merge a probable duplicate (reversible) or keep both", IMPORTING, _import_command("decide_duplicate"),
              ("import", "import_id"), tag="imports"),
        Route("POST", "/api/imports/<import_id>/commit", "commit_import",
              "Register the accepted rows (in the background; resumable, never twice)", IMPORTING,
              _import_command("commit"), ("import", "import_id"), tag="imports"),
        # survey campaigns (全面摸底排查)
        Route("POST", "/api/surveys", "open_campaign",
              "Open a survey campaign for a county or city (deadline, fields to confirm)",
              command(CIVIL_AFFAIRS, COORDINATORS), _command("surveys", "open_campaign"), ("body", "jurisdiction"),
              tag="surveys"),
        Route("GET", "/api/surveys", "list_campaigns", "Campaigns covering the caller's division or inside it",
              query(), _filters("surveys", "list_campaigns"), ("query", "division_code"), tag="surveys"),
        Route("GET", "/api/surveys/<campaign_id>", "get_campaign", "A campaign: status, figures, late villages",
              query(), _get("surveys", "get_campaign", "campaign_id"), ("campaign", "campaign_id"), tag="surveys"),
        Route("GET", "/api/surveys/<campaign_id>/progress", "campaign_progress",
              "Completion per township (or per village of a township)", query(),
              _with_path("surveys", "progress", "campaign_id"), ("query", "division_code"), tag="surveys"),
        Route("GET", "/api/surveys/<campaign_id>/tasks", "campaign_tasks", "A village's elders to survey",
              query(), _with_path("surveys", "list_tasks", "campaign_id", "village_code"), ("query", "village_code"), tag="surveys"),
        Route("POST", "/api/surveys/<campaign_id>/visits", "record_survey",
              "A survey visit: confirmed, corrected (a registry correction) or not found", command(CIVIL_AFFAIRS),
              _command("surveys", "record_survey", "campaign_id"), ("body_elder", "elder_id"), tag="surveys"),
        Route("POST", "/api/surveys/<campaign_id>/closure", "close_campaign", "Close the campaign with its report",
              command(CIVIL_AFFAIRS, COORDINATORS), _command("surveys", "close_campaign", "campaign_id"),
              ("campaign", "campaign_id"), tag="surveys"),
        # home-service orders (助餐、助浴、助洁、助医、陪护): placed for an elder by whoever takes the
        # call; the facility offered it accepts, declines or completes it (civil affairs runs them).
        Route("POST", "/api/orders", "place_order",
              "Order a home service for an elder: routed to the nearest facility with a place that day",
              command(ANY), _command("orders", "place_order"), ("body_elder", "elder_id"), tag="orders"),
        Route("GET", "/api/orders/meals", "meals_delivered", "Meals delivered per elder in a month under a division",
              query(), _filters("orders", "meals_delivered"), ("query", "division_code"), tag="orders"),
        Route("GET", "/api/orders/<order_id>", "get_order", "An order: status, facility, deadline", query(),
              _get("orders", "get_order", "order_id"), ("order", "order_id"), tag="orders"),
        Route("GET", "/api/elders/<elder_id>/orders", "elder_orders", "An elder's home-service orders", query(),
              _with_path("orders", "elder_orders", "elder_id"), ("elder", "elder_id"), tag="orders"),
        Route("GET", "/api/facilities/<facility_id>/orders", "facility_orders",
              "A facility's orders (offered to it, accepted, delivered)", query(),
              _with_path("orders", "facility_orders", "facility_id"), ("facility", "facility_id"), tag="orders"),
    ]
    routes += [
        # the departments' own work
        Route("POST", "/api/cases", "open_case",
              "Public security / justice: open a case about an elder (optionally answering a referral)",
              department_command("open_case"), _command("departments", "open_case"), ("body_elder", "elder_id"),
              tag="departments"),
        Route("GET", "/api/cases", "list_cases", "Cases in a division (open by default), without their details",
              query(), _filters("departments", "list_cases"), ("query", "division_code"), tag="departments"),
        Route("GET", "/api/cases/<case_id>", "get_case", "A case: kind, status, outcome (details: the elder's records)",
              query(), _get("departments", "get_case", "case_id"), ("case", "case_id"), tag="departments"),
        Route("GET", "/api/elders/<elder_id>/department-records", "elder_department_records",
              "Every department's records of the elder (health, pension, poverty, cases, culture)", query(),
              _get("departments", "elder_records", "elder_id"), ("elder", "elder_id"), personal=True,
              tag="departments"),
        Route("POST", "/api/finance/payment-files", "issue_payment_file",
              "Finance: the bank payment file (payee, account, amount) of an approved subsidy run; held entries "
              "and why", department_command("issue_payment_file"), _command("departments", "issue_payment_file"),
              ("body_prefix", "jurisdiction"), tag="departments"),
        Route("POST", "/api/finance/bank-returns", "read_bank_return",
              "Finance: the bank's return file — each line paid or failed (re-issued or alerted)",
              department_command("read_bank_return"), _command("departments", "read_bank_return"),
              ("payment_file", "file_id"), tag="departments", upload=True),
        Route("GET", "/api/finance/payment-files/<file_id>", "get_payment_file",
              "Finance: a payment file's run and its lines by status", query(COORDINATORS | {"department_officer",
                                                                                          "auditor"}),
              _get("departments", "get_payment_file", "file_id"), ("payment_file_path", "file_id"),
              tag="departments"),
        Route("GET", "/api/departments/summary", "department_summary",
              "Each department's work in a division: 65+ checked this year, open cases, pensions…", query(),
              _filters("departments", "division_summary"), ("query", "division_code"), tag="departments"),
    ]
    for segment, (method, summary) in DEPARTMENT_ELDER_COMMANDS.items():
        routes.append(Route("POST", f"/api/elders/<elder_id>/{segment}", method, summary, department_command(method),
                            _command("departments", method, "elder_id"), ("elder", "elder_id"), tag="departments"))
    for segment, (method, summary) in DEPARTMENT_CASE_COMMANDS.items():
        routes.append(Route("POST", f"/api/cases/<case_id>/{segment}", method, summary, department_command(method),
                            _command("departments", method, "case_id"), ("case", "case_id"), tag="departments"))
    for segment, (method, summary) in ORDER_COMMANDS.items():
        routes.append(Route("POST", f"/api/orders/<order_id>/{segment}", method, summary, FACILITY_STAFF,
                            _command("orders", method, "order_id"), ("body_facility", "facility_id"), tag="orders"))
    for segment, (method, summary) in REGISTRY_COMMANDS.items():
        routes.append(Route("POST", f"/api/elders/<elder_id>/{segment}", method, summary, command(CIVIL_AFFAIRS),
                            _command("registry", method, "elder_id"), ("elder", "elder_id")))
    # PIPL art. 47: the registry checks the legal ground and that the role may erase (policies/privacy.yml).
    routes.append(Route("POST", "/api/elders/<elder_id>/erasure", "erase_elder",
                        "Erase the elder's personal data (legal ground; the key is destroyed, every service "
                        "drops its copies, the logs still verify)", command(CIVIL_AFFAIRS, COORDINATORS),
                        _command("registry", "erase_elder", "elder_id"), ("elder", "elder_id")))
    routes += [
        # the in-app inbox and the parties' contacts (the web app's work pages, issue 19)
        Route("GET", "/api/inbox", "own_inbox",
              "Your office's in-app inbox: the alerts delivered there (the fallback channel), newest first",
              query(EVERYONE - {"auditor"}), RpcCall("notifications", "inbox",
                               lambda rpc, principal, params, args, body: rpc["notifications"].inbox(
                                   party_of(principal), 100)), None, tag="notifications"),
        Route("GET", "/api/parties/contacts", "list_party_contacts",
              "Who gets alerts at each level: the channels set for the parties within a division", query(),
              _filters("notifications", "list_party_contacts"), ("query", "division_code"), tag="notifications"),
        Route("POST", "/api/parties/contacts", "set_party_contacts",
              "Set a party's channels, preferred first (SMS, e-mail, in-app inbox)",
              command(CIVIL_AFFAIRS, COORDINATORS), _command("notifications", "set_party_contacts"),
              ("body_party", "party"), tag="notifications"),
        Route("GET", "/api/audit/checkpoints", "latest_checkpoints",
              "Each service's latest checkpoint held by the audit witness: sealed size, signature, events after it",
              query(COORDINATORS | {"auditor"}), None, None, tag="audit"),
    ]
    for segment, (method, summary) in FACILITY_COMMANDS.items():
        routes.append(Route("POST", f"/api/facilities/<facility_id>/{segment}", method, summary,
                            command(CIVIL_AFFAIRS, COORDINATORS | {"township_officer"}),
                            _command("facilities", method, "facility_id"), ("facility", "facility_id"),
                            tag="facilities"))
    return routes


ROUTES = _routes()
