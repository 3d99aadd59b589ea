"""A TCP proxy a test can cut and restore: an outage of the PostgreSQL or RabbitMQ behind it,
as its clients see one (connections reset, new ones refused), without stopping the shared
server other work on this machine uses. Runs in the test's process on eventlet (the root
conftest monkey-patches), one greenthread per direction of each connection."""
from __future__ import annotations

import socket

import eventlet


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        with socket.socket() as probe:          # a free port, kept across cuts
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener = None
        self._acceptor = None
        self._open: set = set()
        self._pumps: set = set()
        self.cuts = 0

    def start(self) -> "TcpProxy":
        self._listener = eventlet.listen(("127.0.0.1", self.port), reuse_addr=True)
        self._acceptor = eventlet.spawn(self._accept)
        return self

    def cut(self) -> None:
        """The server is gone: open connections reset, new ones refused (nothing listens)."""
        self.cuts += 1
        if self._acceptor is not None:
            self._acceptor.kill()
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for pump in list(self._pumps):
            pump.kill()
        self._pumps.clear()
        for sock in list(self._open):
            _close(sock)
        self._open.clear()

    def restore(self) -> None:
        self.start()

    close = cut

    def _accept(self):
        while True:
            client, _ = self._listener.accept()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _close(client)
                continue
            self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                pump = eventlet.spawn(self._pump, source, target)
                self._pumps.add(pump)
                pump.link(self._pumps.discard)

    def _pump(self, source, target):
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except (OSError, EOFError):        # EOFError: eventlet's word for a socket closed under a read
            pass
        finally:
            for sock in (source, target):
                self._open.discard(sock)
                _close(sock)


def _close(sock) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
