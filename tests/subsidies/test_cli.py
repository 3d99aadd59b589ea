"""``eldercare subsidies run``: the run computed by the command line with a progress bar,
and started again without changing anything."""
from datetime import date

from typer.testing import CliRunner

from cli.app import app
from kernel import migrate
from tests.subsidies.support import Subsidies, registered


def test_the_command_line_runs_a_month_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'subsidies.db'}"
    migrate.upgrade("subsidies", url)
    system = Subsidies.create(url, today=date(2026, 6, 3))
    system.learn(registered("elder-1", "2026-01-05"), registered("elder-2", "2026-01-05", level="fully_disabled"))
    system.engine.dispose()
    config = tmp_path / "config.yml"
    config.write_text(f"DATABASES:\n  subsidies: {url}\nFIXED_TODAY: '2026-06-03'\n")
    runner = CliRunner()
    first = runner.invoke(app, ["--config", str(config), "subsidies", "run", "1405", "2026-06"])
    assert first.exit_code == 0, first.output
    assert "4 disbursements (2086.00 yuan)" in first.output and "computed" in first.output
    again = runner.invoke(app, ["--config", str(config), "subsidies", "run", "1405", "2026-06"])
    assert again.exit_code == 0 and "nothing changed" in again.output
    refused = runner.invoke(app, ["--config", str(config), "subsidies", "run", "1405", "2026-07"])
    assert refused.exit_code == 1 and "in the future" in refused.output
