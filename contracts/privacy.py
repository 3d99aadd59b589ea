"""Personal information: the legal grounds of an erasure, the purposes of a read, the
sensitive fields of an elder's record, and the privacy policy (``policies/privacy.yml``:
who may erase, which purposes each role may name, which fields each role sees, how long
personal fields are kept). Read by the registry (erasure, retention) and the gateway
(views, purposes, access events); validated when loaded."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

from contracts.actors import ROLES
from kernel.errors import NotPermittedError, PolicyError, ValidationError

# PIPL art. 47: when personal information must be deleted.
LEGAL_GROUNDS = (
    "purpose_fulfilled",      # 处理目的已实现、无法实现或不再必要
    "retention_expired",      # 保存期限已届满 (the retention timer's ground)
    "consent_withdrawn",      # 个人撤回同意
    "unlawful_processing",    # 违反法律、行政法规或约定处理
    "law_requires",           # 法律、行政法规规定的其他情形
)
# What an elder may consent to separately (PIPL art. 29: sensitive information; art. 23: to
# another handler): their health details shown to named departments other than health.
CONSENT_SCOPES = ("share_health_with_departments",)
PURPOSES = ("visit", "care_coordination", "emergency", "case_review", "eligibility", "ledger_maintenance",
            "statistics", "referral", "health_service", "payment", "audit", "erasure_request")
# The fields of an elder's record a view shows or masks (supporters/contacts/carer: their
# names, phones and whereabouts).
SENSITIVE_FIELDS = ("resident_id", "name", "phone", "address", "health", "supporters", "contacts", "carer")
# consent: visible to the health department, and to another department only while the
# elder's recorded consent (share_health_with_departments) names it.
VISIBILITIES = ("visible", "masked", "consent")
MASK = "***"
DEFAULT_POLICY_FILE = "policies/privacy.yml"


@dataclass(frozen=True)
class PrivacyVersion:
    effective_from: date
    erasure_roles: frozenset[str]
    purposes: dict[str, tuple[str, ...]]
    views: dict[str, dict[str, str]]
    retention: dict[str, int]

    def check_may_erase(self, role: str) -> None:
        if role not in self.erasure_roles:
            raise NotPermittedError(f"role {role!r} may not erase personal data (may: "
                                    f"{', '.join(sorted(self.erasure_roles))})", field="actor.role")

    def check_purpose(self, role: str, purpose: str | None) -> None:
        allowed = self.purposes.get(role, ())
        if not purpose:
            raise ValidationError({"purpose": [f"an unmasked read of a sensitive field names its purpose; "
                                               f"{role} may name: {', '.join(allowed) or 'none'}"]})
        if purpose not in allowed:
            raise NotPermittedError(f"purpose {purpose!r} is not one role {role} may name "
                                    f"(may: {', '.join(allowed) or 'none'})", field="purpose")

    def visible(self, role: str, field: str, department: str | None = None, consented: tuple = ()) -> bool:
        """Whether ``role`` (of ``department``) sees ``field``; ``consented``: the departments
        the elder's consent to share health details names."""
        visibility = self.views.get(role, {}).get(field)
        if visibility == "consent":
            return department == "health" or (department is not None and department in consented)
        return visibility == "visible"


@dataclass(frozen=True)
class PrivacyPolicy:
    versions: tuple[PrivacyVersion, ...]

    def in_force(self, on: date) -> PrivacyVersion:
        current = [v for v in self.versions if v.effective_from <= on]
        if not current:
            raise PolicyError(f"no privacy policy in force on {on}", field="effective_from")
        return max(current, key=lambda v: v.effective_from)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PrivacyPolicy":
        from kernel.config import repository_path
        path = repository_path(path or DEFAULT_POLICY_FILE)
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_data(data, str(path))

    @classmethod
    def from_data(cls, data: dict, where: str = "privacy policy") -> "PrivacyPolicy":
        entries = data.get("privacy_policies")
        if not isinstance(entries, list) or not entries:
            raise PolicyError(f"{where}: privacy_policies must be a non-empty list", field="privacy_policies")
        return cls(tuple(_version(entry, f"{where}: privacy_policies[{i}]") for i, entry in enumerate(entries)))


def _version(entry: dict, where: str) -> PrivacyVersion:
    def fail(field, message):
        raise PolicyError(f"{where}.{field}: {message}", field=field)

    try:
        effective_from = date.fromisoformat(str(entry["effective_from"]))
    except (KeyError, ValueError):
        fail("effective_from", "must be a date YYYY-MM-DD")
    roles = entry.get("erasure_roles") or []
    for role in roles:
        if role not in ROLES:
            fail("erasure_roles", f"unknown role {role!r}")
    purposes = {}
    for role, names in (entry.get("purposes") or {}).items():
        if role not in ROLES:
            fail("purposes", f"unknown role {role!r}")
        for name in names:
            if name not in PURPOSES:
                fail(f"purposes.{role}", f"unknown purpose {name!r} (known: {', '.join(PURPOSES)})")
        purposes[role] = tuple(names)
    views = {}
    for role, fields in (entry.get("views") or {}).items():
        if role not in ROLES:
            fail("views", f"unknown role {role!r}")
        for field, visibility in fields.items():
            if field not in SENSITIVE_FIELDS:
                fail(f"views.{role}", f"unknown field {field!r} (known: {', '.join(SENSITIVE_FIELDS)})")
            if visibility not in VISIBILITIES:
                fail(f"views.{role}.{field}", f"must be visible or masked, got {visibility!r}")
        views[role] = dict(fields)
    retention = {}
    for kind, years in (entry.get("retention") or {}).items():
        if type(years) is not int or years < 0:
            fail(f"retention.{kind}", f"must be a whole number of years, got {years!r}")
        retention[kind] = years
    return PrivacyVersion(effective_from, frozenset(roles), purposes, views, retention)


def masked_view(record: dict, role: str, version: PrivacyVersion, unmasked: frozenset[str] = frozenset()) -> dict:
    """``record`` (an elder view) with each sensitive field the role may not see replaced by
    ``MASK``; ``unmasked``: the fields a purpose-bound read asked for, if the role may see them."""
    result = dict(record)
    for field in SENSITIVE_FIELDS:
        if field not in result or result[field] in (None, [], ""):
            continue
        if not version.visible(role, field):
            result[field] = _masked(result[field])
    return result


def _masked(value):
    if isinstance(value, list):
        return [{k: (MASK if k in ("name", "phone", "whereabouts") and v else v) for k, v in item.items()}
                if isinstance(item, dict) else MASK for item in value]
    if isinstance(value, dict):
        return {k: (MASK if k in ("name", "phone", "whereabouts") and v else v) for k, v in value.items()}
    return MASK
