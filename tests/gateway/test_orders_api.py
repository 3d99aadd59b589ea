"""Home-service orders over HTTP: a village worker places an order for an elder of their
village (not another's), the facility's people accept and complete it, the facility's list
and the elder's orders show it; a completion before acceptance is refused by field."""
from tests.gateway.conftest import OTHER_TOWNSHIP_VILLAGE, VILLAGE
from tests.gateway.test_api import register, wait_for


def open_facility(api, facility_id: str, village: str) -> None:
    opened = api("POST", "/api/facilities", json={
        "facility_id": facility_id, "name": "南彭屯村照料中心", "division_code": village,
        "kind": "day_care_centre_with_meals", "operating_model": "public_built_public_run", "operator": "村委会",
        "capacity": 10, "effective_date": "2026-01-01"})
    assert opened.status_code == 201, opened.text
    declared = api("POST", f"/api/facilities/{facility_id}/home-services", json={
        "effective_date": "2026-01-02", "offers": [{"service_kind": "meals", "daily_capacity": 5}]})
    assert declared.status_code == 201, declared.text


def test_place_accept_and_complete_an_order_over_http(system, api):
    register(api, "elder-1", VILLAGE)
    register(api, "elder-2", OTHER_TOWNSHIP_VILLAGE, sequence=1)
    open_facility(api, "canteen-1", VILLAGE)
    cadre = system.token(user="cadre", role="village_worker", jurisdiction=VILLAGE)
    order = {"elder_id": "elder-1", "service_kind": "meals", "caller": "family", "note": "少盐"}
    wait_for(lambda: api("POST", "/api/orders", token=cadre, json={**order, "service_kind": "bathing"})
             .json().get("field") == "service_kind")          # orders knows the elder: nobody offers baths
    placed = None

    def place():
        nonlocal placed
        placed = api("POST", "/api/orders", token=cadre, json=order)
        return placed.status_code == 201
    wait_for(place)                                            # and knows the canteen's offer
    body = placed.json()
    assert (body["facility_id"], body["nearness"], body["status"]) == ("canteen-1", "village", "offered")
    elsewhere = api("POST", "/api/orders", token=cadre, json={**order, "elder_id": "elder-2"})
    assert elsewhere.status_code == 404 and elsewhere.json()["field"] == "elder_id"     # as if unknown
    unknown_kind = api("POST", "/api/orders", token=cadre, json={**order, "service_kind": "massage"})
    assert unknown_kind.status_code == 400 and "service_kind" in unknown_kind.json()["errors"]

    path, facility = f"/api/orders/{body['order_id']}", {"facility_id": "canteen-1"}
    early = api("POST", f"{path}/completion", token=cadre, json=facility)
    assert early.status_code == 409 and early.json()["field"] == "order_id"
    health = system.token(user="doctor", department="health", role="village_worker", jurisdiction=VILLAGE)
    assert api("POST", f"{path}/acceptance", token=health, json=facility).status_code == 403
    assert api("POST", f"{path}/acceptance", token=cadre, json=facility).status_code == 201
    done = api("POST", f"{path}/completion", token=cadre, json={**facility, "note": "已送达"})
    assert done.status_code == 201 and done.json()["status"] == "completed", done.text
    listed = api("GET", "/api/facilities/canteen-1/orders", token=cadre).json()
    assert [(o["order_id"], o["status"]) for o in listed] == [(body["order_id"], "completed")]
    assert [o["order_id"] for o in api("GET", "/api/elders/elder-1/orders").json()] == [body["order_id"]]
    assert api("GET", path).json()["delivered_on"] == "2026-11-23"
    meals = api("GET", "/api/orders/meals", params={"month": "2026-11", "division_code": VILLAGE}).json()
    assert meals == [{"elder_id": "elder-1", "division_code": VILLAGE, "month": "2026-11", "meals": 1}]
