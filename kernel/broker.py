"""Is the broker there? One check, with an answer an operator can act on at 3 a.m."""
from __future__ import annotations

import shutil

import kombu


def broker_problem(uri: str, timeout: float = 3.0) -> str | None:
    """None if RabbitMQ accepts a connection at ``uri``; otherwise what is wrong and what to do."""
    try:
        with kombu.Connection(uri, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
        return None
    except Exception as error:  # noqa: BLE001 - every failure gets the same advice
        where = uri.split("@")[-1]
        start = ("start it with:  rabbitmq-server -detached   (then: rabbitmq-plugins enable rabbitmq_management)"
                 if shutil.which("rabbitmq-server") else
                 "install it (Debian: apt-get install rabbitmq-server) and run:  rabbitmq-server -detached")
        return (f"RabbitMQ is not reachable at {where} ({type(error).__name__}: {error}).\n"
                f"  {start}\n  or point the system at another broker:  export AMQP_URI=amqp://user:pass@host:5672/vhost")
