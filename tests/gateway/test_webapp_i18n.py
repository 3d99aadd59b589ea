"""Names, not codes, in both languages: every code the contracts define has a name, every
text of the pages (templates and code, extracted as Babel does) has a Chinese translation,
and the catalogues compile from the committed .po files."""
import io

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from contracts import departments, facilities, notifications, orders, privacy, registry, subsidies, visits
from contracts.actors import DEFAULT_DEPARTMENTS, ROLES
from contracts import CATALOGUE
from contracts.services import SEALING_SERVICES
from gateway.timeline import TIMELINE_SOURCES
from gateway.webapp.i18n import catalogue_path, translations
from gateway.webapp.names import NAMES, name_of
from kernel.config import REPOSITORY_ROOT

CODES = {
    "role": ROLES, "department": DEFAULT_DEPARTMENTS, "visit_mode": visits.VISIT_MODES,
    "service_kind": visits.SERVICE_KINDS, "finding": visits.FINDING_TOPICS, "risk": visits.RISK_KINDS,
    "severity": visits.SEVERITIES, "target_class": visits.TARGET_CLASSES, "visitor_role": visits.VISITOR_ROLES,
    "facility_kind": facilities.FACILITY_KINDS, "alert_level": notifications.LEVELS,
    "alert_kind": notifications.ALERT_KINDS, "outcome": notifications.OUTCOMES,
    "run_status": subsidies.RUN_STATUSES, "sex": registry.SEXES, "self_care": registry.SELF_CARE_LEVELS,
    "key_target_reason": registry.KEY_TARGET_REASONS, "legal_ground": privacy.LEGAL_GROUNDS,
    "purpose": privacy.PURPOSES,
    "department_area": departments.AREAS, "health_finding": departments.HEALTH_FINDINGS,
    "chronic_condition": departments.CHRONIC_CONDITIONS, "pension_scheme": departments.PENSION_SCHEMES,
    "pension_status": departments.PENSION_STATUSES, "poverty_end_reason": departments.POVERTY_END_REASONS,
    "return_risk": departments.RETURN_RISKS, "monitoring_outcome": departments.MONITORING_OUTCOMES,
    "case_kind": departments.CASE_KINDS, "legal_aid": departments.LEGAL_AID_KINDS,
    "case_outcome": departments.CASE_OUTCOMES, "cultural_service": departments.CULTURAL_SERVICES,
    "record_status": departments.RECORD_STATUSES, "payee_card": departments.PAYEE_CARDS,
    "payment_result": departments.PAYMENT_OUTCOMES, "after_failure": departments.AFTER_FAILURE,
    "channel": notifications.CHANNELS, "source": TIMELINE_SOURCES + SEALING_SERVICES,
    "event": {t.rsplit(".", 1)[0] for t in CATALOGUE.types() if t.split(".")[0] in TIMELINE_SOURCES}, "home_service": facilities.HOME_SERVICE_KINDS, "order_status": orders.ORDER_STATUSES, "caller": orders.CALLERS,
}


@pytest.mark.parametrize("kind", sorted(CODES))
def test_every_code_of_the_contracts_has_a_name(kind):
    assert set(CODES[kind]) <= set(NAMES[kind])


def extracted() -> set[str]:
    method_map = [("gateway/webapp/**.py", "python"), ("gateway/webapp/templates/**.html", "jinja2")]
    found = extract_from_dir(str(REPOSITORY_ROOT), method_map, keywords={"_": None, "gettext": None, "N_": None})
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _comments, _ctx in found}


def test_every_text_of_the_pages_is_translated_into_chinese():
    catalogue = read_po(catalogue_path("zh").open("rb"), locale="zh")
    texts = extracted()
    assert len(texts) > 200 and "Record a visit" in texts          # the extraction itself works
    untranslated = sorted(m for m in texts if not (catalogue.get(m) and catalogue.get(m).string))
    assert untranslated == []
    assert not [m.id for m in catalogue if m.id and m.fuzzy]


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_catalogue_is_well_formed(language):
    """A merge that drops a ``msgstr`` line leaves a catalogue Babel reads with a warning, and
    the entry after it lost: refused here."""
    read_po(catalogue_path(language).open("rb"), locale=language, abort_invalid=True)


def test_names_come_out_in_the_persons_language():
    assert name_of("visit_mode", "home", translations("zh").gettext) == "上门巡访"
    assert name_of("visit_mode", "home", translations("en").gettext) == "Home visit"
    assert name_of("department", "health", translations("en").gettext) == "Health"
    assert name_of("risk", "a_code_from_a_newer_contract", translations("zh").gettext) == "a_code_from_a_newer_contract"


def test_placeholders_survive_translation():
    catalogue = read_po(io.BytesIO(catalogue_path("zh").read_bytes()), locale="zh")
    for message in catalogue:
        if message.id and "%(" in message.id:
            import re
            assert set(re.findall(r"%\((\w+)\)s", message.id)) == set(re.findall(r"%\((\w+)\)s", message.string))
