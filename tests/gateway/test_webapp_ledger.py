"""The county's ledger work in the web app, against the real services: a coordinator
downloads the template, uploads a ledger, sees the dry run's refused rows and probable
duplicates by name, decides one, commits, and follows a survey campaign's completion by
township and village (drawn). A village worker gets neither page."""
import re
import time

import eventlet
import pytest

from gateway.webapp.security import CSRF_COOKIE, CSRF_FIELD
from tests.gateway.conftest import COUNTY, VILLAGE
from tests.gateway.test_webapp_http import COORDINATOR, VILLAGE_WORKER, signed_in
from tests.gateway.webapp_support import start_accounts
from tests.imports.ledger_files import demo_rows, spoiled, to_xlsx

SECRETS_PEOPLE = (VILLAGE_WORKER, COORDINATOR)


@pytest.fixture(autouse=True)
def accounts(system, container_factory, tmp_path):
    from tests.gateway import test_webapp_http
    test_webapp_http.SECRETS.clear()
    test_webapp_http.SECRETS.update(start_accounts(system, container_factory, tmp_path, SECRETS_PEOPLE))


def until_page(web_session, path, text, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = web_session.get(path)
        if text in page.text:
            return page
        eventlet.sleep(0.3)
    raise AssertionError(f"{path} never showed {text!r}:\n{page.text[:2000]}")


def test_a_coordinator_loads_the_ledger_decides_a_duplicate_and_commits(system, web_session):
    signed_in(web_session, system, login="coordinator")
    token = web_session.cookies.get(CSRF_COOKIE)
    page = web_session.get("/app/imports")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text and "下载模板" in page.text
    template = web_session.get("/app/imports/template")
    assert template.status_code == 200 and template.content.startswith(b"PK")
    assert "attachment" in template.headers["Content-Disposition"]
    # No file chosen: said at the field, nothing opened.
    empty = web_session.post("/app/imports", data={CSRF_FIELD: token, "idempotency_key": "k0"})
    assert empty.status_code == 400 and 'id="file-error"' in empty.text
    # Not a ledger: the service's reason at the field.
    junk = web_session.post("/app/imports", data={CSRF_FIELD: token, "idempotency_key": "k1"},
                            files={"file": ("台账.xlsx", b"not a spreadsheet", "application/octet-stream")})
    assert junk.status_code == 400 and 'id="file-error"' in junk.text and "缺少必填列" in junk.text

    ledger = spoiled(demo_rows(30), bad_share=0.1, near_share=0.1)
    opened = web_session.post("/app/imports", data={CSRF_FIELD: token, "idempotency_key": "k2"},
                              files={"file": ("东关台账.xlsx", to_xlsx(ledger.rows), "application/octet-stream")})
    assert opened.status_code == 200 and "/app/imports/" in opened.url, opened.text[:800]
    path = opened.url.split("?")[0][opened.url.index("/app/"):]
    checked = until_page(web_session, path, "已检查，可以登记")
    assert f'id="figure-refused">{len(ledger.bad)}<' in checked.text
    assert '<meta http-equiv="refresh"' not in checked.text                # done: no more polling
    refused_rows = re.findall(r"<tr><td>(\d+)</td>", checked.text.split('id="refused-rows"')[1].split("</table>")[0])
    assert {int(r) for r in refused_rows} == set(ledger.bad)
    report = web_session.get(path + "/report")
    assert report.status_code == 200 and report.content.startswith(b"PK")
    # A probable duplicate, named not coded, decided in one tap.
    assert "疑似重复" in checked.text
    row, other = re.search(r'name="row" value="(\d+)"><input type="hidden" name="other" value="([^"]+)"',
                           checked.text).groups()
    decided = web_session.post(path + "/duplicates", data={CSRF_FIELD: token, "idempotency_key": "d1", "row": row,
                                                           "other": other, "decision": "keep_both"})
    assert decided.status_code == 200 and "不同的人：都保留" in decided.text
    bad = web_session.post(path + "/duplicates", data={CSRF_FIELD: token, "idempotency_key": "d2", "row": row,
                                                       "other": other, "decision": "maybe"})
    assert bad.status_code == 400 and f'id="duplicate-{row}-{other}-error"' in bad.text
    committed = web_session.post(path + "/commit", data={CSRF_FIELD: token, "idempotency_key": "c1"})
    assert committed.status_code == 200
    done = until_page(web_session, path, '<span class="badge" id="import-status">已登记</span>')
    accepted = int(re.search(r'id="figure-accepted">(\d+)<', done.text).group(1))
    assert accepted > 0 and f'id="figure-registered">{accepted}<' in done.text


def test_a_campaign_s_completion_is_drawn_by_township_then_village(system, web_session, api):
    from tests.gateway.test_api import register, wait_for
    register(api, "elder-1", VILLAGE)
    wait_for(lambda: api("GET", "/api/elders/elder-1").status_code == 200)
    opened = api("POST", "/api/surveys", json={"campaign_id": "winter-2026", "name": "2026年冬季摸底排查",
                                               "jurisdiction": COUNTY, "deadline": "2026-12-20",
                                               "fields_to_confirm": ["name", "phone"]})
    assert opened.status_code == 201, opened.text
    signed_in(web_session, system, login="coordinator")
    listed = web_session.get("/app/surveys")
    assert listed.status_code == 200 and "2026年冬季摸底排查" in listed.text and "进行中" in listed.text
    page = web_session.get("/app/surveys/winter-2026")
    assert page.status_code == 200 and '<svg class="chart"' in page.text
    assert 'id="campaign-elders">1<' in page.text and 'id="campaign-surveyed">0<' in page.text
    township = re.search(r'href="/app/surveys/winter-2026\?township=(\d{12})"', page.text).group(1)
    villages = web_session.get(f"/app/surveys/winter-2026?township={township}")
    assert villages.status_code == 200 and '<svg class="chart"' in villages.text and "0%" in villages.text
    assert web_session.get("/app/surveys/nope").status_code == 404


def test_a_village_worker_gets_neither_page(system, web_session):
    signed_in(web_session, system, login="cadre")
    assert "/app/imports" not in web_session.get("/app/").text
    assert web_session.get("/app/imports/template").status_code == 403
    token = web_session.cookies.get(CSRF_COOKIE)
    refused = web_session.post("/app/imports", data={CSRF_FIELD: token, "idempotency_key": "k"},
                               files={"file": ("台账.csv", b"a,b\n", "text/csv")})
    assert refused.status_code == 403
