"""RabbitMQ as a real cluster on one machine, and the registry → visits path through it.

``LoopbackRabbitCluster`` starts N RabbitMQ nodes on loopback: each has its own node name,
AMQP port, distribution port, data directory, log directory and enabled-plugins file, and all
share one Erlang cookie under a temporary HOME. Nodes 2..N join node 1 with
``rabbitmqctl join_cluster``. A node can be killed (SIGKILL) and started again on its data
directory, and it rejoins. ``close()`` stops every node and removes every directory, and it
is safe to call after a failure; a ``Reaper`` process does the same if this process dies
without calling it (pytest-timeout's ``os._exit``).

``run_stream`` runs the registry and visits services as two ``nameko run`` processes
(``ServiceProcesses``, restarted if they exit, as a Deployment would) against a broker, feeds
them registry commands over RPC from this process (demo county commands, in order per elder,
several in flight), lets the caller stop and start broker nodes part way through, and waits
until visits has applied every registry event it subscribes to. Both ``tests/cluster`` (the
fault test) and the ``cluster`` benchmark row use it.

The benchmark row (``bench_cluster``) measures commands/s end to end, meaning registry commands
accepted and their events applied by visits. It compares a 3-node cluster with quorum queues
against a single node with classic queues, in the same run, on the same databases.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

RABBITMQ_BIN = Path(os.environ.get("RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
REPOSITORY_ROOT = Path(__file__).resolve().parents[1]
SERVICES = {"registry": "services.registry.service:RegistryService",
            "visits": "services.visits.service:VisitsService"}
DEFAULT_CLUSTER_COMMANDS = 2_000       # the benchmark row; the fault test uses CLUSTER_TEST_COMMANDS
ACTOR = {"department": "civil_affairs", "user": "cluster-bench", "role": "county_coordinator"}


def rabbitmq_available() -> bool:
    return (RABBITMQ_BIN / "rabbitmq-server").exists() and (RABBITMQ_BIN / "rabbitmqctl").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_REAPER = r"""
import os, shutil, signal, sys, time
from pathlib import Path
parent, lease, remove = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while os.getppid() == parent:
    if not lease.exists():
        sys.exit(0)                 # cleaned up normally
    time.sleep(0.5)
for path in list(lease.glob("*.pgid")) + (list(Path(remove).rglob("rabbit.pid")) if remove else []):
    try:
        pid = int(path.read_text().strip())
        os.killpg(pid, signal.SIGKILL) if path.suffix == ".pgid" else os.kill(pid, signal.SIGKILL)
    except (ValueError, OSError):
        pass
shutil.rmtree(lease, ignore_errors=True)
if remove:
    shutil.rmtree(remove, ignore_errors=True)
"""


class Reaper:
    """A watchdog process that SIGKILLs the process groups it was told about, and removes a
    directory, if this process dies without cleaning up: pytest-timeout ends a hung test with
    os._exit, which runs no ``finally``, and broker nodes in their own sessions would outlive
    it. It exits by itself once ``close()`` removes its lease directory."""

    def __init__(self, lease: Path, remove: Path | None = None):
        self.lease = Path(lease)
        self.lease.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, "-c", _REAPER, str(os.getpid()), str(self.lease),
                                         str(remove or "")], start_new_session=True, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def watch(self, name: str, process_group: int) -> None:
        (self.lease / f"{name}.pgid").write_text(str(process_group))

    def forget(self, name: str) -> None:
        (self.lease / f"{name}.pgid").unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.lease, ignore_errors=True)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Node:
    name: str
    amqp_port: int
    dist_port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path:
        return self.directory / "rabbit.pid"


@dataclass
class LoopbackRabbitCluster:
    size: int = 3
    base: Path | None = None
    prefix: str = "eldercare-ct"
    nodes: list[Node] = field(default_factory=list)
    _owns_base: bool = False
    _reaper: Reaper | None = None

    def __post_init__(self):
        if self.base is None:
            self.base, self._owns_base = Path(tempfile.mkdtemp(prefix="rabbit-cluster-")), True
        self.base = Path(self.base)
        tag = f"{os.getpid()}x{int(time.time() * 1000) % 100000}"
        for index in range(1, self.size + 1):
            self.nodes.append(Node(f"{self.prefix}{index}-{tag}@localhost", _free_port(), _free_port(),
                                   self.base / f"node{index}"))

    # -- environment -----------------------------------------------------------------
    def _env(self, node: Node | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RABBITMQ_")}
        env.update(HOME=str(self.base / "home"), RABBITMQ_CONF_ENV_FILE=str(self.base / "rabbitmq-env.conf"),
                   ERL_EPMD_ADDRESS="127.0.0.1",
                   # a VM killed mid-call (rabbitmqctl, a node) dumps here, not into the caller's cwd
                   ERL_CRASH_DUMP=str(self.base / "erl_crash.dump"))
        if node is not None:
            env.update(RABBITMQ_NODENAME=node.name, RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
                       RABBITMQ_NODE_PORT=str(node.amqp_port), RABBITMQ_DIST_PORT=str(node.dist_port),
                       RABBITMQ_CONFIG_FILE=str(node.directory / "rabbitmq.conf"),
                       RABBITMQ_MNESIA_BASE=str(node.directory / "mnesia"),
                       RABBITMQ_LOG_BASE=str(node.directory / "log"),
                       RABBITMQ_ENABLED_PLUGINS_FILE=str(self.base / "enabled_plugins"),
                       RABBITMQ_PID_FILE=str(node.pid_file),
                       # Replacing the server args drops RabbitMQ's default "+sbwt none ...": keep
                       # it, or three schedulers busy-wait for CPU the services need.
                       RABBITMQ_SERVER_ERL_ARGS="+S 1:1 +A 8 +sbwt none +sbwtdcpu none +sbwtdio none "
                                                "-kernel inet_dist_use_interface {127,0,0,1}")
        return env

    def ctl(self, node: Node, *args: str, timeout: float = 90, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([str(RABBITMQ_BIN / "rabbitmqctl"), "-n", node.name, *args], env=self._env(),
                                capture_output=True, text=True, timeout=timeout, cwd=self.base)
        if check and result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {node.name}: {result.stdout}{result.stderr}")
        return result

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "LoopbackRabbitCluster":
        home = self.base / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(f"ELDERCARE{os.getpid()}{time.time_ns()}")
        cookie.chmod(0o400)
        (self.base / "rabbitmq-env.conf").write_text("")          # not /etc/rabbitmq/rabbitmq-env.conf
        (self.base / "enabled_plugins").write_text("[].\n")       # no management listener to clash
        self._reaper = Reaper(self.base / "reaper", remove=self.base)
        for node in self.nodes:
            node.directory.mkdir(parents=True, exist_ok=True)
            (node.directory / "rabbitmq.conf").write_text(
                f"listeners.tcp.local = 127.0.0.1:{node.amqp_port}\nloopback_users = none\n"
                "cluster_partition_handling = pause_minority\n")
            self._launch(node)
        for node in self.nodes:
            self._await(node)
        for node in self.nodes[1:]:      # start_app returns once the app runs: no second await
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", self.nodes[0].name)
            self.ctl(node, "start_app")
        return self

    def _launch(self, node: Node) -> None:
        log = open(node.directory / "stdout.log", "a")
        node.process = subprocess.Popen([str(RABBITMQ_BIN / "rabbitmq-server")], env=self._env(node), cwd=node.directory,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._reaper.watch(node.directory.name, node.process.pid)

    def restart(self, index: int) -> None:
        """Start a killed node again on its own data directory: it rejoins the cluster, and its
        quorum queue replicas catch up from the leader."""
        node = self.nodes[index]
        assert node.process is None or node.process.poll() is not None, f"{node.name} is running"
        self._launch(node)
        self._await(node)

    def _await(self, node: Node, timeout: float = 120) -> None:
        """await_startup fails at once while the VM has not registered with epmd yet: retry."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.ctl(node, "await_startup", "--timeout", "60", timeout=90, check=False)
            if result.returncode == 0:
                return
            if node.process is not None and node.process.poll() is not None:
                log = (node.directory / "stdout.log").read_text()[-2000:]
                raise RuntimeError(f"RabbitMQ node {node.name} exited ({node.process.returncode}): {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ node {node.name} did not start within {timeout:.0f}s: "
                                   f"{result.stdout}{result.stderr}")
            time.sleep(1)

    def uri(self, index: int) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.nodes[index].amqp_port}/"

    def failover_uri(self, *indices: int) -> str:
        """kombu's failover form: ``amqp://a;amqp://b`` (tried in order on connection loss)."""
        return ";".join(self.uri(i) for i in indices)

    def running_nodes(self, via: int = 0) -> list[str]:
        status = json.loads(self.ctl(self.nodes[via], "cluster_status", "--formatter", "json").stdout)
        return sorted(status["running_nodes"])

    def queue_leaders(self, via: int = 0) -> dict[str, tuple[str, str]]:
        """queue → (type, leader node) for quorum queues."""
        out = self.ctl(self.nodes[via], "list_queues", "name", "type", "leader", "--no-table-headers",
                       "--quiet").stdout
        rows = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                rows[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "")
        return rows

    def kill(self, index: int) -> None:
        """SIGKILL the node's Erlang VM: a crash, not a clean shutdown."""
        node = self.nodes[index]
        pid = int(node.pid_file.read_text().strip())
        os.kill(pid, signal.SIGKILL)
        node.pid_file.unlink()      # so that nothing kills that pid again once it is reused
        if node.process is not None:
            try:
                os.killpg(node.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            node.process.wait(timeout=30)

    def close(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                try:
                    self.ctl(node, "stop", timeout=60, check=False)
                except subprocess.TimeoutExpired:
                    pass
            if node.process is not None:
                try:
                    os.killpg(node.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    node.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            if node.pid_file.exists():     # the VM itself, if it outlived its process group
                try:
                    os.kill(int(node.pid_file.read_text().strip() or 0), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        if self._reaper is not None:
            self._reaper.close()
        if self._owns_base or self.base.exists():
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


# -- the registry → visits stream --------------------------------------------------------
@dataclass(frozen=True)
class LivenessProbe:
    """Ping each service over RPC through ``uri`` every ``period`` seconds; ``failure_threshold``
    pings in a row without an answer within ``timeout`` seconds restart it."""
    uri: str
    period: float = 10.0
    timeout: float = 10.0
    failure_threshold: int = 4


class StreamStalled(RuntimeError):
    """The stream did not finish in time, or a command kept failing in transport: the message
    says how far it got and ends with the services' logs."""


@dataclass
class StreamResult:
    commands: int
    seconds_to_accept: float
    seconds_to_converge: float
    outcomes: Counter
    retried: int           # sends again after a transport failure
    urls: dict
    restarts: Counter = field(default_factory=Counter)
    unresponsive: Counter = field(default_factory=Counter)

    @property
    def seconds(self) -> float:
        return self.seconds_to_accept + self.seconds_to_converge


def demo_commands(count: int, seed: int = 42) -> list[dict]:
    """``count`` demo-county registry commands, each elder's in their order, elders interleaved
    (all registrations, then every elder's second command, ...) so that several are in flight."""
    from demo.generator import generate_county
    per_elder: dict[str, list[dict]] = {}
    elders = max(10, int(count / 1.2) + 10)
    for taken, command in enumerate(generate_county(county_code="410928", elders=elders, seed=seed)):
        if taken == count:
            break
        per_elder.setdefault(command["payload"]["elder_id"], []).append(command)
    rounds = max(len(c) for c in per_elder.values())
    return [c[i] for i in range(rounds) for c in per_elder.values() if i < len(c)]


def visits_subscribed_types() -> tuple[str, ...]:
    from kernel.consumer import subscriptions_of
    from services.visits.service import VisitsService
    [subscription] = [s for s in subscriptions_of(VisitsService) if s.consumer == "visits.on_registry_event"]
    return tuple(subscription.event_types)


def declare_topology(uri: str, queue_type: str) -> None:
    """What `eldercare topology` does, for registry and visits, through one node: quorum
    queue leaders are placed on the node the declaring client is connected to."""
    import kombu

    from kernel.consumer import subscriptions_of
    from kernel.topology import declare, events_exchange
    from services.registry.service import RegistryService
    from services.visits.service import VisitsService
    with kombu.Connection(uri, connect_timeout=10) as connection:
        channel = connection.default_channel
        for name, cls in (("registry", RegistryService), ("visits", VisitsService)):
            events_exchange(name)(channel).declare()
            for subscription in subscriptions_of(cls):
                declare(channel, subscription, queue_type)


def declare_rpc_queues(uri: str, names=tuple(SERVICES)) -> None:
    """The RPC queues nameko declares (``rpc-<service>``: durable, classic, no arguments),
    declared first through ``uri`` so that they live on that node. A classic queue lives on
    one node; while that node is down, RPC to the service stops. RabbitMQ 3.10 cannot make
    them quorum queues: a queue declared as quorum is then refused to nameko, which declares
    it without ``x-queue-type`` (406 PRECONDITION_FAILED, inequivalent arg). From 3.13 a vhost
    whose default queue type is quorum makes nameko's own declaration a quorum queue."""
    import kombu
    exchange = kombu.Exchange("nameko-rpc", type="topic", durable=True)
    with kombu.Connection(uri, connect_timeout=10) as connection:
        channel = connection.default_channel
        exchange(channel).declare()
        for name in names:
            kombu.Queue(f"rpc-{name}", exchange=exchange, routing_key=f"{name}.*", durable=True)(channel).declare()


def declare_event_sinks(uri: str, names=tuple(SERVICES)) -> None:
    """A queue on each service's events exchange that keeps nothing (``x-max-length`` 0),
    standing for the consumers this two-service set-up leaves out (notifications, subsidies,
    audit, ...). Without it their events come back to the relay as unroutable and are
    recorded one by one, an error path that a full deployment does not take."""
    import kombu

    from kernel.topology import events_exchange
    with kombu.Connection(uri, connect_timeout=10) as connection:
        channel = connection.default_channel
        for name in names:
            exchange = events_exchange(name)(channel)
            exchange.declare()
            kombu.Queue(f"{name}.events.others", exchange=exchange, routing_key="#", durable=True,
                        queue_arguments={"x-max-length": 0})(channel).declare()


class ServiceProcesses:
    """Each service in its own ``nameko run`` process, as in production (one pod per service):
    the registry's commands and visits' consumer use both cores, and each process fails over
    between broker nodes on its own connections.

    Like a Deployment's pods (restartPolicy: Always), a process that exits is started again,
    at most ``max_restarts`` times each; ``restarts`` counts them, and each exit's log is kept
    (``<service>.log``, appended). nameko 2.14.1 does exit when the node it is connected to
    dies while an RPC worker finishes: see tests/cluster/test_quorum_failover.py."""

    def __init__(self, config: dict, directory: Path, names=tuple(SERVICES), max_restarts: int = 3,
                 liveness: LivenessProbe | None = None, targets: dict | None = None):
        """``targets``: the ``nameko run`` target of each name not in ``SERVICES`` (e.g. the gateway)."""
        self.directory, self.names, self.max_restarts = Path(directory), names, max_restarts
        self.targets = {**SERVICES, **(targets or {})}
        self.config_file = self.directory / "services.yml"
        import yaml
        self.config_file.write_text(yaml.safe_dump(config))
        self.processes: dict[str, subprocess.Popen] = {}
        self.restarts: Counter = Counter()
        self.unresponsive: Counter = Counter()     # processes the liveness probe killed
        self.failed: str | None = None
        self.liveness = liveness
        self._reaper: Reaper | None = None
        self._stopping = False
        self._supervisor = None
        self._prober = None

    def __enter__(self):
        import threading
        self._reaper = Reaper(self.directory / "reaper")
        try:
            for name in self.names:
                self._start(name)
        except BaseException:
            self.__exit__()
            raise
        self._supervisor = threading.Thread(target=self._supervise, daemon=True)
        self._supervisor.start()
        if self.liveness is not None:
            self._prober = threading.Thread(target=self._probe_liveness, daemon=True)
            self._prober.start()
        return self

    def _start(self, name: str) -> None:
        environment = {**os.environ, "PYTHONPATH": str(REPOSITORY_ROOT),
                       "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")}
        with open(self.directory / f"{name}.log", "a") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config", str(self.config_file), self.targets[name]],
                cwd=REPOSITORY_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        self._reaper.watch(name, self.processes[name].pid)

    def _supervise(self) -> None:
        while not self._stopping and self.failed is None:
            for name, process in list(self.processes.items()):
                if process.poll() is None or self._stopping:
                    continue
                if self.restarts[name] >= self.max_restarts:
                    self.failed = f"{name} exited {self.restarts[name] + 1} times (last: {process.returncode})"
                    break
                self.restarts[name] += 1
                with open(self.directory / f"{name}.log", "a") as log:
                    log.write(f"\n--- exited with {process.returncode}; started again ---\n")
                self._start(name)
            time.sleep(0.2)

    def _probe_liveness(self) -> None:
        """The Deployment's livenessProbe (k8s/base/services/*.yaml: ``eldercare wait``, the
        service's ``ping`` over RPC), on a shorter clock: a process that is running but has not
        answered ``failure_threshold`` pings in a row gets SIGUSR2 (its greenthreads' stacks go
        to its log, kernel.diagnostics), then SIGKILL, and the supervisor starts it again."""
        from nameko.standalone.rpc import ClusterRpcProxy
        probe, failures = self.liveness, Counter()
        with ClusterRpcProxy({"AMQP_URI": probe.uri, "serializer": "json"}, timeout=probe.timeout) as proxy:
            while not self._stopping and self.failed is None:
                time.sleep(probe.period)
                for name in self.names:
                    process = self.processes[name]
                    if self._stopping or process.poll() is not None:
                        failures[name] = 0          # exited: the supervisor starts it again
                        continue
                    try:
                        getattr(proxy, name).ping()
                        failures[name] = 0
                    except Exception:  # noqa: BLE001 - no answer, for whatever reason, is a failed probe
                        failures[name] += 1
                    if failures[name] >= probe.failure_threshold and process.poll() is None:
                        failures[name] = 0
                        self.unresponsive[name] += 1
                        with open(self.directory / f"{name}.log", "a") as log:
                            log.write(f"\n--- no answer to {probe.failure_threshold} pings in a row; "
                                      f"stacks (SIGUSR2), then SIGKILL ---\n")
                        try:
                            os.kill(process.pid, signal.SIGUSR2)
                            time.sleep(2)
                            os.killpg(process.pid, signal.SIGKILL)
                        except ProcessLookupError:
                            pass

    def log_tails(self, lines: int = 40) -> str:
        """The last lines of each service's log, colour codes removed: for a failure message."""
        import re
        tails = []
        for name in self.names:
            path = self.directory / f"{name}.log"
            text = re.sub(r"\x1b\[[0-9;]*m", "", path.read_text(errors="replace")) if path.exists() else ""
            tails.append(f"--- {name}.log (last {lines} lines) ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(tails)

    def await_ready(self, proxy, timeout: float = 120) -> None:
        """Every service answers ``ping`` over RPC."""
        from nameko.exceptions import UnknownService
        deadline = time.monotonic() + timeout
        for name in self.names:
            while True:
                self.check_alive()
                try:
                    getattr(proxy, name).ping()
                    break
                except UnknownService:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)

    def check_alive(self) -> None:
        """Raise if a service kept exiting (more than ``max_restarts`` times)."""
        if self.failed is not None:
            name = self.failed.split()[0]
            log = (self.directory / f"{name}.log").read_text()[-3000:]
            raise RuntimeError(f"{self.failed}: {log}")

    def __exit__(self, *exc):
        """SIGTERM: nameko stops gracefully (running workers finish, unacked messages go back)."""
        self._stopping = True
        for thread in (self._supervisor, self._prober):
            if thread is not None:
                thread.join(timeout=5)
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
        if self._reaper is not None:
            self._reaper.close()


def service_config(service_uri: str, queue_type: str, directory: Path) -> dict:
    """nameko config for the registry and visits processes, each on a migrated SQLite file in
    ``directory``; the timers that would add work of their own are pushed an hour out."""
    from kernel import migrate
    from kernel.checkpoints import init_keys
    urls = {name: f"sqlite:///{directory / (name + '.db')}" for name in ("registry", "visits")}
    for name, url in urls.items():
        migrate.upgrade(name, url)
    init_keys(list(urls), directory / "keys")       # each relay signs its batches; each consumer checks them
    return {"AMQP_URI": service_uri, "serializer": "json", "max_workers": 10, "QUEUE_TYPE": queue_type,
            "DATABASES": urls, "FIXED_TODAY": "2026-11-23", "RELAY": {"poll_interval": 0.05},
            "REGISTRY": {"status_review_interval_seconds": 3600},
            "VISITS": {"period_close_interval_seconds": 3600},
            "CHECKPOINTS": {"interval_seconds": 3600, "key_dir": str(directory / "keys")}}


def run_stream(service_uri: str, queue_type: str, directory: Path, commands: list[dict], *,
               client_uri: str | None = None, in_flight: int = 16, on_progress=None,
               settle_timeout: float = 180.0, rpc_timeout: float = 30.0, stream_timeout: float = 540.0,
               max_attempts: int = 5, liveness: bool = True) -> StreamResult:
    """Registry and visits in their own processes on ``service_uri``; every command sent over
    RPC from this process through ``client_uri`` (default: the same); a transport failure is
    retried once the call fails, a domain refusal is an outcome. Returns once visits has
    applied every subscribed registry event, after stopping both services.
    ``on_progress(sent)`` is called after each command is sent (the fault test stops and
    restarts nodes from it).

    Bounded, so that a stuck service fails the caller with a diagnosis instead of hanging it:
    a liveness probe restarts a service that stops answering (``liveness``), a command is sent
    at most ``max_attempts`` times, and sending and retrying all commands must end within
    ``stream_timeout`` seconds; otherwise ``StreamStalled``."""
    from nameko.standalone.rpc import ClusterRpcProxy

    from kernel.errors import EldercareError

    config = service_config(service_uri, queue_type, directory)
    urls = config["DATABASES"]
    outcomes: Counter = Counter()
    retry: list[dict] = []
    client_config = {"AMQP_URI": client_uri or service_uri, "serializer": "json"}
    # Each command carries its own id (kernel.commands), as the gateway's writes do: a request
    # the broker delivers again, or the client sends again after a transport failure, is
    # answered as the first time. The proxy reads this dict when it publishes a call.
    context: dict = {}
    probe = LivenessProbe(client_uri or service_uri) if liveness else None
    attempts: Counter = Counter()
    with ServiceProcesses(config, directory, liveness=probe) as services, \
            ClusterRpcProxy(client_config, context_data=context, timeout=rpc_timeout) as cluster:
        services.await_ready(cluster)
        started = time.perf_counter()
        deadline = time.monotonic() + stream_timeout
        pending: deque = deque()

        def stalled(why: str) -> StreamStalled:
            return StreamStalled(f"{why}; {sum(outcomes.values())} of {len(commands)} commands answered, "
                                 f"outcomes {dict(outcomes)}, {len(retry)} to retry, service restarts "
                                 f"{dict(services.restarts)}, restarted by the liveness probe "
                                 f"{dict(services.unresponsive)}\n{services.log_tails()}")

        def check_progress():
            services.check_alive()
            if time.monotonic() > deadline:
                raise stalled(f"the stream did not finish within {stream_timeout:.0f} s")

        def collect(item):
            command, reply = item
            try:
                reply.result()
                outcomes["accepted"] += 1
            except EldercareError as error:
                outcomes[f"refused ({error.code})"] += 1
            except Exception as error:  # noqa: BLE001 - the broker failed us: send it again later
                services.check_alive()
                remote = getattr(error, "exc_type", None)        # nameko's RemoteError says what failed there
                outcomes[f"transport ({type(error).__name__}{': ' + remote if remote else ''})"] += 1
                if attempts[command["command_id"]] >= max_attempts:
                    raise stalled(f"command {command['command_id']} ({command['command']}) failed in transport "
                                  f"{max_attempts} times; last: {type(error).__name__}: {error}") from error
                retry.append(command)

        def send(command):
            attempts[command["command_id"]] += 1
            context["command_id"] = command["command_id"]
            pending.append((command, getattr(cluster.registry, command["command"]).call_async(
                command["payload"], ACTOR)))

        for sent, command in enumerate(commands, 1):
            check_progress()
            elder_id = command["payload"]["elder_id"]
            while pending and (len(pending) >= in_flight or any(c["payload"]["elder_id"] == elder_id
                                                                for c, _ in pending)):
                collect(pending.popleft())
            command["command_id"] = f"stream-{sent}"
            send(command)
            if on_progress is not None:
                on_progress(sent)
        while pending:
            collect(pending.popleft())
        while retry:        # in order, one at a time, with its id: one that did land answers as it did
            check_progress()
            send(retry.pop(0))
            collect(pending.popleft())
        retried = sum(attempts.values()) - len(commands)
        accepted_at = time.perf_counter()
        try:
            wait_until_applied(urls, timeout=settle_timeout, services=services)
        except TimeoutError as error:
            raise stalled(str(error)) from error
        converged_at = time.perf_counter()
    return StreamResult(len(commands), accepted_at - started, converged_at - accepted_at, outcomes, retried, urls,
                        services.restarts, services.unresponsive)


def applied_counts(urls: dict) -> tuple[int, int, int]:
    """(registry events, registry events visits subscribes to, visits inbox rows for them)."""
    from sqlalchemy import func, select

    from kernel.db import create_service_engine
    from kernel.schema import events, inbox
    types = visits_subscribed_types()
    registry, visits = create_service_engine(urls["registry"]), create_service_engine(urls["visits"])
    try:
        with registry.connect() as conn:
            total = conn.execute(select(func.count()).select_from(events)).scalar()
            wanted = conn.execute(select(func.count()).select_from(events).where(events.c.type.in_(types))).scalar()
        with visits.connect() as conn:
            applied = conn.execute(select(func.count()).select_from(inbox).where(
                inbox.c.consumer == "visits.on_registry_event")).scalar()
    finally:
        registry.dispose()
        visits.dispose()
    return total, wanted, applied


def wait_until_applied(urls: dict, timeout: float, services: ServiceProcesses | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if services is not None:
            services.check_alive()
        _, wanted, applied = applied_counts(urls)
        if applied >= wanted:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"visits applied {applied} of {wanted} registry events within {timeout:.0f}s")
        time.sleep(0.25)


def bench_cluster(backend_name: str = "sqlite", commands: int = DEFAULT_CLUSTER_COMMANDS):
    """One row: commands/s through a 3-node cluster with quorum queues ("kernel" column) vs a
    single node with classic queues ("baseline" column), the same commands, the same run."""
    from bench.report import Result
    stream = demo_commands(commands)
    results, sizes = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        for label, size, queue_type in (("single", 1, "classic"), ("cluster", 3, "quorum")):
            cluster = LoopbackRabbitCluster(size=size, base=Path(scratch) / label)
            try:
                cluster.start()
                declare_topology(cluster.uri(0), queue_type)
                declare_event_sinks(cluster.uri(0))
                work = Path(scratch) / f"{label}-db"
                work.mkdir()
                results[label] = run_stream(cluster.uri(0), queue_type, work, stream)
                sizes[label] = _bytes_per_event(work, results[label].urls)
            finally:
                cluster.close()
    single, clustered = results["single"], results["cluster"]
    return Result(
        "cluster", backend_name, commands, clustered.seconds, single.seconds,
        kernel_does="registry commands over RPC → registry log → relay → 3-node RabbitMQ cluster, quorum "
                    "queues (replicated to 3 nodes) → visits durable consumer, until every event is applied; "
                    "registry and visits each in its own nameko process",
        baseline_does="the same commands and services through a single RabbitMQ node with classic queues",
        details={"commands/s 3-node quorum": f"{commands / clustered.seconds:,.0f}",
                 "commands/s 1 node classic": f"{commands / single.seconds:,.0f}",
                 "accepted": clustered.outcomes["accepted"],
                 "SQLite bytes/event (registry, visits)": "{}, {}".format(*sizes["cluster"]),
                 "load average": f"{os.getloadavg()[0]:.1f}"})


def _bytes_per_event(directory: Path, urls: dict) -> tuple[int, int]:
    """Database file size (log, indexes, projections, inbox) per event in that service's log."""
    from sqlalchemy import func, select

    from kernel.db import create_service_engine
    from kernel.schema import events
    out = []
    for name in ("registry", "visits"):
        engine = create_service_engine(urls[name])
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                count = conn.execute(select(func.count()).select_from(events)).scalar() or 1
        finally:
            engine.dispose()
        size = sum(p.stat().st_size for p in directory.glob(f"{name}.db*"))
        out.append(size // count)
    return out[0], out[1]
