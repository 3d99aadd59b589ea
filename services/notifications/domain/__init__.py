"""The notifications service's pure domain: alerts and their escalation, deliveries with
retry and fallback, the referral ledger between departments, device silence, and the
routing policy that drives them (data with effective dates, per jurisdiction)."""
from .alerts import (ACKNOWLEDGED, ALERT_EVENT_CLASSES, CLOSED, OPEN, AcknowledgeAlert, AlertAcknowledged,
                     AlertClosed, AlertEscalated, AlertRaised, AlertRepeated, AlertRouted, AlertState,
                     AlertUnacknowledgedAtTop, CloseAlert, EscalateAlert, RaiseAlert, RerouteAlert, decide,
                     evolve, evolve_all, fold)
from .deliveries import (DELIVERED, DELIVERY_EVENT_CLASSES, FAILED, NO_CHANNEL, PENDING, DeliveryAttempted,
                         DeliveryFailed, DeliveryRequested, DeliveryState, DeliverySucceeded, RecordResult,
                         RequestDelivery, StartAttempt, decide_delivery, evolve_delivery, fold_delivery)
from .devices import (DEVICE_EVENT_CLASSES, DeviceAlarmReceived, DeviceState, HeartbeatMissing, HeartbeatResumed,
                      PartyContactsSet, detect_silence, device_stream, evolve_device, fold_device, heard,
                      receive_alarm, silence_is_too_long)
from .model import (ALARMS_OF_DEVICE, ALERT_KINDS, CHANNELS, DEPARTMENTS, DEVICE_ALARMS, DEVICE_KINDS,
                    INFORMED, LEVELS, OUTCOMES, RESPONSIBLE, RISK_KINDS, SEVERITIES, ChannelAddress, Route,
                    carer_party, department_party, level_party, party_department, supporter_party)
from .policy import KindRoute, RetryPolicy, RoutingBook, RoutingPolicy
from .referrals import (REFERRAL_EVENT_CLASSES, AcceptReferral, CloseReferral, CreateReferral, MarkReferralOverdue,
                        RecordReferralAction, ReferralAccepted, ReferralActionTaken, ReferralClosed,
                        ReferralCreated, ReferralOverdue, ReferralState, decide_referral, evolve_referral,
                        fold_referral)

EVENT_CLASSES = (ALERT_EVENT_CLASSES + DELIVERY_EVENT_CLASSES + REFERRAL_EVENT_CLASSES + DEVICE_EVENT_CLASSES
                 + (PartyContactsSet,))
EVENT_TYPES = {cls.TYPE: cls for cls in EVENT_CLASSES}
