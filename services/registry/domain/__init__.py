"""The registry's pure domain: the information ledger of elders and their derived status."""
from .commands import (AssessSelfCare, ChangeSupportStatus, CorrectDetails, ElderCommand, EntrustCarer,
                       EraseElder, EvaluateStatus, GiveConsent, WithdrawConsent, MergeRecords, RecordDeath, RecordHospitalDischarge,
                       RecordFacilityEntry, RecordFacilityExit, RecordHospitalisation, RecordMove,
                       RecordSupporterLeft, RecordSupporterReturned, RegisterElder, UnmergeRecords)
from .elder import (CORRECTABLE_FIELDS, decide, decide_survivor_side, derive_status, evolve, evolve_all, fold,
                    fold_as_of, key_target_reasons_on, left_behind_start, next_review_date)
from .events import (EVENT_CLASSES, EVENT_TYPES, BecameLeftBehind, CarerEntrusted, CeasedLeftBehind,
                     DerivedStatusEvent, DetailsCorrected, DuplicateAbsorbed, DuplicateReleased,
                     ConsentGiven, ConsentWithdrawn, ElderDied, ElderDischargedFromHospital, ElderErased, ElderEvent, ElderHospitalised, ElderMoved,
                     EnteredFacility, LeftFacility,
                     ElderRegistered, KeyTargetChanged, RecordMergedInto, RecordUnmerged,
                     SelfCareAssessed, SupporterLeft, SupporterReturned, SupportStatusChanged)
from .model import (Carer, Contact, ElderState, RecordStatus, SelfCareLevel, Supporter, SupportStatus,
                    resident_id_check_character)
from .policy import PolicyBook, StatusPolicy

__all__ = [
    # commands
    "ElderCommand", "RegisterElder", "CorrectDetails", "RecordSupporterLeft", "RecordSupporterReturned",
    "EntrustCarer", "AssessSelfCare", "ChangeSupportStatus", "RecordMove", "RecordHospitalisation",
    "RecordHospitalDischarge", "RecordDeath", "EraseElder", "ElderErased", "GiveConsent", "WithdrawConsent",
    "ConsentGiven", "ConsentWithdrawn", "MergeRecords", "UnmergeRecords", "EvaluateStatus",
    "RecordFacilityEntry", "RecordFacilityExit",
    # events
    "ElderEvent", "DerivedStatusEvent", "ElderRegistered", "DetailsCorrected", "SupporterLeft",
    "SupporterReturned", "CarerEntrusted", "SelfCareAssessed", "SupportStatusChanged", "ElderMoved",
    "ElderHospitalised", "ElderDischargedFromHospital", "ElderDied", "RecordMergedInto",
    "DuplicateAbsorbed", "RecordUnmerged", "DuplicateReleased", "BecameLeftBehind", "CeasedLeftBehind",
    "KeyTargetChanged", "EnteredFacility", "LeftFacility", "EVENT_TYPES", "EVENT_CLASSES",
    # model
    "SelfCareLevel", "RecordStatus", "Contact", "Supporter", "Carer", "SupportStatus", "ElderState",
    "resident_id_check_character",
    # policy
    "StatusPolicy", "PolicyBook",
    # decisions
    "decide", "decide_survivor_side", "evolve", "evolve_all", "fold", "fold_as_of", "derive_status",
    "key_target_reasons_on", "left_behind_start", "next_review_date", "CORRECTABLE_FIELDS",
]
