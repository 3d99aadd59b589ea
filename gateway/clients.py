"""The gateway's dependencies: RPC clients with a timeout (a service that is down must give
the caller a 503 with a retry hint, not a hung request), the token keyring, settings.

The RPC proxies are pooled by ``kernel.rpc_pool``: one broken by a broker outage is
discarded, not reused, and the call answers as a service that is not running
(``BrokerUnavailable``, an ``UnknownService``: 503 with Retry-After)."""
from __future__ import annotations

from contextlib import contextmanager

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider

from gateway.auth import (DEFAULT_IDENTITY_CACHE_SECONDS, DEFAULT_KEYRING, IdentityResolver, Keyring,
                          configure_identity)
from kernel.commands import CONTEXT_KEY as COMMAND_ID
from kernel.config import amqp_uri, setting
from kernel.rpc_pool import GuardedService, ProxyPool

DEFAULT_RPC_TIMEOUT = 10.0


class RpcClients(DependencyProvider):
    """A pool of started cluster proxies; each worker borrows one for its whole request."""

    def setup(self):
        config = self.container.config
        self.timeout = float(setting(config, "GATEWAY", "rpc_timeout_seconds", DEFAULT_RPC_TIMEOUT))
        self.pool = ProxyPool({"AMQP_URI": amqp_uri(config), "serializer": "json"}, self.timeout)
        self.borrowed: dict = {}

    def get_dependency(self, worker_ctx):
        return Clients(self, worker_ctx)

    def worker_teardown(self, worker_ctx):
        borrowed = self.borrowed.pop(worker_ctx, None)
        if borrowed is not None:
            self.pool.give_back(borrowed)

    def stop(self):
        self.pool.close()


class Clients:
    def __init__(self, provider: RpcClients, worker_ctx):
        self.provider, self.worker_ctx = provider, worker_ctx
        self.command_id: str | None = None      # the request's, for its command (kernel.commands)

    def _borrowed(self):
        borrowed = self.provider.borrowed.get(self.worker_ctx)
        if borrowed is None or borrowed.broken:      # broken: the next call opens a new proxy
            borrowed = self.provider.borrowed[self.worker_ctx] = self.provider.pool.take()
        return borrowed

    def __getitem__(self, service: str):
        return GuardedService(self.provider.pool, self._borrowed(), service)

    @contextmanager
    def carrying_command_id(self):
        """The calls in this block carry the request's command id, so a service applies the
        command once however often the broker delivers it. Only the command's own call: a
        lookup before it (the jurisdiction check) must not take the id."""
        if self.command_id is None:
            yield
            return
        context = self._borrowed().context
        context[COMMAND_ID] = self.command_id
        try:
            yield
        finally:
            context.pop(COMMAND_ID, None)

    def unanswered(self, services) -> list[str]:
        missing = []
        for service in services:
            try:
                self[service].ping()
            except (UnknownService, RpcTimeout):
                missing.append(service)
        return missing


class TokenKeyring(DependencyProvider):
    def setup(self):
        self.keyring = Keyring(setting(self.container.config, "GATEWAY", "token_keyring", DEFAULT_KEYRING))

    def get_dependency(self, worker_ctx):
        return self.keyring


class GatewayConfig(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return self.container.config


class AccountsCaller:
    """RPC to the accounts service from any greenthread: one started proxy per concurrent
    caller, kept in a pool (a proxy must not be shared by two greenthreads at once), and a
    proxy that failed is dropped, not pooled (after a broker restart it stays broken)."""

    def __init__(self, config: dict, timeout: float):
        self.pool = ProxyPool({"AMQP_URI": amqp_uri(config), "serializer": "json"}, timeout)

    def __call__(self, method: str, payload: dict):
        borrowed = self.pool.take()
        try:
            answer = getattr(GuardedService(self.pool, borrowed, "accounts"), method)(payload)
        except (UnknownService, RpcTimeout) as error:
            # Not a refusal, so not cached: the caller answers 503 and the next request asks again.
            self.pool.discard(borrowed, error, broker_failed=False)
            raise
        except Exception as error:
            if getattr(error, "code", None) is None:    # not a refusal: the proxy may be broken
                self.pool.discard(borrowed, error, broker_failed=False)
                raise
            self.pool.give_back(borrowed)
            raise
        self.pool.give_back(borrowed)
        return answer

    def stop(self):
        self.pool.close()


class Identity(DependencyProvider):
    """Who a session cookie or personal API token belongs to (``gateway.auth``), asked of the
    accounts service and cached for ``GATEWAY.identity_cache_seconds``."""

    def setup(self):
        config = self.container.config
        timeout = float(setting(config, "GATEWAY", "rpc_timeout_seconds", DEFAULT_RPC_TIMEOUT))
        self.caller = AccountsCaller(config, timeout)
        ttl = float(setting(config, "GATEWAY", "identity_cache_seconds", DEFAULT_IDENTITY_CACHE_SECONDS))
        self.resolver = IdentityResolver(self.caller, ttl)
        configure_identity(self.resolver)

    def stop(self):
        configure_identity(None)
        self.caller.stop()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.resolver


class AuthThrottle(DependencyProvider):
    """Failed authentications per client address and per account (``gateway.throttle``),
    counted in this process: ``GATEWAY.auth_failures_per_client`` / ``_per_account`` within
    ``auth_failure_window_seconds``."""

    def setup(self):
        from gateway.throttle import ACCOUNT_FAILURES, CLIENT_FAILURES, WINDOW_SECONDS, FailureThrottle
        config = self.container.config
        self.throttle = FailureThrottle(
            int(setting(config, "GATEWAY", "auth_failures_per_client", CLIENT_FAILURES)),
            int(setting(config, "GATEWAY", "auth_failures_per_account", ACCOUNT_FAILURES)),
            float(setting(config, "GATEWAY", "auth_failure_window_seconds", WINDOW_SECONDS)))

    def get_dependency(self, worker_ctx):
        return self.throttle
