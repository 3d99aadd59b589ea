"""The cluster harness's liveness probe, against a real `nameko run` process on the real broker:
`kill -USR2` writes the service's greenthread stacks to its log and the service goes on; a
service that stops answering (SIGSTOP: alive, deaf) is killed and started again, as the
Deployment's livenessProbe would, and answers again."""
import os
import signal
import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from bench.cluster_load import LivenessProbe, ServiceProcesses, service_config


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.2)


def test_a_deaf_service_is_restarted_and_its_stacks_are_in_its_log(rabbit_config, tmp_path):
    config = service_config(rabbit_config["AMQP_URI"], "classic", tmp_path)
    probe = LivenessProbe(rabbit_config["AMQP_URI"], period=1.0, timeout=2.0, failure_threshold=3)
    log = tmp_path / "registry.log"
    with ServiceProcesses(config, tmp_path, names=("registry",), liveness=probe) as services, \
            ClusterRpcProxy({"AMQP_URI": rabbit_config["AMQP_URI"], "serializer": "json"}, timeout=30) as proxy:
        services.await_ready(proxy)
        first = services.processes["registry"]

        os.kill(first.pid, signal.SIGUSR2)
        _wait_for(lambda: "=== end of stacks ===" in log.read_text(errors="replace"), 20, "the stack dump")
        stacks = log.read_text(errors="replace")
        assert f"=== stacks of pid {first.pid}" in stacks
        assert "nameko" in stacks and "--- greenthread" in stacks      # the workers' stacks, not just the hub's
        assert first.poll() is None and proxy.registry.ping()          # the dump does not stop the service
        assert services.unresponsive["registry"] == 0

        os.kill(first.pid, signal.SIGSTOP)                              # running, but answers nothing
        _wait_for(lambda: services.restarts["registry"] == 1, 60, "the deaf registry restarted")
        assert services.unresponsive["registry"] == 1
        assert first.poll() == -signal.SIGKILL
        services.await_ready(proxy)
        assert services.processes["registry"].pid != first.pid
        assert "no answer to 3 pings in a row" in log.read_text(errors="replace")
