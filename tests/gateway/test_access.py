"""Who may write what, generated from the route table. For every write route:

- a department that owns it, with a role it allows: allowed (the answer is anything but 403 —
  an empty body is then refused as bad input, which shows the access check passed);
- a department that does not own it: 403. Where every department may (alerts; referrals,
  whose addressee the service checks), a role that may not, if there is one;
- an auditor of an owning department: 403, auditors never write.

Reads and jurisdictions are in test_api's hand-written table."""
import re
from dataclasses import dataclass

from contracts.actors import DEFAULT_DEPARTMENTS
from gateway.routes import ROUTES, Route
from tests.gateway.conftest import COUNTY
from tests.gateway.test_api import seed_records

WORKING_ROLES = ("village_worker", "township_officer", "county_coordinator", "city_coordinator",
                 "department_officer", "admin")
WRITE_ROUTES = [route for route in ROUTES if route.permission.writes]


@dataclass(frozen=True)
class Row:
    route: Route
    department: str
    role: str
    allowed: bool

    def __str__(self) -> str:
        verdict = "may" if self.allowed else "may not"
        return f"{self.department}/{self.role} {verdict} {self.route.method} {self.route.path} ({self.route.name})"


def write_access_rows() -> list[Row]:
    rows = []
    for route in WRITE_ROUTES:
        departments, roles = route.permission.departments, route.permission.roles
        owner = min(departments) if departments else "civil_affairs"
        role = "county_coordinator" if "county_coordinator" in roles else min(roles)
        rows.append(Row(route, owner, role, True))
        if departments:
            rows.append(Row(route, next(d for d in DEFAULT_DEPARTMENTS if d not in departments), role, False))
        else:
            rows += [Row(route, owner, barred, False) for barred in WORKING_ROLES if barred not in roles][:1]
        rows.append(Row(route, owner, "auditor", False))
    return rows


def test_the_generated_table_covers_every_write_route():
    rows = write_access_rows()
    names = {route.name for route in WRITE_ROUTES}
    assert len(names) == len(WRITE_ROUTES) > 30
    assert {r.route.name for r in rows if r.allowed} == names
    assert {r.route.name for r in rows if r.role == "auditor" and not r.allowed} == names
    owned = {route.name for route in WRITE_ROUTES if route.permission.departments is not None}
    assert {r.route.name for r in rows if r.route.name in owned and not r.allowed and r.role != "auditor"
            and r.department not in r.route.permission.departments} == owned
    # Open to every department: alerts (whoever is concerned), referrals (the addressed
    # department accepts and closes; the service checks which; they bar a role instead) and
    # home-service orders (whoever takes the elder's or the family's call places it).
    assert names - owned == {"report_alert", "acknowledge_alert", "close_alert", "create_referral",
                             "accept_referral", "record_referral_action", "close_referral", "place_order"}
    assert {r.route.name for r in rows if not r.allowed and r.role != "auditor"} >= {
        "create_referral", "accept_referral", "record_referral_action", "close_referral"}


def test_every_write_route_admits_its_owners_and_refuses_other_departments_and_auditors(api, system):
    ids = seed_records(api, system)
    wrong = []
    for row in write_access_rows():
        path = re.sub(r"<(\w+)>", lambda match: ids[match.group(1)], row.route.path)
        response = api(row.route.method, path, json={},
                       token=system.token(f"{row.department}-{row.role}", row.department, row.role, COUNTY))
        refused = response.status_code == 403 and response.json()["field"] == "authorization"
        if refused == row.allowed:
            wrong.append(f"{row}: {response.status_code} {response.text[:160]}")
    assert not wrong, "\n".join(wrong)
