"""The service catalogue: every service, what it answers over RPC (each method's request and
answer schema), the events it publishes, the events it consumes and whether it seals its log.

The one list of services. The gateway's routes and OpenAPI document, the CLI, ``/ready``,
``/metrics``, the Procfile check and the k8s tests read it; a service's class is named here
as text (``runs``) and imported only by whoever runs or rebuilds that service, never by the
gateway. ``tests/test_catalogue.py`` checks each entry against the class it names.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import Mapping

from marshmallow import Schema

from contracts import (accounts, audit, departments, facilities, gateway, imports, notifications, orders, registry,
                       subsidies, surveys, visits)
from contracts import (accounts_rpc, departments_rpc, facilities_rpc, imports_rpc, notifications_rpc, orders_rpc,
                       registry_rpc, subsidies_rpc, surveys_rpc, visits_rpc)
from contracts.facilities import HOME_SERVICE_EVENTS, RESIDENCE_EVENTS
from kernel.catalogue import EventCatalogue
from kernel.checkpoints import CHECKPOINT_EVENT
from kernel.topology import Subscription


@dataclass(frozen=True)
class Rpc:
    """One RPC method. ``request``: the payload a command takes or the filters a query takes
    (None: plain positional arguments); ``answer``: what it returns (None: a plain value or a
    file); ``many``: a list of ``answer``."""

    request: type[Schema] | None = None
    answer: type[Schema] | None = None
    many: bool = False


@dataclass(frozen=True)
class Consumes:
    """A durable consumer: the handler method (its queue is ``<service>.<handler>``), whose
    events it takes and which types."""

    handler: str
    source: str
    event_types: tuple[str, ...]

    @property
    def arguments(self) -> tuple[str, list[str]]:
        """``@durable_event_handler(*consumes.arguments)``"""
        return self.source, list(self.event_types)


@dataclass(frozen=True)
class ServiceContract:
    name: str
    runs: str                              # "module:Class", the nameko service class
    rpc: Mapping[str, Rpc]
    events: ModuleType | None = None       # the contract module of the events it publishes
    consumes: tuple[Consumes, ...] = ()
    seals_checkpoints: bool = True         # publishes signed checkpoints of its own log
    witnesses_checkpoints: bool = True     # holds every sealing service's checkpoints

    def consumer(self, handler: str) -> Consumes:
        for consumes in self.consumes:
            if consumes.handler == handler:
                return consumes
        raise KeyError(f"{self.name} declares no consumer {handler!r}")

    def event_catalogue(self) -> EventCatalogue:
        return self.events.catalogue() if self.events else EventCatalogue()


def _commands(requests: Mapping[str, type[Schema]], answer: type[Schema]) -> dict[str, Rpc]:
    return {method: Rpc(request, answer) for method, request in requests.items()}


PING = {"ping": Rpc()}
# What every service's log answers for the cross-agency timeline (events in wire form).
ELDER_EVENTS = {"elder_events": Rpc()}


REGISTRY = ServiceContract(
    name="registry", runs="services.registry.service:RegistryService", events=registry,
    rpc=MappingProxyType({
        **_commands(registry_rpc.COMMAND_REQUESTS, registry_rpc.ElderView),
        "erase_elder": Rpc(registry_rpc.EraseElderRequest, registry_rpc.ErasureView),
        **PING, **ELDER_EVENTS,
        "get_elder": Rpc(answer=registry_rpc.ElderView),
        "get_elder_as_of": Rpc(registry_rpc.AsOfSchema, registry_rpc.ElderView),
        "search_elders": Rpc(registry_rpc.SearchSchema, registry_rpc.ElderListItemView, many=True),
        "division_summary": Rpc(), "quarterly_figures": Rpc(), "elder_history": Rpc(), "review_statuses": Rpc(),
        "apply_retention": Rpc(),
        # The ledger import's dry run: register_elder's answer for each of a batch, writing nothing.
        "check_registrations": Rpc(registry_rpc.CheckRegistrationsSchema, registry_rpc.CheckRegistrationView,
                                   many=True),
    }),
    consumes=(Consumes("on_facility_event", "facilities", RESIDENCE_EVENTS),),
)

VISITS = ServiceContract(
    name="visits", runs="services.visits.service:VisitsService", events=visits,
    rpc=MappingProxyType({
        **PING, **ELDER_EVENTS,
        "register_visitor": Rpc(visits_rpc.RegisterVisitorSchema, visits_rpc.VisitorView),
        "change_visitor_villages": Rpc(visits_rpc.ChangeVisitorVillagesSchema, visits_rpc.VisitorView),
        "deactivate_visitor": Rpc(visits_rpc.DeactivateVisitorSchema, visits_rpc.VisitorView),
        "list_visitors": Rpc(visits_rpc.DivisionQuerySchema, visits_rpc.VisitorListItemView, many=True),
        "assign_visitor": Rpc(visits_rpc.AssignVisitorSchema, visits_rpc.NoticeIssuedView),
        "get_notice": Rpc(),
        "record_visit": Rpc(visits_rpc.RecordVisitSchema, visits_rpc.VisitRecordedView),
        "get_plan": Rpc(answer=visits_rpc.PlanView),
        "list_plans": Rpc(visits_rpc.DivisionQuerySchema), "list_visits": Rpc(),
        "last_visits": Rpc(visits_rpc.DivisionQuerySchema),
        "list_conflicts": Rpc(visits_rpc.DivisionQuerySchema),
        "reassignments_needed": Rpc(visits_rpc.DivisionQuerySchema),
        "close_periods": Rpc(),
        "list_overdue": Rpc(visits_rpc.OverdueQuerySchema, visits_rpc.OverduePeriodView, many=True),
        "coverage": Rpc(visits_rpc.CoverageQuerySchema, visits_rpc.CoverageView),
        "division_summary": Rpc(visits_rpc.DivisionQuerySchema),
    }),
    # Registry events that change something visits cares about.
    consumes=(Consumes("on_registry_event", "registry", (
        "registry.elder_registered.v1", "registry.elder_details_corrected.v1", "registry.supporter_left.v1",
        "registry.support_status_changed.v1", "registry.elder_moved.v1", "registry.elder_died.v1",
        "registry.record_merged_into.v1", "registry.record_unmerged.v1", "registry.became_left_behind.v1",
        "registry.ceased_left_behind.v1", "registry.key_target_changed.v1", registry.ERASURE_EVENT)),),
)

FACILITIES = ServiceContract(
    name="facilities", runs="services.facilities.service:FacilitiesService", events=facilities,
    rpc=MappingProxyType({
        **_commands(facilities_rpc.COMMAND_REQUESTS, facilities_rpc.FacilityView),
        **PING, **ELDER_EVENTS,
        "assess_operating_subsidies": Rpc(facilities_rpc.YearSchema),
        "get_facility": Rpc(answer=facilities_rpc.FacilityView),
        "get_facility_as_of": Rpc(facilities_rpc.AsOfSchema, facilities_rpc.FacilityView),
        "search_facilities": Rpc(facilities_rpc.SearchSchema, facilities_rpc.FacilityListItemView, many=True),
        "facility_statistics": Rpc(facilities_rpc.DivisionSchema, facilities_rpc.FacilityStatisticsView),
        "facility_residents": Rpc(), "elder_stays": Rpc(), "facility_history": Rpc(),
    }),
    # The registry facts that change whether and where an elder may be admitted.
    consumes=(Consumes("on_registry_event", "registry", (
        "registry.elder_registered.v1", "registry.elder_moved.v1", "registry.elder_died.v1",
        "registry.record_merged_into.v1", "registry.record_unmerged.v1", registry.ERASURE_EVENT)),),
)

NOTIFICATIONS = ServiceContract(
    name="notifications", runs="services.notifications.service:NotificationsService", events=notifications,
    rpc=MappingProxyType({
        **PING, **ELDER_EVENTS,
        "report_alert": Rpc(notifications_rpc.ReportAlertSchema, notifications_rpc.AlertView),
        "acknowledge_alert": Rpc(notifications_rpc.AnswerAlertSchema, notifications_rpc.AlertView),
        "close_alert": Rpc(notifications_rpc.CloseAlertSchema, notifications_rpc.AlertView),
        "get_alert": Rpc(answer=notifications_rpc.AlertView),
        "history": Rpc(),
        "list_alerts": Rpc(notifications_rpc.AlertFilterSchema, notifications_rpc.AlertListItemView, many=True),
        "alert_summary": Rpc(),
        "receive_device_alarm": Rpc(notifications_rpc.DeviceAlarmSchema, notifications_rpc.AlertView),
        "device_heartbeat": Rpc(notifications_rpc.HeartbeatSchema),
        "set_party_contacts": Rpc(notifications_rpc.PartyContactsSchema, notifications_rpc.PartyContactsSchema),
        "inbox": Rpc(answer=notifications_rpc.InboxMessageView, many=True),
        "list_party_contacts": Rpc(notifications_rpc.PartyContactsFilterSchema, notifications_rpc.PartyContactsView,
                                   many=True),
        "create_referral": Rpc(notifications_rpc.CreateReferralSchema, notifications_rpc.ReferralView),
        "accept_referral": Rpc(notifications_rpc.AcceptReferralSchema, notifications_rpc.ReferralView),
        "record_referral_action": Rpc(notifications_rpc.ReferralActionSchema, notifications_rpc.ReferralView),
        "close_referral": Rpc(notifications_rpc.CloseReferralSchema, notifications_rpc.ReferralView),
        "list_referrals": Rpc(notifications_rpc.ReferralFilterSchema, notifications_rpc.ReferralListItemView,
                              many=True),
        "sweep": Rpc(), "deliver_due": Rpc(),
        # channels without a gateway and parties without a working contact (eldercare status)
        "delivery_readiness": Rpc(),
    }),
    consumes=(
        Consumes("on_visits_event", "visits", ("visits.risk_reported.v1", "visits.visit_overdue.v1")),
        Consumes("on_orders_event", "orders", ("orders.order_unaccepted.v1",)),
        Consumes("on_registry_event", "registry", (
            "registry.elder_registered.v1", "registry.elder_details_corrected.v1", "registry.supporter_left.v1",
            "registry.carer_entrusted.v1", "registry.elder_moved.v1", "registry.elder_died.v1",
            "registry.key_target_changed.v1", "registry.elder_hospitalised.v1", registry.ERASURE_EVENT)),
        # A health check's risk or a case raises an alert; a case from a referral accepts it and
        # its closure settles it.
        Consumes("on_departments_event", "departments", (
            "departments.health_check_recorded.v1", "departments.case_opened.v1", "departments.case_closed.v1")),
    ),
)

SUBSIDIES = ServiceContract(
    name="subsidies", runs="services.subsidies.service:SubsidiesService", events=subsidies,
    rpc=MappingProxyType({
        **PING, **ELDER_EVENTS,
        "start_run": Rpc(subsidies_rpc.RunKeySchema, subsidies_rpc.RunComputedView),
        "approve_run": Rpc(subsidies_rpc.ApproveRunSchema, subsidies_rpc.RunStatusView),
        "mark_paid": Rpc(subsidies_rpc.MarkPaidSchema, subsidies_rpc.RunStatusView),
        "close_month": Rpc(subsidies_rpc.RunKeySchema, subsidies_rpc.RunStatusView),
        "list_runs": Rpc(subsidies_rpc.ListRunsSchema, subsidies_rpc.RunListItemView, many=True),
        "get_run": Rpc(subsidies_rpc.RunKeySchema, subsidies_rpc.RunStatusView),
        "payment_file": Rpc(subsidies_rpc.RunKeySchema, subsidies_rpc.PaymentFileView),
        "division_summary": Rpc(subsidies_rpc.RunKeySchema, subsidies_rpc.RunSummaryView),
        "unpaid_grants": Rpc(),
        "entitlement_as_of": Rpc(subsidies_rpc.EntitlementQuerySchema, subsidies_rpc.EntitlementView),
    }),
    consumes=(
        Consumes("on_registry_event", "registry", (
            "registry.elder_registered.v1", "registry.elder_details_corrected.v1", "registry.self_care_assessed.v1",
            "registry.support_status_changed.v1", "registry.elder_moved.v1", "registry.elder_died.v1",
            "registry.record_merged_into.v1", "registry.record_unmerged.v1", registry.ERASURE_EVENT)),
        # Residence (support mode) from facilities itself, the source of admissions (the
        # registry's entered/left-facility echoes of the same facts are not consumed), and grants.
        Consumes("on_facility_event", "facilities", (
            "facilities.elder_admitted.v1", "facilities.elder_discharged.v1", "facilities.elder_transferred.v1",
            "facilities.star_award_granted.v1", "facilities.operating_subsidy_eligible.v1")),
        # Meals delivered at home (with the month's count): a per-meal meal subsidy pays by them.
        Consumes("on_orders_event", "orders", ("orders.meal_delivered.v1",)),
    ),
)

AUDIT = ServiceContract(
    name="audit", runs="services.audit.service:AuditWitnessService", events=None,
    rpc=MappingProxyType({**PING, "held": Rpc()}), seals_checkpoints=False,
)

# People, grants and sign-in (issue 18). Answers are plain dicts (contracts.accounts describes
# them). Its log is sealed like the others (every other service holds its checkpoints); it
# holds none itself.
ACCOUNTS = ServiceContract(
    name="accounts", runs="services.accounts.service:AccountsService", events=accounts,
    rpc=MappingProxyType({
        **PING,
        "sign_in": Rpc(accounts_rpc.SignInSchema), "resolve_session": Rpc(accounts_rpc.SessionTokenSchema),
        "resolve_token": Rpc(accounts_rpc.ApiTokenSchema), "sign_out": Rpc(accounts_rpc.SessionTokenSchema),
        "select_grant": Rpc(accounts_rpc.SelectGrantSchema), "set_password": Rpc(accounts_rpc.ChangePasswordSchema),
        "complete_password_reset": Rpc(accounts_rpc.CompleteResetSchema),
        "begin_second_factor": Rpc(accounts_rpc.SecondFactorStartSchema),
        "confirm_second_factor": Rpc(accounts_rpc.SecondFactorConfirmSchema),
        "create_person": Rpc(accounts_rpc.CreatePersonSchema), "change_details": Rpc(accounts_rpc.ChangeDetailsSchema),
        "grant_role": Rpc(accounts_rpc.GrantRoleSchema), "revoke_role": Rpc(accounts_rpc.RevokeRoleSchema),
        "suspend_person": Rpc(accounts_rpc.PersonReasonSchema), "reinstate_person": Rpc(accounts_rpc.PersonReasonSchema),
        "record_leaving": Rpc(accounts_rpc.LeavingSchema), "unlock_account": Rpc(accounts_rpc.PersonReasonSchema),
        "remove_second_factor": Rpc(accounts_rpc.PersonReasonSchema), "end_session": Rpc(accounts_rpc.EndSessionSchema),
        "reset_password": Rpc(accounts_rpc.PersonIdSchema), "issue_api_token": Rpc(accounts_rpc.IssueTokenSchema),
        "revoke_api_token": Rpc(accounts_rpc.RevokeTokenSchema),
        "add_department": Rpc(accounts_rpc.AddDepartmentSchema),
        "retire_department": Rpc(accounts_rpc.RetireDepartmentSchema),
        "set_joint_meeting": Rpc(accounts_rpc.JointMeetingSchema),
        "get_person": Rpc(), "find_person": Rpc(), "list_people": Rpc(accounts_rpc.PeopleQuerySchema, many=True),
        "departments": Rpc(accounts_rpc.DepartmentsQuerySchema), "person_history": Rpc(),
    }),
    witnesses_checkpoints=False,
)

# The ledger import and survey campaigns call the registry (and notifications) over RPC; the
# import consumes only erasures. Their logs hold their own decisions, sealed like the others'.
IMPORTS = ServiceContract(
    name="imports", runs="services.imports.service:ImportsService", events=imports,
    rpc=MappingProxyType({
        **PING,
        "template": Rpc(),
        "open_import": Rpc(imports_rpc.OpenImportSchema, imports_rpc.ImportView),
        "get_import": Rpc(answer=imports_rpc.ImportView),
        "refused_rows": Rpc(imports_rpc.RowsQuerySchema, imports_rpc.RefusedRowView, many=True),
        "duplicates": Rpc(imports_rpc.RowsQuerySchema, imports_rpc.DuplicateView, many=True),
        "report": Rpc(),
        "decide_duplicate": Rpc(imports_rpc.DecideDuplicateSchema, imports_rpc.ImportView),
        # The payload is only the import id (in the gateway, the path): no body to describe.
        "commit": Rpc(answer=imports_rpc.ImportView),
    }),
    # Only erasures: the staged rows and uploaded files hold the registered elders' details.
    consumes=(Consumes("on_registry_event", "registry", (registry.ERASURE_EVENT,)),),
    witnesses_checkpoints=False,
)

SURVEYS = ServiceContract(
    name="surveys", runs="services.surveys.service:SurveysService", events=surveys,
    rpc=MappingProxyType({
        **PING,
        "open_campaign": Rpc(surveys_rpc.OpenCampaignSchema, surveys_rpc.CampaignView),
        "record_survey": Rpc(surveys_rpc.RecordSurveySchema, surveys_rpc.CampaignView),
        "get_campaign": Rpc(answer=surveys_rpc.CampaignView),
        "list_campaigns": Rpc(surveys_rpc.CampaignsQuerySchema, surveys_rpc.CampaignListItemView, many=True),
        "list_tasks": Rpc(surveys_rpc.TasksQuerySchema, surveys_rpc.TaskView, many=True),
        "progress": Rpc(surveys_rpc.ProgressQuerySchema, surveys_rpc.ProgressView, many=True),
        "close_campaign": Rpc(answer=surveys_rpc.CampaignView),     # the payload is only the campaign id
        "report_late_villages": Rpc(),
    }),
    witnesses_checkpoints=False,
)

# The departments' own records (issue 22): health, pensions, poverty registration, cases,
# cultural services, finance's payee accounts and payment files. It calls the registry (elder
# facts; a poverty registration's support status), notifications (a referral a case answers;
# a failed payment) and subsidies (an approved run's entries) and consumes no events.
DEPARTMENTS = ServiceContract(
    name="departments", runs="services.departments.service:DepartmentsService", events=departments,
    rpc=MappingProxyType({
        **_commands(departments_rpc.COMMAND_REQUESTS, departments_rpc.RecordView),
        **PING, **ELDER_EVENTS,
        "get_case": Rpc(answer=departments_rpc.CaseView),
        "list_cases": Rpc(departments_rpc.CaseFilterSchema, departments_rpc.CaseView, many=True),
        "elder_records": Rpc(answer=departments_rpc.RecordListItemView, many=True),
        "issue_payment_file": Rpc(departments_rpc.PaymentFileSchema, departments_rpc.BankPaymentFileView),
        "read_bank_return": Rpc(departments_rpc.BankReturnSchema, departments_rpc.BankReturnView),
        "get_payment_file": Rpc(answer=departments_rpc.PaymentFileStatusView),
        "division_summary": Rpc(departments_rpc.SummaryQuerySchema, departments_rpc.SummaryView),
    }),
    witnesses_checkpoints=False,
)

# Home-service orders (issue 22): routed by the facilities' declared offers, for elders the
# registry reported.
ORDERS = ServiceContract(
    name="orders", runs="services.orders.service:OrdersService", events=orders,
    rpc=MappingProxyType({
        **PING, **ELDER_EVENTS,
        "place_order": Rpc(orders_rpc.PlaceOrderSchema, orders_rpc.OrderView),
        "accept_order": Rpc(orders_rpc.FacilityActionSchema, orders_rpc.OrderView),
        "decline_order": Rpc(orders_rpc.DeclineOrderSchema, orders_rpc.OrderView),
        "complete_order": Rpc(orders_rpc.CompleteOrderSchema, orders_rpc.OrderView),
        "get_order": Rpc(answer=orders_rpc.OrderView),
        "facility_orders": Rpc(orders_rpc.FacilityOrdersQuerySchema, orders_rpc.OrderListItemView, many=True),
        "elder_orders": Rpc(orders_rpc.ElderOrdersQuerySchema, orders_rpc.OrderListItemView, many=True),
        "meals_delivered": Rpc(orders_rpc.MealsQuerySchema, orders_rpc.MealsDeliveredView, many=True),
        "raise_overdue": Rpc(),
    }),
    consumes=(
        Consumes("on_registry_event", "registry", (
            "registry.elder_registered.v1", "registry.elder_moved.v1", "registry.elder_died.v1",
            "registry.record_merged_into.v1", "registry.record_unmerged.v1")),
        Consumes("on_facility_event", "facilities", HOME_SERVICE_EVENTS),
    ),
    witnesses_checkpoints=False,
)

SERVICES: Mapping[str, ServiceContract] = MappingProxyType(
    {service.name: service for service in (REGISTRY, VISITS, FACILITIES, NOTIFICATIONS, SUBSIDIES, AUDIT, ACCOUNTS,
                                           IMPORTS, SURVEYS, DEPARTMENTS, ORDERS)})
SEALING_SERVICES = tuple(name for name, service in SERVICES.items() if service.seals_checkpoints)
# The gateway: not a nameko RPC service others call, but a process of its own with a log.
GATEWAY = ServiceContract(name="gateway", runs="gateway.service:GatewayService", rpc=MappingProxyType({}),
                          events=gateway, seals_checkpoints=False, witnesses_checkpoints=False)
# Every process the Procfile starts; each has its own database, migrated by `eldercare migrate`.
PROCESSES: Mapping[str, ServiceContract] = MappingProxyType({**SERVICES, GATEWAY.name: GATEWAY})


def witness_consumers(service: ServiceContract) -> tuple[Consumes, ...]:
    """The checkpoint consumers ``kernel.witness`` gives a witnessing service: one per other
    sealing service."""
    if not service.witnesses_checkpoints:
        return ()
    return tuple(Consumes(f"on_{source}_checkpoint", source, (CHECKPOINT_EVENT,))
                 for source in SEALING_SERVICES if source != service.name)


def subscriptions(name: str) -> list[Subscription]:
    """The consumer queues of one service, as the broker topology declares them."""
    service = SERVICES[name]
    return [Subscription(f"{name}.{consumes.handler}", consumes.source, consumes.event_types)
            for consumes in service.consumes + witness_consumers(service)]


def all_subscriptions() -> list[Subscription]:
    """Every durable consumer queue in the system."""
    return [subscription for name in SERVICES for subscription in subscriptions(name)]
