"""A worker slower than DIAGNOSTICS.slow_worker_seconds says so in the service's log, with its
entrypoint and duration (kernel.providers.ServiceDatabase), and a faster one says nothing."""
import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from structlog.testing import capture_logs

from kernel import migrate
from tests.kernel.services import NoteProducer
from tests.kernel.test_delivery import wait_for


@pytest.mark.parametrize("threshold, logged", [(0.0, True), (60.0, False)])
def test_a_slow_worker_is_logged_with_its_entrypoint(rabbit_config, sqlite_url, container_factory, threshold, logged):
    migrate.upgrade("kerneltest", sqlite_url)
    config = {**rabbit_config, "DATABASES": {"kerneltest": sqlite_url}, "RELAY": {"poll_interval": 0.1},
              "DIAGNOSTICS": {"slow_worker_seconds": threshold}}
    container_factory(NoteProducer, config).start()
    with capture_logs() as logs, ServiceRpcProxy("kerneltest", config) as service:
        assert service.take_notes("s-1", [1]) == 1
        if logged:     # the worker says so as it ends, which may be just after its answer arrives
            wait_for(lambda: any(line["event"] == "slow worker" for line in logs), timeout=10.0)
        else:
            eventlet.sleep(0.5)
    slow = [line for line in logs if line["event"] == "slow worker"]
    if logged:
        assert slow and slow[0]["entrypoint"] == "take_notes" and slow[0]["milliseconds"] >= 0
        assert slow[0]["log_level"] == "warning" and slow[0]["call_id"].startswith("kerneltest.take_notes.")
    else:
        assert slow == []
