"""Calling other services over RPC from inside a service (the ledger import calls the
registry; survey campaigns call the registry and notifications): pooled cluster proxies
(``kernel.rpc_pool``: one broken by a broker outage is discarded, and the call raises
``BrokerUnavailable``), and each command call carrying its own command id
(``kernel.commands``) so a repeat is harmless."""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from kernel.commands import CONTEXT_KEY as COMMAND_ID
from kernel.config import amqp_uri, setting
from kernel.rpc_pool import GuardedService, ProxyPool

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
        self.pool = ProxyPool({"AMQP_URI": amqp_uri(config), "serializer": "json"}, self.timeout)
        self.borrowed: dict = {}

    def get_dependency(self, worker_ctx):
        return Calls(self, worker_ctx)

    def _borrow(self, worker_ctx):
        borrowed = self.borrowed.get(worker_ctx)
        if borrowed is None or borrowed.broken:      # broken: the next call opens a new proxy
            borrowed = self.borrowed[worker_ctx] = self.pool.take()
        return borrowed

    def worker_teardown(self, worker_ctx):
        borrowed = self.borrowed.pop(worker_ctx, None)
        if borrowed is not None:
            self.pool.give_back(borrowed)

    def stop(self):
        self.pool.close()

    def kill(self):
        self.stop()


class Calls:
    def __init__(self, provider: ServiceRpc, worker_ctx):
        self.provider, self.worker_ctx = provider, worker_ctx

    def _service(self, service: str):
        borrowed = self.provider._borrow(self.worker_ctx)
        return borrowed, GuardedService(self.provider.pool, borrowed, service)

    def query(self, service: str, method: str, *args):
        """A read: no command id."""
        _, proxy = self._service(service)
        return getattr(proxy, method)(*args)

    def send(self, service: str, method: str, *args, command_id: str):
        """Start one command carrying ``command_id``; ``.result()`` waits for its answer."""
        borrowed, proxy = self._service(service)
        borrowed.context[COMMAND_ID] = command_id
        try:
            return getattr(proxy, method).call_async(*args)
        finally:
            borrowed.context.pop(COMMAND_ID, None)
