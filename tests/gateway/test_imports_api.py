"""The ledger import over HTTP: upload (JSON with base64, or a browser's multipart form),
dry-run report download, duplicates decided, commit — civil affairs only, inside its
jurisdiction."""
import base64
import io
import time

import eventlet
from openpyxl import load_workbook

from tests.gateway.conftest import COUNTY, TOWNSHIP
from tests.imports.ledger_files import demo_rows, spoiled, to_csv, to_xlsx


def until(api, import_id, status, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = api("GET", f"/api/imports/{import_id}").json()
        if answer["status"] == status:
            return answer
        eventlet.sleep(0.1)
    raise AssertionError(f"import never became {status}")


def upload(api, content, filename="台账.xlsx", **kwargs):
    return api("POST", "/api/imports", json={"filename": filename, "jurisdiction": COUNTY,
                                             "content_base64": base64.b64encode(content).decode()}, **kwargs)


def test_upload_dry_run_report_decide_and_commit_over_http(system, api):
    template = api("GET", "/api/imports/template")
    assert template.status_code == 200 and template.content.startswith(b"PK")
    ledger = spoiled(demo_rows(40), bad_share=0.1, near_share=0.05)
    opened = upload(api, to_xlsx(ledger.rows))
    assert opened.status_code == 201, opened.text
    import_id = opened.json()["import_id"]
    checked = until(api, import_id, "checked")
    assert checked["summary"]["refused"] == len(ledger.bad)
    refused = api("GET", f"/api/imports/{import_id}/refused-rows").json()
    assert {r["row"] for r in refused} == set(ledger.bad) and all(r["problems"][0]["reason"] for r in refused)
    report = api("GET", f"/api/imports/{import_id}/report")
    assert report.status_code == 200 and "attachment" in report.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(report.content))["不合规的行"]
    assert sorted(r[0] for r in sheet.iter_rows(min_row=2, values_only=True)) == sorted(ledger.bad)
    duplicates = api("GET", f"/api/imports/{import_id}/duplicates").json()
    assert duplicates
    decided = api("POST", f"/api/imports/{import_id}/duplicates/decision",
                  json={"row": duplicates[0]["row"], "other": duplicates[0]["other"], "decision": "keep_both"})
    assert decided.status_code == 201, decided.text
    bad_decision = api("POST", f"/api/imports/{import_id}/duplicates/decision",
                       json={"row": duplicates[0]["row"], "other": duplicates[0]["other"], "decision": "maybe"})
    assert bad_decision.status_code == 400 and bad_decision.json()["field"] == "decision"
    assert api("POST", f"/api/imports/{import_id}/commit").status_code == 201
    done = until(api, import_id, "committed")
    assert done["summary"]["registered"] == len(ledger.rows) - len(ledger.bad)


def test_a_browser_form_upload_and_the_access_table(system, api):
    rows = demo_rows(5)
    form = api("POST", "/api/imports", data={"jurisdiction": COUNTY},
               files={"file": ("台账.csv", to_csv(rows), "text/csv")})
    assert form.status_code == 201, form.text
    import_id = form.json()["import_id"]
    health = system.token(user="doctor", department="health")
    assert api("POST", "/api/imports", token=health, json={}).status_code == 403
    assert api("GET", f"/api/imports/{import_id}", token=health).status_code == 403
    township = system.token(user="officer", role="township_officer", jurisdiction=TOWNSHIP)
    outside = upload(api, to_csv(rows), "l.csv", token=township)
    assert outside.status_code == 403 and outside.json()["field"] == "jurisdiction"
    assert api("GET", f"/api/imports/{import_id}", token=township).status_code == 404   # as if unknown
    village_worker = system.token(user="cadre", role="village_worker")
    assert upload(api, to_csv(rows), "l.csv", token=village_worker).status_code == 403
    not_a_file = api("POST", "/api/imports", json={"filename": "x.csv", "jurisdiction": COUNTY,
                                                   "content_base64": "not base64!"})
    assert not_a_file.status_code == 400 and not_a_file.json()["field"] == "content_base64"
