"""Finance pays a subsidy run into payee accounts: the registry, subsidies, notifications and
departments services over real RabbitMQ. An approved run's payment file carries payee,
account and amount; an elder without an account is held, not dropped; the bank's return
file marks each line paid or failed; a failed one is alerted until its account is fixed,
then the next file re-issues it — once."""
import csv
import io
import time
from datetime import date

import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from demo.residents import make_resident_id, order_code
from kernel import migrate
from kernel.errors import CommandRejected, ConflictError, NotFoundError, ValidationError
from services.departments.service import DepartmentsService
from services.notifications.service import NotificationsService
from services.registry.service import RegistryService
from services.subsidies.service import SubsidiesService

VILLAGE = "140522100201"
DIVISION_FILES = "data/divisions/base.csv data/divisions/demo.csv tests/subsidies/jincheng_divisions.csv"
TODAY = date(2026, 6, 3)
CLERK = {"department": "civil_affairs", "user": "clerk-1", "role": "county_coordinator"}
FINANCE = {"department": "finance", "user": "cashier-1", "role": "department_officer"}
RUN = {"jurisdiction": "1405", "month": "2026-06"}


@pytest.fixture
def county(rabbit_config, tmp_path, container_factory):
    classes = (RegistryService, SubsidiesService, NotificationsService, DepartmentsService)
    urls = {cls.name: f"sqlite:///{tmp_path / (cls.name + '.db')}" for cls in classes}
    for service, url in urls.items():
        migrate.upgrade(service, url)
    config = {**rabbit_config, "DATABASES": urls, "FIXED_TODAY": TODAY.isoformat(), "DIVISION_FILES": DIVISION_FILES,
              "RELAY": {"poll_interval": 0.1}, "REGISTRY": {"status_review_interval_seconds": 3600},
              "NOTIFICATIONS": {"sweep_interval_seconds": 3600, "delivery_interval_seconds": 3600},
              "CHECKPOINTS": {"interval_seconds": 3600}}
    for cls in classes:
        container_factory(cls, config).start()
    with ClusterRpcProxy(config, timeout=60) as rpc:
        for n in (1, 2):
            born = date(1941, 3, 9)
            rpc.registry.register_elder({
                "elder_id": f"elder-{n}", "name": f"王秀{n}", "sex": "female", "birth_date": born.isoformat(),
                "resident_id": make_resident_id("140522", born, order_code(n, "female"), "female"),
                "division_code": VILLAGE, "household_id": f"h-{n}", "address": "一组", "self_care_level": "semi_disabled",
                "support_status": {"tekun": True}, "effective_date": "2026-01-05"}, CLERK)
        rpc.urls = urls
        yield rpc


def until(read, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not (value := read()):
        assert time.monotonic() < deadline, "timed out"
        eventlet.sleep(0.1)
    return value


def known(rpc, elder_id) -> bool:
    try:
        return bool(rpc.subsidies.entitlement_as_of(elder_id, "2026-06")["entitlements"])
    except NotFoundError:
        return False


def account(rpc, elder_id, number, day="2026-06-01"):
    return rpc.departments.set_payee_account({"elder_id": elder_id, "effective_date": day, "payee_name": "王秀英",
                                              "bank": "晋城农商银行", "account_number": number}, FINANCE)


def lines(answer):
    return list(csv.DictReader(io.StringIO(answer["csv"])))


def test_pay_a_run_hold_alert_and_reissue_a_failed_payment_once(county, tmp_path):
    rpc = county
    until(lambda: known(rpc, "elder-1") and known(rpc, "elder-2"))
    assert rpc.subsidies.start_run(RUN, CLERK)["disbursements"] == 4          # care subsidy and basic living each
    with pytest.raises(CommandRejected) as unapproved:
        rpc.departments.issue_payment_file(RUN, FINANCE)
    assert unapproved.value.field == "month"
    rpc.subsidies.approve_run(RUN, FINANCE)
    with pytest.raises(CommandRejected) as not_finance:
        rpc.departments.issue_payment_file(RUN, CLERK)
    assert not_finance.value.field == "department"

    account(rpc, "elder-1", "6221000000000001")
    first = rpc.departments.issue_payment_file(RUN, FINANCE)
    paid_out = lines(first)
    assert [(r["beneficiary_id"], r["account_number"], r["payee_name"]) for r in paid_out] == [
        ("elder-1", "6221000000000001", "王秀英")] * 2
    assert sorted(r["amount_yuan"] for r in paid_out) == ["200.00", "793.00"] and first["total_fen"] == 99300
    assert {h["beneficiary_id"]: h["reason"] for h in first["held"]} == {"elder-2": "no payee account"}
    assert rpc.departments.issue_payment_file(RUN, FINANCE)["rows"] == 0          # nothing issued twice

    ok, bounced = sorted(paid_out, key=lambda r: r["amount_yuan"])
    bad = f"entry_id,result,reason\n{ok['entry_id']},bounced,\n"
    with pytest.raises(ValidationError) as refused:
        rpc.departments.read_bank_return({"file_id": first["file_id"], "csv": bad}, FINANCE)
    assert refused.value.field == "csv"
    returned = rpc.departments.read_bank_return({"file_id": first["file_id"], "csv": (
        f"entry_id,result,reason\n{ok['entry_id']},paid,\n{bounced['entry_id']},failed,账户已销户\n")}, FINANCE)
    assert (returned["paid"], returned["failed"], returned["alerted"], returned["reissue"]) == (1, 1, 1, 0)
    alerts = rpc.notifications.list_alerts({"kind": "payment_failed"})
    assert [(a["elder_id"], a["division_code"]) for a in alerts] == [("elder-1", VILLAGE)]
    with pytest.raises(ConflictError):                                            # answered already
        rpc.departments.read_bank_return({"file_id": first["file_id"], "csv": (
            f"entry_id,result,reason\n{ok['entry_id']},paid,\n")}, FINANCE)
    assert rpc.departments.issue_payment_file(RUN, FINANCE)["rows"] == 0          # same account: not re-sent

    account(rpc, "elder-1", "6221000000000099", "2026-06-03")                     # the account fixed
    account(rpc, "elder-2", "6221000000000002")
    second = rpc.departments.issue_payment_file(RUN, FINANCE)
    again = {(r["beneficiary_id"], r["amount_yuan"], r["account_number"], r["attempt"]) for r in lines(second)}
    assert again == {("elder-1", bounced["amount_yuan"], "6221000000000099", "2"),
                     ("elder-2", "200.00", "6221000000000002", "1"), ("elder-2", "793.00", "6221000000000002", "1")}
    assert second["file_id"] != first["file_id"] and rpc.departments.issue_payment_file(RUN, FINANCE)["rows"] == 0
    with pytest.raises(NotFoundError):
        rpc.departments.read_bank_return({"file_id": "nope", "csv": "entry_id,result,reason\n"}, FINANCE)
    summary = rpc.departments.division_summary({"division_code": VILLAGE})
    assert (summary["payments_awaiting_bank"], summary["payments_failed"]) == (3, 0)
    records = {r["record_id"]: r["status"] for r in rpc.departments.elder_records("elder-1")}
    assert sorted(records.values()) == ["active", "issued", "paid"]
    # Every read model here is the log's: a replay into a scratch database matches it.
    from contracts import CATALOGUE
    from kernel.db import create_service_engine
    from kernel.replay import replay_and_compare
    from services.departments.adapters.projections import DepartmentsProjection, FinanceProjection
    from tests.counting import written_events
    engine = create_service_engine(rpc.urls["departments"])
    replayed, drift = replay_and_compare("departments", engine, (DepartmentsProjection(), FinanceProjection()),
                                         CATALOGUE, str(tmp_path))
    with engine.connect() as conn:
        written = conn.execute(written_events()).scalar_one()
    engine.dispose()
    assert (written, drift) == (10, []) and replayed >= written    # 3 accounts, 2 + 3 lines issued, 2 answered


def test_the_command_line_moves_the_files_between_finance_and_the_bank(county, tmp_path, rabbit_config):
    import yaml
    from typer.testing import CliRunner

    from cli.app import app
    rpc = county
    until(lambda: known(rpc, "elder-1") and known(rpc, "elder-2"))
    rpc.subsidies.start_run(RUN, CLERK)
    rpc.subsidies.approve_run(RUN, FINANCE)
    account(rpc, "elder-1", "6221000000000001")
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"AMQP_URI": rabbit_config["AMQP_URI"]}))
    run = lambda *args: CliRunner().invoke(app, ["--config", str(config), "departments", *args])  # noqa: E731
    out = tmp_path / "bank.csv"
    issued = run("payment-file", "--jurisdiction", "1405", "--month", "2026-06", "--out", str(out), "--user", "cashier")
    assert issued.exit_code == 0 and "2 payments, 993.00 yuan" in issued.output and "no payee account" in issued.output
    entries = [row["entry_id"] for row in csv.DictReader(out.open(encoding="utf-8"))]
    answer = tmp_path / "return.csv"
    answer.write_text("entry_id,result,reason\n" + "".join(f"{e},paid,\n" for e in entries), encoding="utf-8")
    file_id = "subsidy-run:1405:2026-06.file-1"
    assert file_id in issued.output and rpc.departments.get_payment_file(file_id)["lines"] == {"issued": 2}
    read = run("bank-return", file_id, str(answer), "--user", "cashier")
    assert read.exit_code == 0 and "paid 2, failed 0" in read.output, read.output
    wrong = run("bank-return", file_id, str(answer), "--user", "cashier")
    assert wrong.exit_code == 1 and "answered already" in wrong.output
