"""What each route takes and answers, as marshmallow schemas: the services' own (the command
schemas they validate with, the view schemas they answer with) and, for what the gateway
composes itself (timeline, access log, quarterly report), the gateway's.

The one place the gateway imports the services' schema modules, for the OpenAPI document
only: the services still validate every command themselves. Importing them loads each
service's domain package and event mapping too (pure code: no I/O, no connection, about
0.4 s at start-up); every service ships in the gateway's image.

A route's body is its command schema less the fields the gateway fills in from the path (the
elder, facility, alert or referral id); its query is the service's filter schema, less the
path's fields, with the division the gateway defaults to the caller's jurisdiction optional.
``gateway.openapi`` derives both from these classes and the route table.
"""
from __future__ import annotations

from dataclasses import dataclass

from marshmallow import Schema

from contracts.fields import AcceptedDate, DivisionCode, ResidentId
from contracts.notifications import UtcDateTime
from gateway import schemas as gateway
from gateway.routes import FACILITY_COMMANDS, REGISTRY_COMMANDS
from services.facilities import schemas as facilities
from services.notifications import schemas as notifications
from services.registry import schemas as registry
from services.registry.domain import CORRECTABLE_FIELDS
from services.subsidies import schemas as subsidies
from services.visits import schemas as visits


# Field types whose rule is code apispec cannot read (a validator it can read becomes the
# document's pattern, enum or bounds by itself): the type of those not derived from a
# marshmallow type, and what the document says of each. Years are those of
# kernel.clock's accepted span, 1900-2199 (OpenAPI 3.0 has no bounds for dates).
_YEAR = r"(19[0-9]{2}|2[01][0-9]{2})"
FIELD_TYPES: dict[type, tuple[str, str | None]] = {UtcDateTime: ("string", "date-time")}
FIELD_SHAPES: dict[type, dict] = {
    DivisionCode: {"pattern": r"^[0-9]{12}$"},
    ResidentId: {"pattern": r"^[0-9]{17}[0-9Xx]$", "description": "GB 11643: the check character must match, "
                 "characters 1-6 be a known address code and 7-14 the birth date"},
    AcceptedDate: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$", "description": "a local date, 1900-01-01 to 2199-12-31"},
    subsidies.MonthField: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2])$"},
    visits.PeriodField: {"pattern": rf"^{_YEAR}-(0[1-9]|1[0-2]|[Qq][1-4])$",
                         "description": "a month (2026-10) or a quarter (2026-Q4)"},
}


# CorrectDetailsSchema.changes is a dict the registry checks key by key with the registration
# schema's own fields: the document shows those fields (the correctable ones), all optional.
ELDER_DETAIL_CHANGES = registry.RegisterElderSchema(only=sorted(CORRECTABLE_FIELDS), partial=True)


@dataclass(frozen=True)
class RouteSchemas:
    query: type[Schema] | None = None       # the query string (besides purpose and break_glass)
    request: type[Schema] | None = None     # the command the JSON body carries
    response: type[Schema] | None = None    # the JSON answer; None: a file
    many: bool = False                      # the answer is a list of response


def _commands(service_schemas, names, view: type[Schema]) -> dict[str, RouteSchemas]:
    """Routes of commands that answer with the service's view of what they changed."""
    return {name: RouteSchemas(request=type(service_schemas.COMMAND_SCHEMAS[name]), response=view) for name in names}


ROUTE_SCHEMAS: dict[str, RouteSchemas] = {
    # registry
    **_commands(registry, ["register_elder", *(method for method, _ in REGISTRY_COMMANDS.values())],
                registry.ElderView),
    "search_elders": RouteSchemas(registry.SearchSchema, response=registry.ElderListItemView, many=True),
    "get_elder": RouteSchemas(response=registry.ElderView),
    "get_elder_as_of": RouteSchemas(registry.AsOfSchema, response=registry.ElderView),
    # composed by the gateway
    "elder_timeline": RouteSchemas(response=gateway.Timeline),
    "elder_access_log": RouteSchemas(response=gateway.AccessRecord, many=True),
    "quarterly_report": RouteSchemas(gateway.QuarterlyReportQuery),
    # visits
    "register_visitor": RouteSchemas(request=visits.RegisterVisitorSchema, response=visits.VisitorView),
    "list_visitors": RouteSchemas(visits.DivisionQuerySchema, response=visits.VisitorListItemView, many=True),
    "assign_visitor": RouteSchemas(request=visits.AssignVisitorSchema, response=visits.NoticeIssuedView),
    "record_visit": RouteSchemas(request=visits.RecordVisitSchema, response=visits.VisitRecordedView),
    "get_visit_plan": RouteSchemas(response=visits.PlanView),
    "list_overdue": RouteSchemas(visits.OverdueQuerySchema, response=visits.OverduePeriodView, many=True),
    "visit_coverage": RouteSchemas(visits.CoverageQuerySchema, response=visits.CoverageView),
    # facilities
    **_commands(facilities, ["open_facility", *(method for method, _ in FACILITY_COMMANDS.values())],
                facilities.FacilityView),
    "search_facilities": RouteSchemas(facilities.SearchSchema, response=facilities.FacilityListItemView,
                                      many=True),
    "facility_statistics": RouteSchemas(facilities.DivisionSchema, response=facilities.FacilityStatisticsView),
    "get_facility": RouteSchemas(response=facilities.FacilityView),
    # notifications
    "list_alerts": RouteSchemas(notifications.AlertFilterSchema, response=notifications.AlertListItemView,
                                many=True),
    "report_alert": RouteSchemas(request=notifications.ReportAlertSchema, response=notifications.AlertView),
    "get_alert": RouteSchemas(response=notifications.AlertView),
    "acknowledge_alert": RouteSchemas(request=notifications.AnswerAlertSchema, response=notifications.AlertView),
    "close_alert": RouteSchemas(request=notifications.CloseAlertSchema, response=notifications.AlertView),
    "list_referrals": RouteSchemas(notifications.ReferralFilterSchema,
                                   response=notifications.ReferralListItemView, many=True),
    "create_referral": RouteSchemas(request=notifications.CreateReferralSchema,
                                    response=notifications.ReferralView),
    "accept_referral": RouteSchemas(request=notifications.AcceptReferralSchema,
                                    response=notifications.ReferralView),
    "record_referral_action": RouteSchemas(request=notifications.ReferralActionSchema,
                                           response=notifications.ReferralView),
    "close_referral": RouteSchemas(request=notifications.CloseReferralSchema, response=notifications.ReferralView),
    # subsidies
    "start_run": RouteSchemas(request=subsidies.RunKeySchema, response=subsidies.RunComputedView),
    "approve_run": RouteSchemas(request=subsidies.ApproveRunSchema, response=subsidies.RunStatusView),
    "mark_paid": RouteSchemas(request=subsidies.MarkPaidSchema, response=subsidies.RunStatusView),
    "close_month": RouteSchemas(request=subsidies.RunKeySchema, response=subsidies.RunStatusView),
    "list_runs": RouteSchemas(subsidies.ListRunsSchema, response=subsidies.RunListItemView, many=True),
    "payment_file": RouteSchemas(subsidies.RunKeySchema, response=subsidies.PaymentFileView),
    "subsidy_summary": RouteSchemas(subsidies.RunKeySchema, response=subsidies.RunSummaryView),
    "entitlement_as_of": RouteSchemas(subsidies.EntitlementQuerySchema, response=subsidies.EntitlementView),
}
