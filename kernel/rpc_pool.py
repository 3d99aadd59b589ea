"""A pool of started nameko cluster proxies that survives broker outages, for every caller
that makes RPC calls from inside a process (the gateway, ``kernel.service_rpc``).

A proxy must not be shared by two greenthreads at once, so each borrower takes one. A
pooled proxy outlives its broker connection: nameko's standalone proxy never reconnects
("This consumer has been disconnected" for every later call, 15 minutes after the broker
came back). So a call that fails on the broker discards its proxy and every proxy pooled
before it (they shared the outage), and raises ``BrokerUnavailable`` — to callers, a
service that is not running (the gateway's 503 with Retry-After). The next borrower opens
a new proxy, which works as soon as the broker is back."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from queue import Empty, LifoQueue

import structlog
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from kernel.faults import is_broker_fault

log = structlog.get_logger(__name__)


class BrokerUnavailable(UnknownService):
    """The message broker cannot be reached: every service is as good as not running."""

    def __init__(self, cause: BaseException):
        super().__init__("(message broker)")
        self.cause = cause

    def __str__(self):
        return f"the message broker is not reachable ({type(self.cause).__name__}: {self.cause})"


@dataclass(eq=False)
class Borrowed:
    proxy: ClusterRpcProxy
    cluster: object                  # the started proxy: ``cluster.<service>.<method>(...)``
    context: dict                    # sent by reference as every call's context data
    generation: int
    broken: bool = field(default=False)


def _stop_quietly(proxy) -> None:
    try:
        proxy.stop()
    except Exception:  # noqa: BLE001 - its connection is gone already; nothing to release
        pass


class ProxyPool:
    def __init__(self, proxy_config: dict, timeout: float):
        self.proxy_config, self.timeout = proxy_config, timeout
        self._idle: LifoQueue = LifoQueue()
        self._generations = itertools.count(1)
        self.generation = next(self._generations)   # proxies opened before the last broker failure are older

    def take(self) -> Borrowed:
        while True:
            try:
                borrowed = self._idle.get_nowait()
            except Empty:
                break
            if borrowed.generation == self.generation:
                return borrowed
            _stop_quietly(borrowed.proxy)          # opened before the broker failed: dead too
        context: dict = {}
        proxy = ClusterRpcProxy(self.proxy_config, context_data=context, timeout=self.timeout)
        try:
            cluster = proxy.start()
        except Exception as exc:
            _stop_quietly(proxy)
            if is_broker_fault(exc):
                raise BrokerUnavailable(exc) from exc
            raise
        return Borrowed(proxy, cluster, context, self.generation)

    def give_back(self, borrowed: Borrowed) -> None:
        if not borrowed.broken:
            self._idle.put(borrowed)

    def discard(self, borrowed: Borrowed, error: BaseException, broker_failed: bool = True) -> None:
        """Drop a proxy that failed; on a broker failure, every proxy pooled before it too."""
        if borrowed.broken:
            return
        borrowed.broken = True
        if broker_failed and borrowed.generation == self.generation:
            self.generation = next(self._generations)
            log.warning("RPC connection to the broker broken; pooled RPC connections are replaced",
                        error=str(error), error_type=type(error).__name__)
        _stop_quietly(borrowed.proxy)

    def call(self, borrowed: Borrowed, function, *args, **kwargs):
        """``function(...)`` on ``borrowed``'s proxy. A broker failure discards the proxy and
        raises ``BrokerUnavailable``; a timeout discards it too (its reply queue may hold the
        late answer); a service's answer, a refusal included, keeps it."""
        try:
            return function(*args, **kwargs)
        except RpcTimeout as exc:
            self.discard(borrowed, exc, broker_failed=False)
            raise
        except Exception as exc:
            if not is_broker_fault(exc):
                raise
            self.discard(borrowed, exc)
            raise BrokerUnavailable(exc) from exc

    def close(self) -> None:
        while True:
            try:
                borrowed = self._idle.get_nowait()
            except Empty:
                break
            _stop_quietly(borrowed.proxy)


class GuardedService:
    """``cluster.<service>`` whose calls, and ``call_async`` replies, go through ``ProxyPool.call``."""

    def __init__(self, pool: ProxyPool, borrowed: Borrowed, service: str):
        self._pool, self._borrowed, self._service = pool, borrowed, getattr(borrowed.cluster, service)

    def __getattr__(self, method: str):
        return GuardedMethod(self._pool, self._borrowed, getattr(self._service, method))


class GuardedMethod:
    def __init__(self, pool: ProxyPool, borrowed: Borrowed, method):
        self._pool, self._borrowed, self._method = pool, borrowed, method

    def __call__(self, *args, **kwargs):
        return self._pool.call(self._borrowed, self._method, *args, **kwargs)

    def call_async(self, *args, **kwargs):
        reply = self._pool.call(self._borrowed, self._method.call_async, *args, **kwargs)
        return GuardedReply(self._pool, self._borrowed, reply)


class GuardedReply:
    def __init__(self, pool: ProxyPool, borrowed: Borrowed, reply):
        self._pool, self._borrowed, self._reply = pool, borrowed, reply

    def result(self):
        return self._pool.call(self._borrowed, self._reply.result)
