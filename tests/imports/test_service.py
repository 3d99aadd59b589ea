"""The ledger import end to end: the imports and registry services in real nameko
containers over real RabbitMQ, SQLite databases. Dry run writes nothing in the registry;
commit registers the accepted rows once, even when the importer is killed half way."""
import base64
import io

import pytest
from openpyxl import load_workbook

from kernel.errors import ConflictError, NotFoundError, ValidationError
from tests.imports.conftest import CLERK, wait_for
from tests.imports.ledger_files import demo_rows, spoiled, to_csv, to_xlsx


def test_dry_run_reports_every_bad_row_and_writes_nothing_then_commit_registers_the_rest(system):
    ledger = spoiled(demo_rows(140), bad_share=0.05, near_share=0.03)
    content = to_xlsx(ledger.rows)
    opened = system.upload(content)
    checked = system.until(opened["import_id"], "checked")
    summary = checked["summary"]
    assert summary["refused"] == len(ledger.bad) and summary["rows"] == len(ledger.rows)
    assert system.events("registry") == 0                     # the dry run registered nobody
    refused = system.rpc.imports.refused_rows({"import_id": opened["import_id"], "limit": 1000})
    assert {r["row"] for r in refused} == set(ledger.bad)
    by_row = {r["row"]: r["problems"] for r in refused}
    kinds = {kind: row for row, kind in ledger.bad.items()}
    assert by_row[kinds["check_character"]][0]["column"] == "身份证号"
    assert "校验位" in by_row[kinds["check_character"]][0]["reason"]
    assert by_row[kinds["unknown_village"]][0]["column"] == "村"
    assert any("晚于今天" in p["reason"] for p in by_row[kinds["future_registration"]])
    assert any(p["column"] == "出生日期" for p in by_row[kinds["future_birth_date"]])
    duplicates = system.rpc.imports.duplicates({"import_id": opened["import_id"], "limit": 1000})
    assert {(d["row"], d["other"]) for d in duplicates} >= {(row, f"row:{of}") for row, of in ledger.near.items()
                                                            if of not in ledger.bad}
    report = load_workbook(io.BytesIO(base64.b64decode(system.rpc.imports.report(opened["import_id"])
                                                       ["content_base64"])))
    lines = list(report["不合规的行"].iter_rows(min_row=2, values_only=True))
    assert sorted(line[0] for line in lines) == sorted(ledger.bad) and all(line[3] for line in lines)

    system.rpc.imports.commit({"import_id": opened["import_id"]}, CLERK)
    done = system.until(opened["import_id"], "committed")
    assert done["summary"]["registered"] == len(ledger.rows) - len(ledger.bad)
    elders = system.rpc.registry.search_elders({"division_code": "410928", "limit": 1000})
    assert len(elders) == done["summary"]["registered"]

    # The same file again is the same import; another file with the same people registers nobody.
    assert system.upload(content)["import_id"] == opened["import_id"]
    again = system.upload(to_csv(ledger.rows), "台账.csv")
    assert system.until(again["import_id"], "checked")["summary"]["existing"] == done["summary"]["registered"]


def test_a_decided_duplicate_is_merged_with_the_registrys_reversible_merge(system):
    ledger = spoiled(demo_rows(30), bad_share=0, near_share=0.1)
    opened = system.upload(to_csv(ledger.rows), "l.csv")
    import_id = opened["import_id"]
    system.until(import_id, "checked")
    first, second, third = system.rpc.imports.duplicates({"import_id": import_id})[:3]

    def decide(match, decision):
        return system.rpc.imports.decide_duplicate({"import_id": import_id, "row": match["row"],
                                                    "other": match["other"], "decision": decision}, CLERK)

    decide(first, "merge")                              # before the commit: merged once both are registered
    system.rpc.imports.commit({"import_id": import_id}, CLERK)
    system.until(import_id, "committed")
    merged = [(d["row"], d["other"]) for d in system.rpc.imports.duplicates({"import_id": import_id}) if d["merged"]]
    assert merged == [(first["row"], first["other"])]
    decide(second, "keep_both")                         # after the commit: keep both merges nothing
    decide(third, "merge")                              # after the commit: merged at once
    records = system.rpc.registry.search_elders({"division_code": "410928", "record_status": "merged"})
    assert len(records) == 2
    with pytest.raises(ConflictError):
        decide(first, "keep_both")                      # merged: undone with the registry's unmerge, not here
    with pytest.raises(NotFoundError):
        system.rpc.imports.decide_duplicate({"import_id": import_id, "row": 2, "other": "row:999",
                                             "decision": "merge"}, CLERK)


def test_bad_uploads_are_refused_naming_the_field_and_write_nothing(system):
    with pytest.raises(ValidationError) as not_a_ledger:
        system.upload(b"GIF89a not a ledger at all \x00\x01", "photo.gif")
    assert "file" in not_a_ledger.value.errors
    rows = demo_rows(3)
    headers = [h for h in rows[0] if h != "身份证号"]
    with pytest.raises(ValidationError) as missing:
        system.upload(to_csv(rows, headers), "l.csv")
    assert list(missing.value.errors) == ["columns.身份证号"]
    with pytest.raises(ValidationError) as bad_jurisdiction:
        system.rpc.imports.open_import({"filename": "l.csv", "jurisdiction": "4109",
                                        "content_base64": base64.b64encode(to_csv(rows)).decode()}, CLERK)
    assert "jurisdiction" in bad_jurisdiction.value.errors
    assert system.events("imports") == 0


def test_an_importer_killed_half_way_resumes_and_registers_every_row_once(system):
    rows = demo_rows(600)
    opened = system.upload(to_csv(rows), "l.csv")
    system.until(opened["import_id"], "checked")
    system.rpc.imports.commit({"import_id": opened["import_id"]}, CLERK)
    wait_for(lambda: system.rpc.imports.get_import(opened["import_id"])["summary"]["registered"] >= 150, 120,
             "a quarter registered")
    system.importer.kill()                    # mid-page: some registrations sent, their answers not recorded
    halfway = system.events("registry")
    assert 0 < halfway
    system.start_importer()
    done = system.until(opened["import_id"], "committed")
    assert done["summary"]["registered"] == 600
    elders = system.rpc.registry.search_elders({"division_code": "410928", "limit": 1000})
    assert len(elders) == 600 and len({e["resident_id"] for e in elders}) == 600
