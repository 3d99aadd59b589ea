"""Survey campaigns (全面摸底排查): a county or city surveys every elder of its ledger by a
deadline (seed 001 set the first full survey's for mid-September 2018, then regular
re-surveys).

``open_campaign`` lists every active elder of the jurisdiction (from the registry) as a task
of their village; the village's visitors work through ``list_tasks``. ``record_survey``
confirms the record, corrects it (the correction is the registry's ``correct_details``, so
an event there, refused there by field if wrong) or records the elder not found.
``progress`` is completion by township or village. A timer reports each village behind
schedule to notifications once, which escalates it village committee → township → county
civil affairs while nobody acknowledges it. ``close_campaign`` ends it with its report.
"""
from __future__ import annotations

import structlog

from contracts import CATALOGUE
from contracts.actors import ActorSchema
from kernel.divisions import significant_prefix
from kernel.errors import NotFoundError
from kernel.providers import (CheckpointSealer, LoggingContext, OutboxRelayRunner, ServiceDatabase, configured_timer,
                              ping_answer)
from kernel.rpc import command_rpc
from kernel.service_rpc import ServiceRpc
from kernel.validation import load_or_refuse
from sqlalchemy import or_, select
from services.surveys import domain as d
from services.surveys import handlers
from services.surveys.adapters.tables import campaigns, survey_tasks
from contracts.surveys_rpc import (CONFIRMABLE, CampaignIdSchema, CampaignsQuerySchema, CampaignView,
                                   OpenCampaignSchema, ProgressQuerySchema, RecordSurveySchema, TasksQuerySchema)

log = structlog.get_logger(__name__)
ACTOR, OPEN, RECORD, CAMPAIGN, TASKS, PROGRESS = (ActorSchema(), OpenCampaignSchema(), RecordSurveySchema(),
                                                  CampaignIdSchema(), TasksQuerySchema(), ProgressQuerySchema())
CAMPAIGNS = CampaignsQuerySchema()
VIEW = CampaignView()


class SurveysService:
    name = "surveys"

    db = ServiceDatabase(CATALOGUE)
    relay = OutboxRelayRunner()
    checkpoints = CheckpointSealer()       # signed checkpoints of its log, held by the witnesses
    calls = ServiceRpc("SURVEYS")
    log = LoggingContext()

    @command_rpc
    def ping(self):
        return ping_answer(self.name, self.db)

    @command_rpc
    def open_campaign(self, payload, actor):
        """Open a campaign for a county or city: a deadline after today, the fields to
        confirm, no other open campaign over the same villages."""
        data, who = load_or_refuse(OPEN, payload), load_or_refuse(ACTOR, actor)
        command = d.OpenCampaign(data["campaign_id"], data["jurisdiction"], data["name"], data["deadline"],
                                 tuple(data["fields_to_confirm"]))
        return VIEW.dump(handlers.open_campaign(self.db, self.calls, command, CONFIRMABLE, who, self.db.clock.today()))

    @command_rpc
    def record_survey(self, payload, actor):
        """A survey visit: confirmed, corrected (sent to the registry) or not found."""
        data, who = load_or_refuse(RECORD, payload), load_or_refuse(ACTOR, actor)
        state = handlers.record_survey(self.db, self.calls, data["campaign_id"], data["elder_id"], data["outcome"],
                                       data["corrections"], data["surveyed_on"], data["visitor"], who,
                                       self.db.clock.today())
        return VIEW.dump(state)

    @command_rpc
    def get_campaign(self, campaign_id):
        query = load_or_refuse(CAMPAIGN, {"campaign_id": campaign_id})
        state = handlers.load_campaign(self.db.store, query["campaign_id"])
        if state.status == "none":
            raise NotFoundError(f"no campaign {campaign_id!r}", field="campaign_id")
        return VIEW.dump(state)

    @command_rpc
    def list_campaigns(self, query):
        """Campaigns covering a division (its county's or city's) or inside it, newest first."""
        query = load_or_refuse(CAMPAIGNS, query)
        prefix = significant_prefix(query["division_code"])
        covering = [prefix[:length] for length in (2, 4, 6, 9, 12) if length <= len(prefix)]
        condition = [or_(campaigns.c.jurisdiction.in_(covering), campaigns.c.jurisdiction.startswith(prefix))]
        if query["status"]:
            condition.append(campaigns.c.status == query["status"])
        with self.db.connect() as conn:
            rows = conn.execute(select(campaigns).where(*condition)
                                .order_by(campaigns.c.opened_on.desc(), campaigns.c.campaign_id)
                                .limit(query["limit"]).offset(query["offset"])).all()
        return [{k: v for k, v in r._mapping.items() if k != "version"} for r in rows]

    @command_rpc
    def list_tasks(self, query):
        """A village's elders to survey (its visitors' work list), with outcomes so far."""
        query = load_or_refuse(TASKS, query)
        condition = [survey_tasks.c.campaign_id == query["campaign_id"],
                     survey_tasks.c.village_code == query["village_code"]]
        if query["pending_only"]:
            condition.append(survey_tasks.c.outcome.is_(None))
        with self.db.connect() as conn:
            rows = conn.execute(select(survey_tasks).where(*condition).order_by(survey_tasks.c.elder_id)
                                .limit(query["limit"]).offset(query["offset"])).all()
        return [dict(r._mapping) for r in rows]

    @command_rpc
    def progress(self, query):
        """Completion per township (of a county) or village (of a township)."""
        query = load_or_refuse(PROGRESS, query)
        with self.db.connect() as conn:
            return handlers.progress(conn, query["campaign_id"], query["division_code"])

    @command_rpc
    def close_campaign(self, payload, actor):
        """Close with the report: surveyed, confirmed, corrected, not found, not surveyed,
        newly found (registered in the jurisdiction since the campaign opened)."""
        data, who = load_or_refuse(CAMPAIGN, payload), load_or_refuse(ACTOR, actor)
        return VIEW.dump(handlers.close_campaign(self.db, self.calls, data["campaign_id"], who, self.db.clock.today()))

    @command_rpc(idempotent=True)
    def report_late_villages(self):
        """Report villages behind schedule (also run by the timer); each once per campaign."""
        return handlers.report_late_villages(self.db, self.calls, self.db.clock.today())

    @configured_timer("SURVEYS.late_check_interval_seconds", 3600)
    def report_late_on_timer(self):
        with self.db.exclusively("late-villages") as mine:
            if mine:
                handlers.report_late_villages(self.db, self.calls, self.db.clock.today())
