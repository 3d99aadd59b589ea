"""A real 3-node RabbitMQ cluster on loopback, quorum queues, and nodes killed (SIGKILL) in the
middle of a stream of registry commands: every command lands once, every event reaches visits
exactly once, and every projection equals a replay of its log.

Set-up (bench/cluster_load.py): three RabbitMQ nodes, separate Erlang VMs with their own names,
ports and data directories, joined with `rabbitmqctl join_cluster`. The consumer queues are
quorum queues declared through node 2, so node 2 leads them. The registry and visits services
run as separate `nameko run` processes, as in production, connected to node 1 with node 3 as
kombu's failover (`amqp://n1;amqp://n3`). The RPC client stands for the gateway: it is
connected to node 3 and sends several commands at once (one per elder at a time).

The stream, CLUSTER_TEST_COMMANDS demo-county commands (default 10,000, the issue's size):
1. at 1/4, node 2 is killed: the quorum queues lose their leader and elect one on node 1 or 3
   while the relays publish and visits consumes;
2. at 1/2, node 2 is started again and rejoins; its replicas catch up;
3. at 3/4, node 1 is killed: the node every service is connected to. The relays, visits'
   consumer and nameko's RPC consumers lose their connections and fail over to node 3.
   (nameko itself does not: see below.)

What that needs, and what it shows (measured on RabbitMQ 3.10, nameko 2.14.1):
- nameko's RPC queues (`rpc-registry`, `rpc-visits`) are classic queues, on one node. Here they
  are declared first through node 3, so they outlive node 1. Had they been on node 1, RPC to the
  service would stop until node 1 came back: nameko's re-declaration on node 3 is refused
  ("404 NOT_FOUND - home node ... of durable queue 'rpc-registry' ... is down or inaccessible",
  seen on a 3-node cluster here). RabbitMQ 3.10 cannot make them quorum queues, since nameko declares them
  without `x-queue-type` and a quorum queue of the same name is then refused (406). From 3.13, a
  vhost whose default queue type is quorum makes nameko's own declaration a quorum queue
  (k8s/README.md).
- nameko 2.14.1 does not survive losing its node in-process. It acks an RPC request after the
  worker has replied; on the dead connection `message.ack()` raises ConnectionResetError or
  BrokenPipeError, and `QueueConsumer.ack_message` catches only `amqp.exceptions.ConnectionError`,
  which those are not: the container dies and `nameko run` exits. It happens when a worker
  finishes at that moment: about one run in two here. `kernel/nameko_fixes.py` ignores that
  failed ack (the broker redelivers) and makes the consumer reconnect at its next iteration;
  ignoring it alone left the RPC consumer deaf on a connection that delivered nothing (2 runs
  of 3, and CI's hang at stop 14). Like a Deployment, the harness still starts a process that
  exits again (`result.restarts` counts it), and it connects to node 3. Like the Deployment's
  livenessProbe (k8s/base/services), it also kills and restarts a process that is running but
  has stopped answering `ping`, after writing its greenthreads' stacks to its log
  (`result.unresponsive` counts those, and the test requires none). The stream is bounded: a
  command that keeps failing in transport, or a stream that does not end in time, fails the
  test with the services' logs (`StreamStalled`) instead of hanging it.
- RPC requests are therefore delivered at least once: the requests the registry was finishing
  come back from `rpc-registry`. Each command of the stream carries its own command id
  (`kernel.commands`, as every write through the gateway does), so a request delivered again,
  or sent again by the client after a transport failure, gets its first answer and appends
  nothing. Only a second delivery racing the first (both running before either commits) is
  refused by the domain, as a duplicate, and the client gets that refusal for a command that had
  landed. The test requires every command to have landed exactly once, refused or not. The
  demo stream sends every elder's first command (8,343 registrations of 10,000), then every
  elder's second, so the faults fall among registrations; a repeated `assess_self_care` is
  covered by the same command id (tests/kernel/test_commands.py, tests/gateway/test_api.py).

Time: the cluster takes 20-70 s to start. The stream costs about 44 ms of CPU per command over
all processes (registry 16, visits 13.5, three broker nodes 11, client 3), so 10,000 commands
need at least 220 s on two idle cores: about 4.5-5 minutes for the whole test. Measured here,
with other engineers' suites holding the load average at 4-8: 5 min 19 s, and 8 min 42 s once
the dashboard counts had been added. Run just this test with `bin/test -m cluster`, leave it
out with `-m "not cluster"`; CLUSTER_TEST_COMMANDS=2000 makes a quick run.
"""
import os
from collections import Counter

import eventlet
import pytest
from sqlalchemy import select

from bench.cluster_load import (LoopbackRabbitCluster, declare_event_sinks, declare_rpc_queues, declare_topology,
                                demo_commands, rabbitmq_available, run_stream, visits_subscribed_types)
from contracts import CATALOGUE
from kernel.db import create_service_engine
from kernel.diagnostics import greenthread_stacks
from kernel.personal import open_text
from kernel.replay import replay_and_compare
from kernel.schema import events, inbox
from services.registry.service import RegistryService
from services.visits.service import VisitsService

COMMANDS = int(os.environ.get("CLUSTER_TEST_COMMANDS", "10000"))
TIMEOUT_SECONDS = 900       # 522 s seen at load 7-8 on 2 cores
pytestmark = [pytest.mark.cluster, pytest.mark.timeout(TIMEOUT_SECONDS)]
VISITS_QUEUE = "visits.on_registry_event"
# The event each command of the demo stream records, and what tells two of them apart.
FACT_OF = {"register_elder": ("registry.elder_registered.v1", ()),
           "assess_self_care": ("registry.self_care_assessed.v1", ("effective_date", "level")),
           "record_supporter_left": ("registry.supporter_left.v1", ("effective_date", "supporter_id")),
           "record_supporter_returned": ("registry.supporter_returned.v1", ("effective_date", "supporter_id")),
           "record_hospitalisation": ("registry.elder_hospitalised.v1", ("effective_date", "hospital")),
           "record_death": ("registry.elder_died.v1", ("effective_date",))}


@pytest.fixture(autouse=True)
def stacks_before_the_timeout(request):
    """pytest-timeout ends a hung test with os._exit, after printing the OS threads' stacks; this
    test's own work runs in greenthreads, which that does not show. A minute before, write
    theirs where the run's output shows them (capture suspended, as pytest-timeout does)."""
    def write_stacks():
        request.config.pluginmanager.getplugin("capturemanager").suspend_global_capture(in_=True)
        request.config.get_terminal_writer().write(
            f"\n=== {request.node.name} has run {TIMEOUT_SECONDS - 60} s, 60 s before its timeout: "
            f"its greenthreads ===\n{greenthread_stacks()}\n")
    timer = eventlet.spawn_after(TIMEOUT_SECONDS - 60, write_stacks)
    yield
    timer.cancel()


@pytest.fixture
def cluster(tmp_path):
    if not rabbitmq_available():
        pytest.skip("rabbitmq-server is not installed (Debian: apt-get install rabbitmq-server)")
    cluster = LoopbackRabbitCluster(size=3, base=tmp_path / "rabbit")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()           # stops every node and removes their directories, even on failure
    assert not (tmp_path / "rabbit").exists()


def _rows(url, statement):
    engine = create_service_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(statement).all()
    finally:
        engine.dispose()


def _key(command: dict) -> tuple:
    event_type, fields = FACT_OF[command["command"]]
    return (command["payload"]["elder_id"], event_type, *(str(command["payload"][f]) for f in fields))


def _landed(registry_url: str) -> Counter:
    """How many times each command's fact was recorded, keyed as ``_key`` keys a command."""
    wanted = {event_type: fields for event_type, fields in FACT_OF.values()}
    engine = create_service_engine(registry_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(events.c.event_id, events.c.stream_id, events.c.type, events.c.data)
                                .where(events.c.type.in_(wanted))).all()
            facts = [(row.stream_id, row.type, open_text(conn, row.data, row.event_id, row.type)) for row in rows]
    finally:
        engine.dispose()
    return Counter((stream_id, type_, *(str(data[f]) for f in wanted[type_])) for stream_id, type_, data in facts)


def test_nodes_killed_mid_stream_lose_nothing_and_apply_nothing_twice(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_LEVEL", os.environ.get("CLUSTER_TEST_LOG_LEVEL", "WARNING"))
    n1, n2, n3 = (node.name for node in cluster.nodes)
    assert set(cluster.running_nodes()) == {n1, n2, n3}
    declare_topology(cluster.uri(1), "quorum")
    declare_rpc_queues(cluster.uri(2))
    declare_event_sinks(cluster.uri(2))
    assert cluster.queue_leaders()[VISITS_QUEUE] == ("quorum", n2)

    commands = demo_commands(COMMANDS)
    assert len({_key(c) for c in commands}) == len(commands), "two commands of the stream record the same fact"
    seen = {}

    def restart_node_2():
        seen["leader without node 2"] = cluster.queue_leaders(via=2)[VISITS_QUEUE]
        cluster.restart(1)
        seen["running after the restart"] = set(cluster.running_nodes(via=2))

    restarting = []

    def faults(sent):
        if sent == len(commands) // 4:
            cluster.kill(1)                                     # the quorum queues' leader
        elif sent == len(commands) // 2:
            restarting.append(eventlet.spawn(restart_node_2))  # the stream goes on meanwhile
        elif sent == 3 * len(commands) // 4:
            restarting[0].wait()
            cluster.kill(0)                                     # the node the services are connected to

    work = tmp_path / "databases"
    work.mkdir()
    # Bounded below the test's own timeout: pytest-timeout ends a hung test with os._exit, which
    # takes the rest of the suite with it; StreamStalled fails this test alone, with the logs.
    result = run_stream(cluster.failover_uri(0, 2), "quorum", work, commands, client_uri=cluster.uri(2),
                        on_progress=faults, stream_timeout=480, settle_timeout=120)
    print(f"\n{len(commands)} commands: accepted in {result.seconds_to_accept:.1f} s, visits caught up "
          f"{result.seconds_to_converge:.1f} s later; outcomes {dict(result.outcomes)}; "
          f"retried after a broker error: {result.retried}; service restarts {dict(result.restarts)} "
          f"(of which by the liveness probe: {dict(result.unresponsive)}); {seen}")

    # No service went deaf: the liveness probe had none to restart (kernel/nameko_fixes.py).
    assert not result.unresponsive, f"restarted for not answering ping: {dict(result.unresponsive)}"

    # Node 2's loss moved the leadership to a survivor; it came back; node 1 is gone now, and
    # the queues live on, led by node 2 or 3.
    assert seen["leader without node 2"][0] == "quorum" and seen["leader without node 2"][1] in {n1, n3}
    assert seen["running after the restart"] == {n1, n2, n3}
    assert set(cluster.running_nodes(via=2)) == {n2, n3}
    leader = cluster.queue_leaders(via=2)[VISITS_QUEUE]
    assert leader[0] == "quorum" and leader[1] in {n2, n3}

    # Nothing lost and nothing applied twice in the registry: every command's fact is in the
    # log exactly once. So a refused command is one that had landed (delivered again): one
    # refused for any other reason would be missing from the log.
    landed = _landed(result.urls["registry"])
    counts = Counter(landed[_key(c)] for c in commands)
    assert counts == Counter({1: len(commands)}), f"commands by times recorded: {dict(counts)}"

    # Every registry event visits subscribes to was applied by visits exactly once.
    published = {row.event_id for row in _rows(result.urls["registry"], select(events.c.event_id).where(
        events.c.type.in_(visits_subscribed_types())))}
    applied = [row.event_id for row in _rows(result.urls["visits"], select(inbox.c.event_id).where(
        inbox.c.consumer == VISITS_QUEUE))]
    assert len(applied) == len(set(applied))
    assert set(applied) == published
    assert len(published) > len(commands) // 4            # the stream exercised visits

    # Nothing applied twice downstream either: no visits event derived twice from one cause.
    derived = Counter((row.stream_id, row.type, row.causation_id) for row in _rows(
        result.urls["visits"], select(events.c.stream_id, events.c.type, events.c.causation_id)
        .where(events.c.causation_id.is_not(None))))
    assert not [key for key, count in derived.items() if count > 1]

    # Every projection equals a replay of its service's log.
    config = {"DATABASES": result.urls}
    for name, service in (("registry", RegistryService), ("visits", VisitsService)):
        engine = create_service_engine(result.urls[name])
        try:
            replayed, drifts = replay_and_compare(name, engine, service.db.projections_for(config), CATALOGUE,
                                                  scratch_dir=str(tmp_path))
        finally:
            engine.dispose()
        assert replayed > 0
        assert drifts == [], f"{name}: {[d.to_dict() for d in drifts[:5]]}"
