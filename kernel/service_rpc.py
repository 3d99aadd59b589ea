"""Calling other services over RPC from inside a service (the ledger import calls the
registry; survey campaigns call the registry and notifications): pooled cluster proxies, and
each command call carrying its own command id (``kernel.commands``) so a repeat is harmless."""
from __future__ import annotations

from queue import Empty, LifoQueue

from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from kernel.commands import CONTEXT_KEY as COMMAND_ID
from kernel.config import amqp_uri, setting

DEFAULT_TIMEOUT = 120.0


class ServiceRpc(DependencyProvider):
    """A pool of started cluster proxies; a worker borrows one for its whole run, so two
    workers never read one proxy's reply queue at once. ``section``: the config section whose
    ``rpc_timeout_seconds`` bounds each call."""

    def __init__(self, section: str):
        self.section = section

    def setup(self):
        config = self.container.config
        self.timeout = float(setting(config, self.section, "rpc_timeout_seconds", DEFAULT_TIMEOUT))
        self.proxy_config = {"AMQP_URI": amqp_uri(config), "serializer": "json"}
        self.pool: LifoQueue = LifoQueue()
        self.borrowed: dict = {}

    def get_dependency(self, worker_ctx):
        return Calls(self, worker_ctx)

    def _borrow(self, worker_ctx):
        if worker_ctx not in self.borrowed:
            try:
                self.borrowed[worker_ctx] = self.pool.get_nowait()
            except Empty:
                context: dict = {}        # sent by reference as every call's context data
                proxy = ClusterRpcProxy(self.proxy_config, context_data=context, timeout=self.timeout)
                self.borrowed[worker_ctx] = (proxy, proxy.start(), context)
        return self.borrowed[worker_ctx]

    def worker_teardown(self, worker_ctx):
        borrowed = self.borrowed.pop(worker_ctx, None)
        if borrowed is not None:
            self.pool.put(borrowed)

    def stop(self):
        while True:
            try:
                proxy, _, _ = self.pool.get_nowait()
            except Empty:
                break
            proxy.stop()

    def kill(self):
        self.stop()


class Calls:
    def __init__(self, provider: ServiceRpc, worker_ctx):
        self.provider, self.worker_ctx = provider, worker_ctx

    def query(self, service: str, method: str, *args):
        """A read: no command id."""
        _, cluster, _ = self.provider._borrow(self.worker_ctx)
        return getattr(getattr(cluster, service), method)(*args)

    def send(self, service: str, method: str, *args, command_id: str):
        """Start one command carrying ``command_id``; ``.result()`` waits for its answer."""
        _, cluster, context = self.provider._borrow(self.worker_ctx)
        context[COMMAND_ID] = command_id
        try:
            return getattr(getattr(cluster, service), method).call_async(*args)
        finally:
            context.pop(COMMAND_ID, None)
