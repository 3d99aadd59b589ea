"""Survey campaigns (全面摸底排查), pure: opening one, recording a survey visit, which villages
are behind schedule, closing with the figures. No framework, no I/O.

Schedule: by each day of the campaign, a village should have surveyed at least the share of
its elders that the share of the campaign's days gone by is. A village is behind once half
the time is gone and it is below that line (or the deadline passed with elders left); it is
reported to notifications once per campaign, and notifications escalates the alert village
committee → township → county civil affairs while nobody acknowledges it.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError

OUTCOMES = ("confirmed", "corrected", "not_found")
REPORT_FROM_SHARE = 0.5          # no village is behind before half the campaign's days are gone


@dataclass(frozen=True)
class OpenCampaign:
    campaign_id: str
    jurisdiction: str            # a division prefix: a county (6) or a city (4)
    name: str
    deadline: date
    fields_to_confirm: tuple[str, ...]


@dataclass(frozen=True)
class RecordSurvey:
    campaign_id: str
    elder_id: str
    village_code: str
    outcome: str
    corrected_fields: tuple[str, ...]
    surveyed_on: date
    visitor: str


@dataclass(frozen=True)
class CampaignOpened:
    campaign_id: str
    jurisdiction: str
    name: str
    opened_on: date
    deadline: date
    fields_to_confirm: tuple[str, ...]
    villages: dict


@dataclass(frozen=True)
class ElderSurveyed:
    campaign_id: str
    elder_id: str
    village_code: str
    outcome: str
    corrected_fields: tuple[str, ...]
    surveyed_on: date
    visitor: str


@dataclass(frozen=True)
class VillageReportedLate:
    campaign_id: str
    village_code: str
    surveyed: int
    total: int
    alert_id: str


@dataclass(frozen=True)
class CampaignClosed:
    campaign_id: str
    closed_on: date
    surveyed: int
    confirmed: int
    corrected: int
    not_found: int
    not_surveyed: int
    newly_found: int


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    status: str = "none"                              # none, open, closed
    jurisdiction: str = ""
    opened_on: date | None = None
    deadline: date | None = None
    fields_to_confirm: tuple[str, ...] = ()
    villages: dict = field(default_factory=dict)      # village → elders to survey
    surveyed: dict = field(default_factory=dict)      # village → surveyed so far
    outcomes: dict = field(default_factory=dict)      # outcome → count
    reported_late: frozenset = frozenset()
    version: int = 0


def overlaps(a: str, b: str) -> bool:
    """Two jurisdictions (division prefixes) share villages when one encloses the other."""
    return a.startswith(b) or b.startswith(a)


def decide_open(state: Campaign, command: OpenCampaign, open_campaigns: list[tuple[str, str]],
                villages: dict, correctable: frozenset, today: date) -> list[CampaignOpened]:
    """``open_campaigns``: (campaign id, jurisdiction) of every open campaign."""
    if state.status != "none":
        raise ConflictError(f"campaign {command.campaign_id} exists already", field="campaign_id")
    errors = {}
    if command.deadline <= today:
        errors["deadline"] = [f"截止日期 {command.deadline} 不在今天（{today}）之后 (the deadline must be after today)"]
    unknown = [name for name in command.fields_to_confirm if name not in correctable]
    if unknown or not command.fields_to_confirm:
        errors["fields_to_confirm"] = [f"not fields of the elder record: {', '.join(unknown)}" if unknown
                                       else "name at least one field to confirm"]
    if not command.name.strip():
        errors["name"] = ["must not be blank"]
    if errors:
        raise ValidationError(errors)
    clash = next((cid for cid, where in open_campaigns if overlaps(where, command.jurisdiction)), None)
    if clash:
        raise ConflictError(f"campaign {clash} is still open for villages of {command.jurisdiction}; close it "
                            "first (与未结束的排查重叠)", field="jurisdiction")
    if not villages:
        raise CommandRejected(f"no elder is registered in {command.jurisdiction} to survey", field="jurisdiction")
    return [CampaignOpened(command.campaign_id, command.jurisdiction, command.name, today, command.deadline,
                           command.fields_to_confirm, dict(villages))]


def decide_survey(state: Campaign, command: RecordSurvey, already_surveyed: bool, today: date) -> list[ElderSurveyed]:
    _check_open(state)
    if command.village_code not in state.villages:
        raise NotFoundError(f"elder {command.elder_id} is not on campaign {state.campaign_id}'s list",
                            field="elder_id")
    if already_surveyed:
        raise ConflictError(f"elder {command.elder_id} was surveyed in this campaign already", field="elder_id")
    if command.surveyed_on > today or command.surveyed_on < state.opened_on:
        raise ValidationError({"surveyed_on": [f"must be from {state.opened_on} to today ({today})"]})
    if command.outcome not in OUTCOMES:
        raise ValidationError({"outcome": [f"must be one of {', '.join(OUTCOMES)}"]})
    if (command.outcome == "corrected") != bool(command.corrected_fields):
        raise ValidationError({"corrections": ["a correction names what changed; other outcomes change nothing"]})
    return [ElderSurveyed(command.campaign_id, command.elder_id, command.village_code, command.outcome,
                          command.corrected_fields, command.surveyed_on, command.visitor)]


def behind_schedule(state: Campaign, today: date) -> list[tuple[str, int, int]]:
    """(village, surveyed, total) of each village behind schedule and not reported yet."""
    if state.status != "open":
        return []
    days = (state.deadline - state.opened_on).days
    gone = min(1.0, (today - state.opened_on).days / days) if days > 0 else 1.0
    if gone < REPORT_FROM_SHARE:
        return []
    late = []
    for village, total in sorted(state.villages.items()):
        done = state.surveyed.get(village, 0)
        if village not in state.reported_late and done < total and done / total < gone:
            late.append((village, done, total))
    return late


def decide_close(state: Campaign, newly_found: int, today: date) -> list[CampaignClosed]:
    _check_open(state)
    surveyed = sum(state.surveyed.values())
    return [CampaignClosed(state.campaign_id, today, surveyed, state.outcomes.get("confirmed", 0),
                           state.outcomes.get("corrected", 0), state.outcomes.get("not_found", 0),
                           sum(state.villages.values()) - surveyed, newly_found)]


def _check_open(state: Campaign) -> None:
    if state.status == "none":
        raise NotFoundError(f"no campaign {state.campaign_id!r}", field="campaign_id")
    if state.status == "closed":
        raise CommandRejected(f"campaign {state.campaign_id} is closed", field="campaign_id")


def evolve(state: Campaign, event) -> Campaign:
    if isinstance(event, CampaignOpened):
        state = replace(state, status="open", jurisdiction=event.jurisdiction, opened_on=event.opened_on,
                        deadline=event.deadline, fields_to_confirm=tuple(event.fields_to_confirm),
                        villages=dict(event.villages))
    elif isinstance(event, ElderSurveyed):
        state = replace(state, surveyed={**state.surveyed, event.village_code: state.surveyed.get(event.village_code, 0)
                                         + 1}, outcomes={**state.outcomes, event.outcome:
                                                         state.outcomes.get(event.outcome, 0) + 1})
    elif isinstance(event, VillageReportedLate):
        state = replace(state, reported_late=state.reported_late | {event.village_code})
    elif isinstance(event, CampaignClosed):
        state = replace(state, status="closed")
    else:
        raise TypeError(f"a campaign cannot apply {type(event).__name__}")
    return replace(state, version=state.version + 1)


def fold(campaign_id: str, events) -> Campaign:
    state = Campaign(campaign_id)
    for event in events:
        state = evolve(state, event)
    return state
