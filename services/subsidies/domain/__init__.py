"""The subsidies service's pure domain: rule versions (policy), the elder's bitemporal fact
history, entitlements per month, and disbursement runs with their adjustments."""
from .entitlement import Entitlement, FacilityGrant, FactsUsed, elder_entitlements, entitlements_for, grant_entitlement
from .facts import (CENTRALISED_ADMISSION, Corrected, Died, ElderFacts, EnteredFacility, Fact, LeftFacility,
                    MealsCounted, MergedInto, Moved, Registered, SelfCareAssessed, SupportStatus, SupportStatusChanged,
                    Unmerged, divisions_of, facts_on, meals_in)
from contracts.month import Month
from .policy import (ELDER_PROGRAMMES, FACILITY_PROGRAMMES, PROGRAMMES, RuleVersion, SubsidyRuleBook,
                     monthly_share)
from .run import (ENTRY_EVENTS, RUN_EVENTS, AdjustmentComputed, ApproveRun, CloseMonth, CompleteRun,
                  DisbursementComputed, EntryEvent, LedgerEntry, MarkPaid, MonthClosed, RunApproved, RunCompleted, RunPaid,
                  RunSpec, RunStarted, RunState, StartRun, decide, evolve, fold, payments_stream_for,
                  review_elder, review_grant, run_id_for)

EVENT_TYPES = {cls.TYPE: cls for cls in RUN_EVENTS + ENTRY_EVENTS}

__all__ = ["EVENT_TYPES", "Entitlement", "FacilityGrant", "FactsUsed", "elder_entitlements", "entitlements_for", "grant_entitlement", "CENTRALISED_ADMISSION", "Corrected", "Died", "ElderFacts", "EnteredFacility", "Fact", "LeftFacility", "MealsCounted", "meals_in", "MergedInto", "Moved", "Registered", "SelfCareAssessed", "SupportStatus", "SupportStatusChanged", "Unmerged", "divisions_of", "facts_on", "Month", "ELDER_PROGRAMMES", "FACILITY_PROGRAMMES", "PROGRAMMES", "RuleVersion", "SubsidyRuleBook", "monthly_share", "ENTRY_EVENTS", "RUN_EVENTS", "AdjustmentComputed", "ApproveRun", "CloseMonth", "CompleteRun", "DisbursementComputed", "EntryEvent", "LedgerEntry", "MarkPaid", "MonthClosed", "RunApproved", "RunCompleted", "RunPaid", "RunSpec", "RunStarted", "RunState", "StartRun", "decide", "evolve", "fold", "payments_stream_for", "review_elder", "review_grant", "run_id_for"]
