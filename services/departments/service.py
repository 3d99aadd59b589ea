"""The departments' own work (001's duties of the nine departments beyond civil affairs):
health's annual checks of elders 65+, chronic-condition follow-ups and family-doctor
contracts; human resources & social security's pensions; the poverty office's registration
as poor (建档立卡, which changes the elder's support status in the registry through the
registry's command) and monitoring of households at risk of returning to poverty; public
security's and justice's cases and legal aid; culture's and the aging office's cultural
services.

Each command is owned by the departments ``contracts.departments_rpc.OWNERS`` names, and a
record is written only by the department that opened it. Its public events feed the
elder's timeline, the dashboard (``division_summary``) and notifications (a health risk or
a case raises an alert; a case answering a referral accepts and then closes it).
"""
from __future__ import annotations

import structlog

from contracts import CATALOGUE
from contracts import departments_rpc as s
from contracts.actors import ActorSchema
from kernel.providers import CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase, ping_answer
from kernel.errors import CommandRejected
from kernel.rpc import command_rpc
from kernel.service_rpc import ServiceRpc
from kernel.trace import events_about
from kernel.validation import load_or_refuse
from kernel.ids import uuid7_string
from services.departments import domain as d
from services.departments import handlers
from services.departments.adapters.projections import DepartmentsProjection, FinanceProjection

log = structlog.get_logger(__name__)
ACTOR = ActorSchema()
SCHEMAS = {method: schema() for method, schema in {**s.COMMAND_REQUESTS, **s.FILE_REQUESTS}.items()}
VIEW, CASE_VIEW, CASES, SUMMARY = s.RecordView(), s.CaseView(), s.CaseFilterSchema(), s.SummaryQuerySchema()


def _findings(data):
    return tuple(d.Finding(f["code"], f.get("note")) for f in data["findings"])


# method → (area, how the loaded payload becomes the domain command)
BUILDERS = {
    "record_health_check": ("health", lambda c, x: d.RecordHealthCheck(
        *c, examiner=x["examiner"], findings=_findings(x), risk_severity=x["risk_severity"],
        risk_summary=x["risk_summary"])),
    "record_chronic_followup": ("health", lambda c, x: d.RecordChronicFollowup(
        *c, condition=x["condition"], examiner=x["examiner"], note=x["note"], next_due_on=x["next_due_on"])),
    "sign_family_doctor": ("doctor", lambda c, x: d.SignFamilyDoctor(*c, doctor=x["doctor"], team=x["team"],
                                                                     valid_until=x["valid_until"])),
    "end_family_doctor": ("doctor", lambda c, x: d.EndFamilyDoctor(*c, reason=x["reason"])),
    "enrol_pension": ("pension", lambda c, x: d.EnrolPension(*c, scheme=x["scheme"])),
    "change_pension_status": ("pension", lambda c, x: d.ChangePensionStatus(
        *c, status=x["status"], monthly_amount_fen=x["monthly_amount_fen"], reason=x["reason"])),
    "register_poverty": ("poverty", lambda c, x: d.RegisterPoverty(*c, reason=x["reason"])),
    "end_poverty_registration": ("poverty", lambda c, x: d.EndPovertyRegistration(*c, reason=x["reason"])),
    "start_poverty_monitoring": ("monitoring", lambda c, x: d.StartPovertyMonitoring(*c, risk=x["risk"],
                                                                                     note=x["note"])),
    "end_poverty_monitoring": ("monitoring", lambda c, x: d.EndPovertyMonitoring(*c, outcome=x["outcome"])),
    "open_case": ("case", lambda c, x: d.OpenCase(*c, case_id=x["case_id"], kind=x["kind"], summary=x["summary"],
                                                  referral_id=x["referral_id"])),
    "give_legal_aid": ("case", lambda c, x: d.GiveLegalAid(*c, aid=x["aid"], note=x["note"])),
    "close_case": ("case", lambda c, x: d.CloseCase(*c, outcome=x["outcome"], note=x["note"])),
    "record_cultural_service": ("culture", lambda c, x: d.RecordCulturalService(*c, service=x["service"],
                                                                                provider=x["provider"])),
    "set_payee_account": ("payee", lambda c, x: d.SetPayeeAccount(*c, payee_name=x["payee_name"], bank=x["bank"],
                                                                  card=x["card"], account_number=x["account_number"])),
}
assert set(BUILDERS) | set(s.FILE_REQUESTS) == set(s.OWNERS)


class DepartmentsService:
    name = "departments"

    db = ServiceDatabase(CATALOGUE, projections=(DepartmentsProjection(), FinanceProjection()))
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()       # signed checkpoints of its log, held by the witnesses
    calls = ServiceRpc("DEPARTMENTS")
    log = LoggingContext()

    def _run(self, method: str, payload, actor) -> dict:
        data, who = load_or_refuse(SCHEMAS[method], payload), load_or_refuse(ACTOR, actor)
        area, build = BUILDERS[method]
        if method == "open_case":
            data["case_id"] = data["case_id"] or f"case-{uuid7_string()}"
        subject = data.get("case_id") if area == "case" else data["elder_id"]
        command = build((who.department, data["effective_date"]), data)
        state = handlers.perform(self.db, self.calls, d.record_id_of(area, subject), data.get("elder_id"), command,
                                 s.OWNERS[method], who, self.db.clock.today())
        return VIEW.dump(state)

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)

    # -- health ------------------------------------------------------------------------------
    @command_rpc
    def record_health_check(self, payload, actor):
        """The annual health-management check of an elder 65+ (one a year); a risk raises an alert."""
        return self._run("record_health_check", payload, actor)

    @command_rpc
    def record_chronic_followup(self, payload, actor):
        return self._run("record_chronic_followup", payload, actor)

    @command_rpc
    def sign_family_doctor(self, payload, actor):
        """A family-doctor contract (签约), one in force at a time."""
        return self._run("sign_family_doctor", payload, actor)

    @command_rpc
    def end_family_doctor(self, payload, actor):
        return self._run("end_family_doctor", payload, actor)

    # -- human resources & social security ---------------------------------------------------
    @command_rpc
    def enrol_pension(self, payload, actor):
        return self._run("enrol_pension", payload, actor)

    @command_rpc
    def change_pension_status(self, payload, actor):
        """Receiving (the basic pension in integer fen a month) or suspended."""
        return self._run("change_pension_status", payload, actor)

    # -- poverty alleviation ------------------------------------------------------------------
    @command_rpc
    def register_poverty(self, payload, actor):
        """Registered as poor (建档立卡): the registry's support status changes by its command."""
        return self._run("register_poverty", payload, actor)

    @command_rpc
    def end_poverty_registration(self, payload, actor):
        return self._run("end_poverty_registration", payload, actor)

    @command_rpc
    def start_poverty_monitoring(self, payload, actor):
        """The elder's household is watched for a return to poverty."""
        return self._run("start_poverty_monitoring", payload, actor)

    @command_rpc
    def end_poverty_monitoring(self, payload, actor):
        return self._run("end_poverty_monitoring", payload, actor)

    # -- public security / justice ------------------------------------------------------------
    @command_rpc
    def open_case(self, payload, actor):
        """A case about an elder; with ``referral_id``, the referral it answers (sent to this department)."""
        return self._run("open_case", payload, actor)

    @command_rpc
    def give_legal_aid(self, payload, actor):
        return self._run("give_legal_aid", payload, actor)

    @command_rpc
    def close_case(self, payload, actor):
        """Close with the outcome (by the department that opened it); its referral closes too."""
        return self._run("close_case", payload, actor)

    # -- culture / aging office -----------------------------------------------------------------
    @command_rpc
    def record_cultural_service(self, payload, actor):
        return self._run("record_cultural_service", payload, actor)

    # -- finance ---------------------------------------------------------------------------------
    @command_rpc
    def set_payee_account(self, payload, actor):
        """The account the elder's subsidies are paid into (the 惠民惠农 one-card account)."""
        return self._run("set_payee_account", payload, actor)

    def _finance(self, method: str, payload, actor):
        data, who = load_or_refuse(SCHEMAS[method], payload), load_or_refuse(ACTOR, actor)
        if who.department not in s.OWNERS[method]:
            raise CommandRejected(f"{who.department} does not own payment files: finance does", field="department")
        return data, who

    @command_rpc
    def issue_payment_file(self, payload, actor):
        """A bank payment file (payee, account, amount) of an approved subsidy run: what is
        payable and not yet issued, and failed payments whose account changed since."""
        data, who = self._finance("issue_payment_file", payload, actor)
        return s.BankPaymentFileView().dump(handlers.issue_payment_file(
            self.db, self.calls, data["jurisdiction"], data["month"], who, self.db.clock.today()))

    @command_rpc
    def read_bank_return(self, payload, actor):
        """The bank's return file: each line paid or failed (re-issued next, or alerted)."""
        data, who = self._finance("read_bank_return", payload, actor)
        return s.BankReturnView().dump(handlers.read_bank_return(self.db, self.calls, data["file_id"], data["csv"],
                                                                 who, self.db.clock.today()))

    # -- reads ---------------------------------------------------------------------------------
    @command_rpc
    def get_payment_file(self, file_id):
        """A payment file's run and jurisdiction, and its lines still awaiting the bank, paid, failed."""
        with self.db.connect() as conn:
            return handlers.payment_file_view(conn, file_id)

    @command_rpc
    def get_case(self, case_id):
        with self.db.connect() as conn:
            return CASE_VIEW.dump(handlers.case_view(conn, case_id))

    @command_rpc
    def list_cases(self, filters=None):
        query = load_or_refuse(CASES, filters or {})
        with self.db.connect() as conn:
            return CASE_VIEW.dump(handlers.list_cases(conn, query), many=True)

    @command_rpc
    def elder_records(self, elder_id):
        """The elder's records, one per department area (personal: the gateway logs each read)."""
        with self.db.connect() as conn:
            return handlers.elder_records(conn, elder_id)

    @command_rpc
    def elder_events(self, elder_id):
        """Every event about the elder, for the gateway's cross-agency timeline."""
        return events_about(self.db.engine, elder_id)

    @command_rpc
    def division_summary(self, query):
        """Per division: 65+ checked this year, open cases, pensions, poverty registrations…"""
        query = load_or_refuse(SUMMARY, query)
        with self.db.connect() as conn:
            return handlers.division_summary(conn, query["division_code"],
                                             query["year"] or self.db.clock.today().year)
