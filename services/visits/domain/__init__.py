"""The visits service's pure domain: visitors, visit plans (obligation, records, periods)
and the visit-frequency policy."""
from .periods import Period, last_period_end_before, parse_period, period_containing, periods_ending_between
from .plan import (PLAN_EVENTS, AssignmentNoticeIssued, AssignVisitor, ClosedPeriod, ClosePeriods, ElderPlan,
                   ElderRelocated, Findings, ObligationChanged, ObserveElder, OverdueResolved, PeriodMet,
                   PlanOpened, ReassignmentNeeded, Recipient, RecordVisit, Risk, RiskReported, VisitConflictFlagged,
                   VisitorAssigned, VisitOverdue, VisitRecord, VisitRecorded, close_periods, decide, evolve, fold)
from .policy import TARGET_CLASSES, Requirement, ResolvedPolicy, VisitPolicy, VisitPolicyBook
from .visitor import (VISITOR_EVENTS, ChangeVisitorVillages, DeactivateVisitor, RegisterVisitor,
                      VisitorDeactivated, VisitorRegistered, VisitorState, VisitorVillagesChanged, decide_visitor,
                      evolve_visitor, fold_visitor)

EVENT_TYPES = {cls.TYPE: cls for cls in PLAN_EVENTS + VISITOR_EVENTS}

__all__ = ["EVENT_TYPES", "Period", "last_period_end_before", "parse_period", "period_containing", "periods_ending_between", "PLAN_EVENTS", "AssignmentNoticeIssued", "AssignVisitor", "ClosedPeriod", "ClosePeriods", "ElderPlan", "ElderRelocated", "Findings", "ObligationChanged", "ObserveElder", "OverdueResolved", "PeriodMet", "PlanOpened", "ReassignmentNeeded", "Recipient", "RecordVisit", "Risk", "RiskReported", "VisitConflictFlagged", "VisitorAssigned", "VisitOverdue", "VisitRecord", "VisitRecorded", "close_periods", "decide", "evolve", "fold", "TARGET_CLASSES", "Requirement", "ResolvedPolicy", "VisitPolicy", "VisitPolicyBook", "VISITOR_EVENTS", "ChangeVisitorVillages", "DeactivateVisitor", "RegisterVisitor", "VisitorDeactivated", "VisitorRegistered", "VisitorState", "VisitorVillagesChanged", "decide_visitor", "evolve_visitor", "fold_visitor"]
