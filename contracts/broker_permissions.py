"""What each process's own broker user may do, derived from the service catalogue: publish only
to its own exchanges, read only its own queues (issue 25). One definition, applied by
``eldercare broker users`` (management API) and written out as the k8s manifests'
``Permission``/``TopicPermission`` resources (``k8s/base/broker-users.yaml``, which a test
holds equal to it).

RabbitMQ checks a resource name against a regex per operation (configure / write / read):
- its own names, ``<service>.…``: the events exchange, its alternate exchange, its parking
  exchange, its consumer and dead-letter queues (declare, bind, publish, consume);
- the RPC exchange ``nameko-rpc`` (declare, publish requests and replies, bind), its own RPC
  queue ``rpc-<service>`` and the reply queues of nameko's RPC clients;
- ``read`` on each exchange it consumes from: binding a queue to an exchange needs it, and
  nothing else does (publishing needs ``write``, which no other service's exchange grants).
Never the default exchange: publishing there reaches any queue by name, which is how the
forged ``elder_died`` of issue 25 got onto ``visits.on_registry_event``.

Topic permissions then tie the routing keys a service publishes on its events exchange to its
own event types (and the checkpoints every sealing log carries).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from contracts.services import PROCESSES, SERVICES, subscriptions
from kernel.checkpoints import CHECKPOINT_EVENT
from kernel.topology import exchange_name

RPC_EXCHANGE = "nameko-rpc"
# nameko's standalone ClusterRpcProxy (kernel.service_rpc, the gateway) names its reply queues
# rpc.reply-standalone_rpc_proxy-<uuid4>: shared by every client, unguessable per queue.
STANDALONE_REPLY_QUEUES = r"rpc\.reply-standalone_rpc_proxy-[0-9a-f-]+"
TOPOLOGY_USER = "eldercare-topology"


@dataclass(frozen=True)
class BrokerPermissions:
    user: str
    configure: str
    write: str
    read: str
    topic_exchange: str          # its own events exchange
    topic_write: str             # routing keys it may publish there
    topic_read: str = ".*"

    def as_management_api(self) -> dict:
        return {"configure": self.configure, "write": self.write, "read": self.read}


def user_name(process: str) -> str:
    return f"eldercare-{process}"


def _alternatives(*patterns: str) -> str:
    return "^(" + "|".join(patterns) + ")$"


def permissions_of(process: str) -> BrokerPermissions:
    own = re.escape(process) + r"\..+"
    rpc = [re.escape(RPC_EXCHANGE), STANDALONE_REPLY_QUEUES]
    if process in SERVICES:              # an RPC server (the gateway is only a client)
        rpc += [re.escape(f"rpc-{process}"), re.escape(f"rpc.reply-{process}-") + "[0-9a-f-]+"]
    consumed = sorted({re.escape(exchange_name(s.source)) for s in subscriptions(process)}) \
        if process in SERVICES else []
    prefixes = sorted({process, CHECKPOINT_EVENT.split(".")[0]})
    return BrokerPermissions(
        user=user_name(process),
        configure=_alternatives(own, *rpc),
        write=_alternatives(own, *rpc),
        read=_alternatives(own, *rpc, *consumed),
        topic_exchange=exchange_name(process),
        topic_write=r"^(" + "|".join(map(re.escape, prefixes)) + r")\.[a-z0-9_]+\.v[0-9]+\.[0-9]{6}$")


def all_permissions() -> list[BrokerPermissions]:
    """One per process (every service and the gateway), in catalogue order."""
    return [permissions_of(name) for name in PROCESSES]


def topology_permissions() -> dict:
    """``eldercare topology`` declares every exchange and queue at deploy. It publishes nothing:
    write is what binding a queue and naming an alternate exchange need, so every events and
    parking exchange, the RPC exchange and the default exchange are left out of it."""
    return {"configure": ".*", "write": r"^(?!amq\.)(?!nameko-rpc$)(?!.*\.(events|parked)$).+$", "read": ".*"}
