"""Personal data at the gateway (gateway.privacy, policies/privacy.yml): views by role, reads
of the resident ID and health bound to a purpose from the role's list, and every attempt —
read, listed, refused — in the elder's access log."""
import pytest

from contracts.privacy import MASK, SENSITIVE_FIELDS, PrivacyPolicy
from gateway import privacy
from tests.gateway.conftest import VILLAGE
from tests.gateway.test_api import VILLAGE_WORKER, register

RECORD = {"elder_id": "e-1", "name": "王秀英", "resident_id": "410928194103090020", "phone": "13900000000",
          "address": "东关村一组3号", "health": "高血压",
          "supporters": [{"supporter_id": "s1", "name": "李强", "relationship": "son", "phone": "13800000001",
                          "whereabouts": "广东省东莞市"}],
          "contacts": [{"name": "张三", "relationship": "neighbour", "phone": "13700000000"}],
          "carer": {"name": "王五", "relationship": "niece", "phone": "13600000000"}, "division_code": VILLAGE}
VERSION = PrivacyPolicy.load().in_force(__import__("datetime").date(2026, 12, 7))

# role → the sensitive fields it sees in clear: without asking, and when it asks for them all
# (unmask) with a purpose it may name. Everything else reads ***.
SEEN = {
    "village_worker": ({"name", "phone", "address", "supporters", "contacts", "carer"},
                       {"name", "phone", "address", "supporters", "contacts", "carer"}),
    "township_officer": ({"name", "phone", "address", "supporters", "contacts", "carer"},
                         {"name", "phone", "address", "supporters", "contacts", "carer"}),
    "county_coordinator": ({"name", "phone", "address", "supporters", "contacts", "carer"}, set(SENSITIVE_FIELDS)),
    "city_coordinator": ({"name"}, {"name"}),
    "department_officer": ({"name", "phone"}, {"name", "phone"}),
    "auditor": ({"name"}, {"name", "resident_id"}),
    "admin": ({"name"}, {"name"}),
}


def _clear(view: dict) -> set[str]:
    return {field for field in SENSITIVE_FIELDS if view[field] == RECORD[field]}


@pytest.mark.parametrize("role", sorted(SEEN))
def test_each_role_sees_the_fields_its_view_shows_and_purpose_bound_ones_only_when_asked(role):
    plain, asked = SEEN[role]
    assert _clear(privacy.cut_to_view(RECORD, VERSION, role, frozenset())) == plain
    assert _clear(privacy.cut_to_view(RECORD, VERSION, role, frozenset(SENSITIVE_FIELDS))) == asked
    masked = privacy.cut_to_view(RECORD, VERSION, role, frozenset())
    assert masked["resident_id"] == MASK and masked["division_code"] == VILLAGE
    if "supporters" not in plain:
        assert masked["supporters"][0] == {**RECORD["supporters"][0], "name": MASK, "phone": MASK, "whereabouts": MASK}


def test_an_unmasked_read_names_a_purpose_the_role_may_name():
    from gateway.auth import Principal
    coordinator = Principal(user="c", department="civil_affairs", role="county_coordinator", jurisdiction=VILLAGE[:6])
    privacy.check_unmask(VERSION, coordinator, frozenset({"resident_id"}), "case_review")
    from kernel.errors import NotPermittedError, ValidationError
    with pytest.raises(ValidationError) as missing:
        privacy.check_unmask(VERSION, coordinator, frozenset({"resident_id"}), None)
    assert "purpose" in missing.value.errors
    with pytest.raises(NotPermittedError) as not_theirs:
        privacy.check_unmask(VERSION, coordinator, frozenset({"resident_id"}), "audit")
    assert not_theirs.value.field == "purpose"
    with pytest.raises(ValidationError) as unknown:
        privacy.unmask_request("resident_id,shoe_size")
    assert "unmask" in unknown.value.errors


def test_refused_unmasked_and_list_reads_are_in_the_elders_access_log(api, system):
    elder = register(api)
    worker = system.token(**VILLAGE_WORKER)
    # The clerk (a county coordinator) asks for the resident ID with a purpose of theirs.
    read = api("GET", "/api/elders/elder-1", params={"unmask": "resident_id", "purpose": "case_review"})
    assert read.status_code == 200 and read.json()["resident_id"] == elder["resident_id"]
    assert api("GET", "/api/elders/elder-1").json()["resident_id"] == MASK
    # A purpose the role may not name, and a field the village worker's view masks: refused.
    wrong = api("GET", "/api/elders/elder-1", params={"unmask": "resident_id", "purpose": "audit"})
    assert wrong.status_code == 403 and wrong.json()["field"] == "purpose"
    masked = api("GET", "/api/elders/elder-1", token=worker, params={"unmask": "resident_id", "purpose": "visit"})
    assert masked.status_code == 403 and masked.json()["field"] == "unmask"
    seen = api("GET", "/api/elders/elder-1", token=worker).json()
    assert seen["name"] == "王秀英" and seen["resident_id"] == MASK and seen["supporters"][0]["phone"] == "13800000001"
    # A list read returning the elder.
    assert [e["elder_id"] for e in api("GET", "/api/elders", params={"division_code": VILLAGE}).json()] == ["elder-1"]
    log = api("GET", "/api/elders/elder-1/access-log").json()
    assert [(r["user"], r["outcome"], r["route"]) for r in log] == [
        ("clerk", "read", "get_elder"), ("clerk", "read", "get_elder"), ("clerk", "refused", "get_elder"),
        ("cadre", "refused", "get_elder"), ("cadre", "read", "get_elder"), ("clerk", "listed", "search_elders")]
    assert log[0]["unmasked"] == ["resident_id"] and log[0]["purpose"] == "case_review"
    assert log[1]["unmasked"] == [] and "audit" in log[2]["reason"]


def test_an_erasure_through_the_api_is_authorised_and_reaches_the_consumers(api, system):
    from tests.gateway.test_api import wait_for
    register(api)
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").status_code == 200)
    worker = system.token(**VILLAGE_WORKER)
    body = {"effective_date": "2026-11-20", "legal_ground": "consent_withdrawn", "reason": "request 2026-117"}
    assert api("POST", "/api/elders/elder-1/erasure", token=worker, json=body).status_code == 403
    missing = api("POST", "/api/elders/elder-1/erasure", json={**body, "legal_ground": None})
    assert missing.status_code == 400 and "legal_ground" in missing.json()["errors"]
    assert api("GET", "/api/elders/elder-1").json()["name"] == "王秀英"        # nothing was erased
    erased = api("POST", "/api/elders/elder-1/erasure", json=body)
    assert erased.status_code == 201, erased.text
    assert erased.json() == {"elder_id": "elder-1", "erased_on": "2026-11-20", "legal_ground": "consent_withdrawn",
                             "version": erased.json()["version"]}
    assert api("GET", "/api/elders/elder-1").json()["name"] == "[erased]"
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").json().get("name") == "[erased]")
    again = api("POST", "/api/elders/elder-1/erasure", json=body)
    assert again.status_code == 409 and again.json()["field"] == "elder_id"


def test_the_timeline_masks_each_events_personal_fields_by_the_role_s_view():
    registered = {"type": "registry.elder_registered.v1", "source": "registry",
                  "data": {**RECORD, "sex": "female", "income_sources": [], "lives_alone": False}}
    corrected = {"type": "registry.elder_details_corrected.v1", "source": "registry",
                 "data": {"elder_id": "e-1", "changes": {"resident_id": "410928194103090020", "name": "王秀英"},
                          "reason": "typo"}}
    visit = {"type": "visits.visit_recorded.v1", "source": "visits",
             "data": {"elder_id": "e-1", "findings": {"health": "高血压", "needs": None}, "risks": []}}
    answer = {"elder_id": "e-1", "items": [registered, corrected, visit], "sources_unavailable": []}
    worker = privacy.cut_timeline(answer, VERSION, "village_worker", frozenset())["items"]
    assert worker[0]["data"]["name"] == "王秀英" and worker[0]["data"]["resident_id"] == MASK
    assert worker[0]["data"]["supporters"][0]["phone"] == "13800000001" and worker[0]["data"]["health"] == MASK
    assert worker[1]["data"]["changes"] == {"resident_id": MASK, "name": "王秀英"}
    assert worker[2]["data"]["findings"] == {"health": MASK, "needs": None}
    city = privacy.cut_timeline(answer, VERSION, "city_coordinator", frozenset())["items"]
    assert city[0]["data"]["supporters"][0]["phone"] == MASK and city[0]["data"]["address"] == MASK
    coordinator = privacy.cut_timeline(answer, VERSION, "county_coordinator", frozenset({"health"}))["items"]
    assert coordinator[2]["data"]["findings"]["health"] == "高血压" and coordinator[0]["data"]["resident_id"] == MASK
    assert answer["items"][0]["data"]["resident_id"] == RECORD["resident_id"]      # the answer itself untouched


def test_health_details_reach_another_department_only_while_the_elders_consent_names_it():
    everything = frozenset(SENSITIVE_FIELDS)
    record = {**RECORD, "hospital": "县人民医院", "consents": {"share_health_with_departments": ["justice"]}}

    def health_seen(department, consents):
        view = privacy.cut_to_view({**record, "consents": consents}, VERSION, "department_officer", everything,
                                   department)
        assert (view["health"] == RECORD["health"]) == (view["hospital"] == "县人民医院")
        return view["health"] == RECORD["health"]

    assert health_seen("health", {})                                   # the health department
    assert not health_seen("finance", {})                              # no consent
    assert not health_seen("finance", record["consents"])              # consent names another department
    assert health_seen("justice", record["consents"])
    assert not health_seen("justice", {"share_health_with_departments": []})     # withdrawn
    assert not privacy.cut_to_view(record, VERSION, "department_officer", frozenset(), "justice")["health"] == "高血压"
