"""The facilities service's pure domain: facility lifecycle, ratings, capacity, admissions, grants."""
from .commands import (AdmitElder, DeclareHomeServices, AssessOperatingSubsidy, ChangeCapacity, ChangeDetails, CloseFacility,
                       DischargeElder, FacilityCommand, MergeFacility, OpenFacility, RateFacility,
                       ReinstateFacility, SuspendFacility, TransferElder)
from .events import (EVENT_CLASSES, EVENT_TYPES, AdmissionEvent, CapacityChanged, ElderAdmitted, ElderDischarged,
                     ElderTransferred, ElderTransferredOut, FacilityAbsorbed, FacilityClosed,
                     FacilityDetailsChanged, FacilityEvent, FacilityMerged, FacilityOpened, FacilityReinstated,
                     FacilitySuspended, Grant, HomeServicesDeclared, OperatingSubsidyEligible, StarAwardGranted, StarRatingAwarded,
                     StarRatingChanged)
from .facility import DETAIL_FIELDS, Circumstances, decide, events_for, evolve, evolve_all, fold, fold_as_of
from .model import (ADMISSIONS_BY_KIND, AdmissionKind, FacilityKind, FacilityState, FacilityStatus, HomeServiceKind,
                    HomeServiceOffer, KnownElder,
                    OperatingModel, Residence, Resident)
from .policy import GrantPolicyBook, OperatingSubsidyPolicy, StarAwardPolicy

__all__ = [
    "FacilityCommand", "OpenFacility", "ChangeDetails", "ChangeCapacity", "RateFacility", "SuspendFacility",
    "ReinstateFacility", "MergeFacility", "CloseFacility", "AdmitElder", "DischargeElder", "TransferElder",
    "AssessOperatingSubsidy", "DeclareHomeServices", "HomeServicesDeclared", "HomeServiceKind", "HomeServiceOffer",
    "FacilityEvent", "FacilityOpened", "FacilityDetailsChanged", "CapacityChanged", "StarRatingAwarded",
    "StarRatingChanged", "Grant", "StarAwardGranted", "OperatingSubsidyEligible", "FacilitySuspended",
    "FacilityReinstated", "FacilityMerged", "FacilityAbsorbed", "FacilityClosed", "AdmissionEvent",
    "ElderAdmitted", "ElderDischarged", "ElderTransferred", "ElderTransferredOut", "EVENT_CLASSES", "EVENT_TYPES",
    "FacilityKind", "OperatingModel", "AdmissionKind", "FacilityStatus", "FacilityState", "Resident",
    "KnownElder", "Residence", "ADMISSIONS_BY_KIND",
    "GrantPolicyBook", "OperatingSubsidyPolicy", "StarAwardPolicy",
    "Circumstances", "decide", "evolve", "evolve_all", "fold", "fold_as_of", "events_for", "DETAIL_FIELDS",
]
