"""Large logs are verified by several processes over position ranges. Services and tests run
under eventlet, where worker processes are not used, so this runs the check in a plain
Python subprocess and compares it with the single scan, intact and tampered."""
import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from kernel import migrate
from kernel.db import create_service_engine, transaction
from kernel.store import SqlAlchemyEventStore
from tests.kernel.support import note, test_catalogue

SCRIPT = """
import json, sys
from kernel.db import create_service_engine
from kernel.hashchain import verify_log
engine = create_service_engine(sys.argv[1])
hashes = []
report = verify_log(engine, batch_size=7, collect_hashes=hashes, workers=3, parallel_min=1)
print(json.dumps({"ok": report.ok, "checked": report.checked, "bad": report.first_bad_position,
                  "problem": report.problem, "head": report.head_hash, "hashes": len(hashes)}))
"""


@pytest.fixture
def log(database_url):
    migrate.upgrade("kerneltest", database_url)
    engine = create_service_engine(database_url)
    store = SqlAlchemyEventStore(engine, "kerneltest", test_catalogue())
    for first in range(0, 60, 6):
        with transaction(engine) as conn:
            store.append(conn, [note("s", n) for n in range(first, first + 6)], {"s": first})
    with transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER events_no_update_or_delete ON events"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
            conn.execute(text("DROP TRIGGER events_no_delete"))
    yield database_url, engine
    engine.dispose()


def parallel(url):
    done = subprocess.run([sys.executable, "-c", SCRIPT, url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_parallel_ranges_agree_with_one_scan(log):
    from kernel.hashchain import verify_log
    url, engine = log
    single = verify_log(engine)
    result = parallel(url)
    assert (result["ok"], result["checked"], result["head"], result["hashes"]) == (True, 60, single.head_hash, 60)


@pytest.mark.parametrize("sql, position", [
    ("DELETE FROM events WHERE position = 20", 20),      # the first row of the second range
    ("DELETE FROM events WHERE position = 40", 40),      # the last row of the second range
    ("UPDATE events SET data = replace(data, 'hello', 'HELLO') WHERE position = 33", 33),
])
def test_tampering_at_range_boundaries_is_named_as_by_one_scan(log, sql, position):
    from kernel.hashchain import verify_log
    url, engine = log
    with transaction(engine) as conn:
        conn.execute(text(sql))
    single = verify_log(engine)
    result = parallel(url)
    assert not result["ok"] and result["bad"] == single.first_bad_position == position
