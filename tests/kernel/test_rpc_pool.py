"""Pooled RPC proxies across a broker outage (kernel.rpc_pool, used by the gateway and
kernel.service_rpc): the broker is reached through a proxy the test cuts and restores."""
from urllib.parse import urlparse

import pytest
from nameko.exceptions import UnknownService
from nameko.rpc import rpc

from kernel.rpc_pool import BrokerUnavailable, GuardedService, ProxyPool
from tests.tcp_proxy import TcpProxy


class Echo:
    name = "echo"

    @rpc
    def ping(self):
        return "pong"


@pytest.fixture
def cut_broker(rabbit_config):
    broker = urlparse(rabbit_config["AMQP_URI"])
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672).start()
    credentials = broker.netloc.rpartition("@")[0]
    yield proxy, broker._replace(netloc=f"{credentials}@127.0.0.1:{proxy.port}").geturl()
    proxy.close()


def test_proxies_broken_by_the_broker_are_discarded_and_the_pool_recovers(rabbit_config, container_factory,
                                                                          cut_broker):
    container_factory(Echo, rabbit_config).start()          # the service itself keeps its broker
    proxy, uri = cut_broker
    pool = ProxyPool({"AMQP_URI": uri, "serializer": "json"}, timeout=5)
    first, second = pool.take(), pool.take()
    assert GuardedService(pool, first, "echo").ping() == GuardedService(pool, second, "echo").ping() == "pong"
    pool.give_back(first)
    pool.give_back(second)

    proxy.cut()
    taken = pool.take()
    with pytest.raises(BrokerUnavailable) as away:
        GuardedService(pool, taken, "echo").ping()
    assert isinstance(away.value, UnknownService) and "not reachable" in str(away.value)
    assert taken.broken
    pool.give_back(taken)                                   # not pooled again
    with pytest.raises(BrokerUnavailable):
        pool.take()            # the other pooled proxy shared the outage: dropped; a new one cannot connect yet

    proxy.restore()
    fresh = pool.take()
    assert fresh not in (first, second) and GuardedService(pool, fresh, "echo").ping.call_async().result() == "pong"
    pool.give_back(fresh)
    assert pool.take() is fresh                             # a working proxy is reused
    pool.close()
