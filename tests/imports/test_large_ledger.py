"""A generated ledger (``LEDGER_TEST_ROWS`` rows: 3,000 in the suite, whose budget is 15
minutes; ``LEDGER_TEST_ROWS=30000 bin/test tests/imports/test_large_ledger.py`` is the
county-sized run, about ten minutes on a loaded 2-core machine), 3% made bad in each of
the ways a typed ledger goes wrong, 1% near-duplicates added. The dry run refuses exactly
the bad rows, each named in the report, and lists every near-duplicate; the commit is killed
part way, resumes in a new importer process, and registers every accepted row exactly once."""
import base64
import io
import os

import pytest
from openpyxl import load_workbook

from tests.imports.conftest import CLERK, wait_for
from tests.imports.ledger_files import BAD_KINDS, demo_rows, spoiled, to_xlsx

ROWS = int(os.environ.get("LEDGER_TEST_ROWS", "3000"))


@pytest.fixture
def ledger():
    """Built before the services start: writing 30,000 rows of XLSX is half a minute of CPU
    that would starve the test's broker connection of its heartbeats."""
    ledger = spoiled(demo_rows(ROWS), bad_share=0.03, near_share=0.01)
    return ledger, to_xlsx(ledger.rows)


# About ten minutes on a loaded 2-core machine: writing and reading the XLSX take a minute,
# the commit runs at the registry's command rate (90-300 commands/s here).
@pytest.mark.timeout(3600)
def test_a_ledger_dry_run_then_a_commit_killed_half_way_registers_each_row_once(ledger, system):
    ledger, content = ledger
    assert set(ledger.bad.values()) == set(BAD_KINDS) and len(ledger.near) == ROWS // 100
    opened = system.upload(content)
    import_id = opened["import_id"]
    checked = system.until(import_id, "checked", timeout=1800)
    assert system.events("registry") == 0
    summary = checked["summary"]
    assert (summary["rows"], summary["refused"]) == (len(ledger.rows), len(ledger.bad))

    report = load_workbook(io.BytesIO(base64.b64decode(system.rpc.imports.report(import_id)["content_base64"])),
                           read_only=True)
    lines = list(report["不合规的行"].iter_rows(min_row=2, values_only=True))
    assert sorted(line[0] for line in lines) == sorted(ledger.bad)          # every bad row, nothing else
    assert all(line[1] and line[3] for line in lines)                        # its column and reason
    duplicates = []
    while len(duplicates) % 1000 == 0:
        page = system.rpc.imports.duplicates({"import_id": import_id, "limit": 1000, "offset": len(duplicates)})
        duplicates += page
        if not page:
            break
    found = {(d["row"], d["other"]) for d in duplicates}
    assert {(row, f"row:{of}") for row, of in ledger.near.items()} <= found

    system.rpc.imports.commit({"import_id": import_id}, CLERK)
    accepted = summary["accepted"]
    wait_for(lambda: system.rpc.imports.get_import(import_id)["summary"]["registered"] >= accepted // 3, 1800,
             "a third registered")
    system.importer.kill()
    system.start_importer()
    done = system.until(import_id, "committed", timeout=3600)
    assert done["summary"]["registered"] == accepted == len(ledger.rows) - len(ledger.bad)
    assert system.events("registry") >= accepted            # registrations (and derived status events)
    registered = []
    while True:
        page = system.rpc.registry.search_elders({"division_code": "410928", "limit": 1000,
                                                  "offset": len(registered)})
        registered += page
        if len(page) < 1000:
            break
    assert len(registered) == accepted == len({e["resident_id"] for e in registered})
