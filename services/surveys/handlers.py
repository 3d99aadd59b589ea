"""Survey campaigns' units of work. The domain decides; these read the registry over RPC
(the elders to survey), send the registry the corrections a visit found (``correct_details``
with a command id per campaign and elder), report late villages to notifications, and
append the campaign's events with its tables in one transaction."""
from __future__ import annotations

from dataclasses import asdict
from datetime import date

import structlog
from sqlalchemy import func, select, update

from kernel.db import insert_many
from kernel.divisions import significant_prefix
from kernel.envelope import Actor, PendingEvent
from kernel.errors import NotFoundError
from services.surveys import domain as d
from services.surveys.adapters.tables import campaigns, survey_tasks

log = structlog.get_logger(__name__)
SYSTEM = Actor.system("surveys")
TYPES = {d.CampaignOpened: "surveys.campaign_opened.v1", d.ElderSurveyed: "surveys.elder_surveyed.v1",
         d.VillageReportedLate: "surveys.village_reported_late.v1", d.CampaignClosed: "surveys.campaign_closed.v1"}
CLASSES = {type_: cls for cls, type_ in TYPES.items()}
DATE_FIELDS = ("opened_on", "deadline", "surveyed_on", "closed_on")
PAGE = 1000
NEXT_LEVEL = {2: 4, 4: 6, 6: 9, 9: 12}     # a prefix's length → the length one level down


def _pending(event, jurisdiction: str, actor: Actor, now) -> PendingEvent:
    data = {k: (v.isoformat() if isinstance(v, date) else list(v) if isinstance(v, tuple) else v)
            for k, v in asdict(event).items()}
    if "villages" in data:     # on the wire a list (the compiled acceptor reads lists, not maps)
        data["villages"] = [{"village_code": v, "elders": n} for v, n in sorted(data["villages"].items())]
    return PendingEvent(event.campaign_id, TYPES[type(event)], data, now, actor, jurisdiction.ljust(12, "0"))


def _event(envelope):
    data = {k: (date.fromisoformat(v) if k in DATE_FIELDS else tuple(v) if isinstance(v, list) else v)
            for k, v in envelope.data.items()}
    if "villages" in data:
        data["villages"] = {item["village_code"]: item["elders"] for item in data["villages"]}
    return CLASSES[envelope.type](**data)


def load_campaign(source, campaign_id: str) -> d.Campaign:
    return d.fold(campaign_id, [_event(e) for e in source.read_stream(campaign_id)])


def _append(uow, events, state: d.Campaign, actor: Actor) -> d.Campaign:
    uow.append([_pending(e, state.jurisdiction or events[0].jurisdiction, actor, uow.now()) for e in events],
               {state.campaign_id: state.version})
    for event in events:
        state = d.evolve(state, event)
    uow.conn.execute(update(campaigns).where(campaigns.c.campaign_id == state.campaign_id).values(
        status=state.status, version=state.version))
    return state


def elders_to_survey(calls, jurisdiction: str) -> list[dict]:
    """Every active elder of the jurisdiction, from the registry's directory."""
    found = []
    while True:
        page = calls.query("registry", "search_elders", {"division_code": jurisdiction, "record_status": "active",
                                                         "limit": PAGE, "offset": len(found)})
        found += page
        if len(page) < PAGE:
            return found


def open_campaign(db, calls, command: d.OpenCampaign, correctable: frozenset, actor: Actor, today: date) -> d.Campaign:
    elders = elders_to_survey(calls, command.jurisdiction)
    villages: dict[str, int] = {}
    for elder in elders:
        villages[elder["division_code"]] = villages.get(elder["division_code"], 0) + 1
    with db.unit_of_work() as uow:
        open_ones = uow.conn.execute(select(campaigns.c.campaign_id, campaigns.c.jurisdiction).where(
            campaigns.c.status == "open")).all()
        state = load_campaign(uow, command.campaign_id)
        events = d.decide_open(state, command, [tuple(r) for r in open_ones], villages, correctable, today)
        uow.conn.execute(campaigns.insert().values(
            campaign_id=command.campaign_id, jurisdiction=command.jurisdiction, name=command.name,
            opened_on=today.isoformat(), deadline=command.deadline.isoformat(), status="open", version=0))
        rows = [{"campaign_id": command.campaign_id, "elder_id": e["elder_id"], "village_code": e["division_code"],
                 "outcome": None, "surveyed_on": None, "visitor": None} for e in elders]
        for start in range(0, len(rows), PAGE):
            insert_many(uow.conn, survey_tasks, rows[start:start + PAGE])
        state = _append(uow, events, d.Campaign(command.campaign_id, jurisdiction=command.jurisdiction), actor)
    log.info("survey campaign opened", campaign_id=command.campaign_id, elders=len(elders), villages=len(villages))
    return state


def _task(conn, campaign_id: str, elder_id: str):
    return conn.execute(select(survey_tasks).where(survey_tasks.c.campaign_id == campaign_id,
                                                   survey_tasks.c.elder_id == elder_id)).first()


def record_survey(db, calls, campaign_id: str, elder_id: str, outcome: str, corrections: dict, surveyed_on: date,
                  visitor: str, actor: Actor, today: date) -> d.Campaign:
    """The visit's corrections go to the registry first (refused there: nothing is written
    here), then the survey is recorded."""
    with db.connect() as conn:
        state = load_campaign(db.store, campaign_id)
        task = _task(conn, campaign_id, elder_id)
    command = d.RecordSurvey(campaign_id, elder_id, task.village_code if task else "", outcome,
                             tuple(sorted(corrections)), surveyed_on, visitor)
    if task is None and state.status != "none":
        raise NotFoundError(f"elder {elder_id} is not on campaign {campaign_id}'s list", field="elder_id")
    d.decide_survey(state, command, task is not None and task.outcome is not None, today)
    if corrections:
        calls.send("registry", "correct_details", {
            "elder_id": elder_id, "effective_date": surveyed_on.isoformat(), "changes": corrections,
            "reason": f"摸底排查核实更正（{campaign_id}，走访人 {visitor}）"}, actor.to_dict(),
            command_id=f"survey/{campaign_id}/{elder_id}").result()
    with db.unit_of_work() as uow:
        state = load_campaign(uow, campaign_id)
        events = d.decide_survey(state, command, _task(uow.conn, campaign_id, elder_id).outcome is not None, today)
        uow.conn.execute(update(survey_tasks).where(survey_tasks.c.campaign_id == campaign_id,
                                                    survey_tasks.c.elder_id == elder_id).values(
            outcome=outcome, surveyed_on=surveyed_on.isoformat(), visitor=visitor))
        return _append(uow, events, state, actor)


def report_late_villages(db, calls, today: date) -> int:
    """Report each village behind schedule to notifications, once per campaign; notifications
    escalates the alert level by level while it is not acknowledged. Returns how many."""
    with db.connect() as conn:
        open_ids = conn.execute(select(campaigns.c.campaign_id).where(campaigns.c.status == "open")).scalars().all()
    reported = 0
    for campaign_id in open_ids:
        state = load_campaign(db.store, campaign_id)
        for village, done, total in d.behind_schedule(state, today):
            alert = calls.send("notifications", "report_alert", {
                "kind": "survey_behind_schedule", "division_code": village, "severity": "medium",
                "summary": f"摸底排查进度落后：{campaign_id} 截止 {state.deadline}，本村已排查 {done}/{total} 人",
                "incident_key": f"survey:{campaign_id}:{village}"}, SYSTEM.to_dict(),
                command_id=f"survey-late/{campaign_id}/{village}").result()
            with db.unit_of_work() as uow:
                state = load_campaign(uow, campaign_id)
                state = _append(uow, [d.VillageReportedLate(campaign_id, village, done, total, alert["alert_id"])],
                                state, SYSTEM)
            reported += 1
    return reported


def close_campaign(db, calls, campaign_id: str, actor: Actor, today: date) -> d.Campaign:
    with db.connect() as conn:
        state = load_campaign(db.store, campaign_id)
        listed = set(conn.execute(select(survey_tasks.c.elder_id).where(
            survey_tasks.c.campaign_id == campaign_id)).scalars())
    d.decide_close(state, 0, today)              # refuse an unknown or closed campaign before asking the registry
    newly_found = sum(1 for e in elders_to_survey(calls, state.jurisdiction) if e["elder_id"] not in listed)
    with db.unit_of_work() as uow:
        state = load_campaign(uow, campaign_id)
        return _append(uow, d.decide_close(state, newly_found, today), state, actor)


def progress(conn, campaign_id: str, division_code: str | None) -> list[dict]:
    """Completion per place one level down from ``division_code`` (county → townships,
    township → villages; default the campaign's jurisdiction)."""
    record = conn.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()
    if record is None:
        raise NotFoundError(f"no campaign {campaign_id!r}", field="campaign_id")
    prefix = significant_prefix(division_code) if division_code else record.jurisdiction
    width = NEXT_LEVEL.get(len(prefix), 12)
    place = func.substr(survey_tasks.c.village_code, 1, width)
    rows = conn.execute(select(place.label("place"), func.count().label("total"),
                               func.count(survey_tasks.c.outcome).label("surveyed"))
                        .where(survey_tasks.c.campaign_id == campaign_id,
                               survey_tasks.c.village_code.startswith(prefix))
                        .group_by(place).order_by(place)).all()
    return [{"division_code": r.place.ljust(12, "0"), "total": r.total, "surveyed": r.surveyed,
             "share": round(r.surveyed / r.total, 4) if r.total else 0.0} for r in rows]
