"""The OpenAPI document's shapes are the services' own marshmallow schemas: a body is the
command schema the service validates with, less what the gateway takes from the path; a
query is the service's filter schema; an answer is the service's view. The views of
answers built as plain dicts are checked here against what the services really send (the
read models' columns, and the subsidies answers of a real run, on SQLite and PostgreSQL);
the fuzz test checks the rest on every answer it gets. Last, two faults the fuzzer found."""
import json
from datetime import date

import pytest
import requests
import schemathesis
import urllib3
from sqlalchemy import BigInteger, Boolean, Integer, String, Text

from gateway.openapi import _openapi_path, openapi_document
from gateway.routes import ROUTES
from gateway.service_schemas import ROUTE_SCHEMAS
from contracts import facilities_rpc as facilities
from services.facilities.adapters.tables import facilities as facility_rows
from contracts import notifications_rpc as notifications
from services.notifications.adapters.tables import alerts, inbox_messages, referrals
from contracts import registry_rpc as registry
from services.registry.adapters.tables import elders
from contracts.registry_rpc import CORRECTABLE_FIELDS
from contracts import subsidies_rpc as subsidies_schemas
from services.subsidies.adapters.tables import runs
from contracts import visits_rpc as visits
from services.visits.adapters.tables import period_outcomes, visitors
from tests.gateway.conftest import VILLAGE
from tests.gateway.test_api import register
from tests.registry.test_service import wait_for
from tests.subsidies.test_service import CLERK, FINANCE, county, knows  # noqa: F401 - county is a fixture
from tests.subsidies.test_service import register as register_in_jincheng

ROUTE = {route.name: route for route in ROUTES}


def document() -> dict:
    return openapi_document()


def component(reference: dict) -> dict:
    return document()["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]


def operation(name: str) -> dict:
    route = ROUTE[name]
    return document()["paths"][_openapi_path(route.path)[0]][route.method.lower()]


def body(name: str) -> dict:
    return component(operation(name)["requestBody"]["content"]["application/json"]["schema"])


def answer(name: str) -> dict:
    return next(iter(operation(name)["responses"].values()))["content"]


def test_every_route_has_its_schemas_and_every_schema_a_route():
    assert set(ROUTE_SCHEMAS) == set(ROUTE)


def test_no_body_or_answer_is_an_open_object():
    for name in ROUTE:
        shapes = [answer(name).get("application/json", {}).get("schema")]
        if ROUTE_SCHEMAS[name].request is not None:
            shapes.append(operation(name)["requestBody"]["content"]["application/json"]["schema"])
        for shape in filter(None, shapes):
            shape = shape.get("items", shape)
            assert component(shape)["additionalProperties"] is False, name
            assert component(shape)["properties"], name
    assert "Payload" not in document()["components"]["schemas"]


def test_a_body_is_the_services_command_less_what_the_gateway_takes_from_the_path():
    for name, shapes in ROUTE_SCHEMAS.items():
        if shapes.request is None:
            continue
        from_path = set(_openapi_path(ROUTE[name].path)[1])
        command = shapes.request()
        expected = {field.data_key or key for key, field in command.fields.items()} - from_path
        required = {field.data_key or key for key, field in command.fields.items() if field.required} - from_path
        documented = body(name)
        assert set(documented["properties"]) == expected, name
        assert set(documented.get("required", ())) == required, name
    assert shapes_of("record_visit") == (visits.RecordVisitSchema, "elder_id")
    assert "elder_id" not in body("record_visit")["properties"] and "visitor_id" in body("record_visit")["required"]
    assert "alert_id" not in body("acknowledge_alert")["properties"]
    assert "facility_id" not in body("admit_elder")["properties"] and "elder_id" in body("admit_elder")["required"]
    assert "elder_id" in body("register_elder")["required"]           # no path: the caller names the elder


def shapes_of(name):
    return ROUTE_SCHEMAS[name].request, _openapi_path(ROUTE[name].path)[1][0]


def test_a_command_route_documents_the_contract_request_the_service_validates_with():
    from services.facilities.schemas import COMMAND_SCHEMAS as FACILITY_SCHEMAS
    from services.registry.schemas import COMMAND_SCHEMAS as REGISTRY_SCHEMAS
    requests = {**registry.COMMAND_REQUESTS, **facilities.COMMAND_REQUESTS}
    validating = {**REGISTRY_SCHEMAS, **FACILITY_SCHEMAS}
    assert requests.keys() == validating.keys()
    for name, request in requests.items():
        assert isinstance(validating[name], request), name
        if name in ROUTE_SCHEMAS:
            assert ROUTE_SCHEMAS[name].request is request, name


def test_a_query_is_the_services_filter_with_the_division_the_gateway_defaults_optional():
    parameters = {p["name"]: p for p in operation("list_visitors")["parameters"]}
    assert visits.DivisionQuerySchema().fields["division_code"].required
    assert parameters["division_code"]["required"] is False           # the caller's jurisdiction by default
    assert parameters["limit"]["schema"]["maximum"] == 5000
    entitlement = {p["name"]: p for p in operation("entitlement_as_of")["parameters"]}
    assert entitlement["month"]["required"] and entitlement["elder_id"]["in"] == "path"
    assert {"purpose", "break_glass"} <= set(entitlement)                 # a personal read
    assert {p["name"] for p in operation("payment_file")["parameters"] if p["required"]} == {"jurisdiction", "month"}


def test_answers_are_the_services_views():
    assert answer("get_elder")["application/json"]["schema"] == {"$ref": "#/components/schemas/ElderView"}
    assert answer("search_elders")["application/json"]["schema"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/ElderListItemView"}}
    assert answer("close_alert")["application/json"]["schema"] == {"$ref": "#/components/schemas/AlertView"}
    assert set(answer("quarterly_report")) == {"text/csv",
                                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_a_nullable_nested_object_is_that_object_or_null():
    assert body("record_supporter_left")["properties"]["new_supporter"] == {
        "default": None, "allOf": [{"$ref": "#/components/schemas/Supporter"}], "nullable": True}
    assert '{"type": "object", "nullable": true}' not in json.dumps(document())


def test_a_correction_names_the_correctable_details():
    changes = component(body("correct_details")["properties"]["changes"])
    assert set(changes["properties"]) == CORRECTABLE_FIELDS and changes["minProperties"] == 1
    assert "required" not in changes and all("default" not in field for field in changes["properties"].values())
    assert component(body("change_details")["properties"]["changes"])["minProperties"] == 1


# Columns a list query answers in another shape than stored: (view, column) → documented type.
RESHAPED = {("VisitorListItemView", "village_codes"): "array"}    # stored space-separated, answered as a list
ROW_VIEWS = [(registry.ElderListItemView, elders), (visits.VisitorListItemView, visitors),
             (visits.OverduePeriodView, period_outcomes), (facilities.FacilityListItemView, facility_rows),
             (notifications.AlertListItemView, alerts), (notifications.ReferralListItemView, referrals),
             (subsidies_schemas.RunListItemView, runs), (notifications.InboxMessageView, inbox_messages)]
SQL_TYPES = {Boolean: "boolean", Integer: "integer", BigInteger: "integer", String: "string", Text: "string"}


@pytest.mark.parametrize("view, table", ROW_VIEWS, ids=[view.__name__ for view, _ in ROW_VIEWS])
def test_a_list_answers_rows_of_its_read_model_as_the_view_describes_them(view, table):
    """The list queries answer ``dict(row)`` of ``select(table)``: same columns, types and nulls."""
    documented = document()["components"]["schemas"][view.__name__]["properties"]
    assert set(documented) == {column.name for column in table.columns}
    for column in table.columns:
        expected = RESHAPED.get((view.__name__, column.name), SQL_TYPES[type(column.type)])
        assert documented[column.name]["type"] == expected, column.name
        assert documented[column.name].get("nullable", False) == column.nullable, column.name


def assert_documented(route_name: str, body) -> None:
    """``body`` is an answer the document allows for that route, sent as the gateway sends it."""
    route = ROUTE[route_name]
    path = _openapi_path(route.path)[0]
    response = requests.Response()
    response.status_code = 201 if route.permission.writes else 200
    response._content = json.dumps(body, ensure_ascii=False, default=str).encode()
    response.raw = urllib3.HTTPResponse(headers={"Content-Type": "application/json"}, status=response.status_code)
    response.request = requests.Request(route.method, f"http://gateway{path}").prepare()
    schemathesis.openapi.from_dict(document())[path][route.method].validate_response(response)


def test_the_subsidies_answers_of_a_real_run_are_as_documented(county):  # noqa: F811 - the fixture
    registry_rpc, subsidies, _ = county
    register_in_jincheng(registry_rpc)
    wait_for(lambda: knows(subsidies, "elder-1", "2026-06", "care_subsidy", 20000), message="subsidies to learn")
    key = {"jurisdiction": "1405", "month": "2026-06"}
    assert_documented("start_run", subsidies.start_run(key, CLERK))
    assert_documented("start_run", subsidies.start_run(key, CLERK))          # again: nothing changed
    assert_documented("approve_run", subsidies.approve_run(key, FINANCE))
    assert_documented("mark_paid", subsidies.mark_paid({**key, "paid_on": "2026-06-03", "payment_reference": "b-1"},
                                                       FINANCE))
    assert_documented("close_month", subsidies.close_month(key, FINANCE))
    listed = subsidies.list_runs({"jurisdiction": "1405"})
    assert listed and listed[0]["approved_by"]
    assert_documented("list_runs", listed)
    file = subsidies.payment_file(key)
    assert file["rows"]
    assert_documented("payment_file", file)
    summary = subsidies.division_summary(key)
    assert summary["divisions"][0]["by_programme"]
    assert_documented("subsidy_summary", summary)
    for known_at in (None, subsidies.clock.now().isoformat()):
        entitlement = subsidies.entitlement_as_of("elder-1", "2026-06", known_at)
        assert entitlement["entitlements"] and entitlement["recorded"]
        assert_documented("entitlement_as_of", entitlement)


def test_the_visits_answers_of_closed_periods_are_as_documented(api, system):
    """Overdue periods and coverage once a period has closed, with a class and a village in it."""
    register(api, "elder-1", VILLAGE)
    wait_for(lambda: api("GET", "/api/elders/elder-1/visit-plan").status_code == 200)
    system.clock("visits").set_today(date(2026, 12, 2))       # November has ended, with no visit
    assert system.visits.close_periods()["overdue"] == 1
    overdue = api("GET", "/api/visits/overdue", params={"division_code": VILLAGE})
    assert overdue.status_code == 200 and overdue.json(), overdue.text
    assert_documented("list_overdue", overdue.json())
    period = overdue.json()[0]["period"]
    coverage = api("GET", "/api/visits/coverage", params={"division_code": VILLAGE[:6].ljust(12, "0"),
                                                          "period": period})
    assert coverage.status_code == 200 and coverage.json()["by_class"] and coverage.json()["by_division"]
    assert_documented("visit_coverage", coverage.json())
    assert_documented("get_visit_plan", api("GET", "/api/elders/elder-1/visit-plan").json())


# -- faults the fuzzer found once the bodies were typed -------------------------------------

def test_a_division_of_the_wrong_type_in_a_body_is_bad_input_not_a_fault(api):
    """It was a 500 (the jurisdiction check called startswith on a dict)."""
    for path, field, bad in (("/api/alerts", "division_code", {"division_code": {}}),
                             ("/api/facilities", "division_code", {"division_code": 410928101201}),
                             ("/api/visitors", "village_codes", {"village_codes": [{}]})):
        response = api("POST", path, json=bad)
        assert response.status_code == 400 and field in response.json()["errors"], (path, response.text)


def test_a_quarter_of_year_zero_is_bad_input_not_a_fault(api):
    """It was a 500 (``date(0, 1, 1)`` outside the parse's try)."""
    response = api("GET", "/api/reports/quarterly", params={"quarter": "0000-Q1"})
    assert response.status_code == 400 and response.json()["field"] == "quarter", response.text
