"""Survey campaigns over HTTP: a county coordinator opens one, a village worker records a visit
in their village (and not in another), progress and close — civil affairs in jurisdiction."""
from tests.gateway.conftest import COUNTY, TOWNSHIP, VILLAGE, OTHER_TOWNSHIP_VILLAGE
from tests.gateway.test_api import register


def test_open_record_follow_and_close_a_campaign_over_http(system, api):
    register(api, "elder-1", VILLAGE)
    register(api, "elder-2", OTHER_TOWNSHIP_VILLAGE, sequence=1)
    body = {"campaign_id": "winter", "name": "冬季摸底排查", "jurisdiction": COUNTY, "deadline": "2026-12-31",
            "fields_to_confirm": ["phone", "address"]}
    health = system.token(user="doctor", department="health")
    assert api("POST", "/api/surveys", token=health, json=body).status_code == 403
    opened = api("POST", "/api/surveys", json=body)
    assert opened.status_code == 201 and opened.json()["elders"] == 2, opened.text
    past = api("POST", "/api/surveys", json={**body, "campaign_id": "late", "deadline": "2026-11-01"})
    assert past.status_code == 400 and "deadline" in past.json()["errors"]
    overlap = api("POST", "/api/surveys", json={**body, "campaign_id": "again"})
    assert overlap.status_code == 409 and overlap.json()["field"] == "jurisdiction"

    cadre = system.token(user="cadre", role="village_worker", jurisdiction=VILLAGE)
    tasks = api("GET", "/api/surveys/winter/tasks", token=cadre, params={"village_code": VILLAGE}).json()
    assert [t["elder_id"] for t in tasks] == ["elder-1"]
    visit = {"elder_id": "elder-1", "outcome": "confirmed", "surveyed_on": "2026-11-23", "visitor": "cadre"}
    assert api("POST", "/api/surveys/winter/visits", token=cadre, json=visit).status_code == 201
    elsewhere = api("POST", "/api/surveys/winter/visits", token=cadre, json={**visit, "elder_id": "elder-2"})
    assert elsewhere.status_code == 404 and elsewhere.json()["field"] == "elder_id"     # as if unknown
    progress = api("GET", "/api/surveys/winter/progress").json()
    assert {p["division_code"]: p["surveyed"] for p in progress} == {TOWNSHIP: 1,
                                                                     OTHER_TOWNSHIP_VILLAGE[:9] + "000": 0}
    closed = api("POST", "/api/surveys/winter/closure")
    assert closed.status_code == 201 and closed.json()["status"] == "closed"
