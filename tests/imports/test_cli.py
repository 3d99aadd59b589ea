"""``eldercare import …`` against the running services: template, dry run with its report,
duplicates, commit — and a refused file named with its column."""
import re

import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.app import app
from tests.imports.ledger_files import demo_rows, spoiled, to_csv


def eldercare(system, tmp_path, *args):
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": system.config["AMQP_URI"]}))
    return CliRunner().invoke(app, ["--config", str(config), *args])


def test_template_dry_run_report_and_commit_from_the_command_line(system, tmp_path):
    template = tmp_path / "template.xlsx"
    assert eldercare(system, tmp_path, "import", "template", "--out", str(template)).exit_code == 0
    assert load_workbook(template).active["A1"].value == "姓名"
    ledger = spoiled(demo_rows(20), bad_share=0.1, near_share=0.1)
    file, report = tmp_path / "台账.csv", tmp_path / "report.xlsx"
    file.write_bytes(to_csv(ledger.rows))
    dry = eldercare(system, tmp_path, "import", "dry-run", str(file), "--jurisdiction", "410928000000",
                    "--report", str(report))
    assert dry.exit_code == 0, dry.output
    assert f"refused {len(ledger.bad)}" in dry.output
    lines = list(load_workbook(report)["不合规的行"].iter_rows(min_row=2, values_only=True))
    assert sorted(line[0] for line in lines) == sorted(ledger.bad)
    import_id = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", dry.output).group(0)
    listed = eldercare(system, tmp_path, "import", "duplicates", import_id).output
    assert all(f"row:{of}" in listed for of in ledger.near.values()) and "待定" in listed
    done = eldercare(system, tmp_path, "import", "commit", import_id)
    assert done.exit_code == 0 and f"registered {len(ledger.rows) - len(ledger.bad)}" in done.output


def test_a_missing_column_is_named_and_nothing_is_imported(system, tmp_path):
    rows = demo_rows(2)
    file = tmp_path / "l.csv"
    file.write_bytes(to_csv(rows, [h for h in rows[0] if h != "村"]))
    refused = eldercare(system, tmp_path, "import", "dry-run", str(file), "--jurisdiction", "410928000000")
    assert refused.exit_code == 1 and "columns.村" in refused.output
    assert system.events("imports") == 0
