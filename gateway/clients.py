"""The gateway's dependencies: RPC clients with a timeout (a service that is down must give
the caller a 503 with a retry hint, not a hung request), the token keyring, settings.

A pooled proxy outlives its broker connection: nameko's standalone proxy never reconnects
("This consumer has been disconnected" for every later call). So a call that fails on the
broker discards its proxy and every proxy pooled before it (they shared the outage), and
is answered as a service that is not running (``BrokerUnavailable``: 503 with Retry-After);
the next request opens a new proxy, which works as soon as the broker is back."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from queue import Empty, LifoQueue

import structlog

from nameko.exceptions import RpcTimeout, UnknownService
from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy

from gateway.auth import (DEFAULT_IDENTITY_CACHE_SECONDS, DEFAULT_KEYRING, IdentityResolver, Keyring,
                          configure_identity)
from kernel.commands import CONTEXT_KEY as COMMAND_ID
from kernel.config import amqp_uri, setting
from kernel.faults import is_broker_fault

log = structlog.get_logger(__name__)

DEFAULT_RPC_TIMEOUT = 10.0


class BrokerUnavailable(UnknownService):
    """The message broker cannot be reached: to the caller, every service is not running
    (the gateway's 503 with Retry-After), not a fault of the gateway (500)."""

    def __init__(self, cause: BaseException):
        super().__init__("(message broker)")
        self.cause = cause

    def __str__(self):
        return f"the message broker is not reachable ({type(self.cause).__name__}: {self.cause})"


def _stop_quietly(proxy) -> None:
    try:
        proxy.stop()
    except Exception:  # noqa: BLE001 - its connection is gone already; nothing to release
        pass


def _start_proxy(proxy_config: dict, timeout: float, **kwargs):
    proxy = ClusterRpcProxy(proxy_config, timeout=timeout, **kwargs)
    try:
        return proxy, proxy.start()
    except Exception as exc:
        _stop_quietly(proxy)
        if is_broker_fault(exc):
            raise BrokerUnavailable(exc) from exc
        raise


class RpcClients(DependencyProvider):
    """A pool of started cluster proxies; each worker borrows one for its whole request."""

    def setup(self):
        config = self.container.config
        self.timeout = float(setting(config, "GATEWAY", "rpc_timeout_seconds", DEFAULT_RPC_TIMEOUT))
        self.proxy_config = {"AMQP_URI": amqp_uri(config), "serializer": "json"}
        self.pool: LifoQueue = LifoQueue()
        self.borrowed: dict = {}
        self._generations = itertools.count(1)
        self.generation = next(self._generations)   # proxies opened before the last broker failure are older

    def _borrow(self):
        while True:
            try:
                proxy, started, context, generation = self.pool.get_nowait()
            except Empty:
                break
            if generation == self.generation:
                return proxy, started, context, generation
            _stop_quietly(proxy)            # opened before the broker failed: its connection is dead too
        # The proxy sends this dict (by reference) as every call's context data.
        context: dict = {}
        proxy, started = _start_proxy(self.proxy_config, self.timeout, context_data=context)
        return proxy, started, context, self.generation

    def discard(self, worker_ctx, borrowed: tuple, error: BaseException, broker_failed: bool = True) -> None:
        """Drop a proxy that failed; on a broker failure, every proxy pooled before it too."""
        if self.borrowed.get(worker_ctx) is borrowed:
            del self.borrowed[worker_ctx]       # the worker's next call opens a new one
        if broker_failed and borrowed[3] == self.generation:
            self.generation = next(self._generations)
            log.warning("RPC connection to the broker broken; the gateway's pooled connections are replaced",
                        error=str(error), error_type=type(error).__name__)
        _stop_quietly(borrowed[0])

    def get_dependency(self, worker_ctx):
        return Clients(self, worker_ctx)

    def worker_teardown(self, worker_ctx):
        borrowed = self.borrowed.pop(worker_ctx, None)
        if borrowed is not None:
            self.pool.put(borrowed)

    def stop(self):
        while True:
            try:
                proxy, _, _, _ = self.pool.get_nowait()
            except Empty:
                break
            _stop_quietly(proxy)


class Clients:
    def __init__(self, provider: RpcClients, worker_ctx):
        self.provider, self.worker_ctx = provider, worker_ctx
        self.command_id: str | None = None      # the request's, for its command (kernel.commands)

    def _borrowed(self):
        borrowed = self.provider.borrowed.get(self.worker_ctx)
        if borrowed is None:
            borrowed = self.provider.borrowed[self.worker_ctx] = self.provider._borrow()
        return borrowed

    def __getitem__(self, service: str):
        borrowed = self._borrowed()
        return _GuardedService(getattr(borrowed[1], service), self, borrowed)

    def _guard(self, borrowed: tuple, call, *args, **kwargs):
        """``call(...)``; a failure on the broker (or a timeout, after which the reply queue
        may hold a stale answer) discards this worker's proxy; a broker failure is raised as
        ``BrokerUnavailable``. A service's answer, refusals included, keeps the proxy."""
        try:
            return call(*args, **kwargs)
        except RpcTimeout as exc:
            self.provider.discard(self.worker_ctx, borrowed, exc, broker_failed=False)
            raise
        except Exception as exc:
            if not is_broker_fault(exc):
                raise
            self.provider.discard(self.worker_ctx, borrowed, exc)
            raise BrokerUnavailable(exc) from exc

    @contextmanager
    def carrying_command_id(self):
        """The calls in this block carry the request's command id, so a service applies the
        command once however often the broker delivers it. Only the command's own call: a
        lookup before it (the jurisdiction check) must not take the id."""
        if self.command_id is None:
            yield
            return
        context = self._borrowed()[2]
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


class _GuardedService:
    """``rpc["registry"]``: its methods called, or started with ``call_async``, through
    ``Clients._guard``."""

    def __init__(self, service, clients: Clients, borrowed: tuple):
        self._service, self._clients, self._borrowed = service, clients, borrowed

    def __getattr__(self, method: str):
        return _GuardedMethod(getattr(self._service, method), self._clients, self._borrowed)


class _GuardedMethod:
    def __init__(self, method, clients: Clients, borrowed: tuple):
        self._method, self._clients, self._borrowed = method, clients, borrowed

    def __call__(self, *args, **kwargs):
        return self._clients._guard(self._borrowed, self._method, *args, **kwargs)

    def call_async(self, *args, **kwargs):
        reply = self._clients._guard(self._borrowed, self._method.call_async, *args, **kwargs)
        return _GuardedReply(reply, self._clients, self._borrowed)


class _GuardedReply:
    def __init__(self, reply, clients: Clients, borrowed: tuple):
        self._reply, self._clients, self._borrowed = reply, clients, borrowed

    def result(self):
        return self._clients._guard(self._borrowed, self._reply.result)


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
        self.proxy_config = {"AMQP_URI": amqp_uri(config), "serializer": "json"}
        self.timeout = timeout
        self.pool: LifoQueue = LifoQueue()

    def __call__(self, method: str, payload: dict):
        try:
            proxy, started = self.pool.get_nowait()
        except Empty:
            proxy, started = _start_proxy(self.proxy_config, self.timeout)
        try:
            answer = getattr(started.accounts, method)(payload)
        except (UnknownService, RpcTimeout):
            # Not a refusal, so not cached: the caller answers 503 and the next request asks again.
            _stop_quietly(proxy)
            raise
        except Exception as error:
            if getattr(error, "code", None) is None:    # not a refusal: the proxy may be broken
                _stop_quietly(proxy)
                if is_broker_fault(error):
                    raise BrokerUnavailable(error) from error
                raise
            self.pool.put((proxy, started))
            raise
        self.pool.put((proxy, started))
        return answer

    def stop(self):
        while True:
            try:
                proxy, _ = self.pool.get_nowait()
            except Empty:
                break
            _stop_quietly(proxy)


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
