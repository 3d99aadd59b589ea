"""No password reaches the log: kombu masks only the first URL of a failover list, and nameko
logs the whole list when it reconnects (seen in the cluster test's logs)."""
import logging

import structlog

from kernel.logging import _mask_passwords, configure_logging, mask_passwords

FAILOVER_LINE = ("Error connecting to broker at amqp://guest:********@127.0.0.1:39781/;"
                 "amqp://eldercare:n3-secret@127.0.0.1:33799/ (ECONNREFUSED).")


def test_every_url_of_a_failover_list_loses_its_password():
    masked = mask_passwords(FAILOVER_LINE)
    assert "n3-secret" not in masked
    assert masked.count("********@") == 2 and "amqp://eldercare:********@127.0.0.1:33799/" in masked
    assert mask_passwords("postgresql://eldercare:s3cr%40t@db.example/registry") == \
        "postgresql://eldercare:********@db.example/registry"


def test_text_without_a_password_is_left_as_it_is():
    for text in ("amqp://127.0.0.1:5672/", "http://example.org:8080/a@b", "mailto:alerts@eldercare.local",
                 "https://user@host/", "elder 410928195605120021 at 2026-10-01T04:00:00Z"):
        assert mask_passwords(text) == text


def test_a_standard_library_line_is_masked_as_it_is_rendered():
    configure_logging()
    formatter = next(handler.formatter for handler in logging.getLogger().handlers
                     if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter))
    record = logging.LogRecord("nameko.messaging", logging.WARNING, __file__, 1, FAILOVER_LINE, None, None)
    rendered = formatter.format(record)
    assert "n3-secret" not in rendered and "amqp://eldercare:********@" in rendered
    assert _mask_passwords(None, "info", {"event": "x", "url": "amqp://a:b@c/"})["url"] == "amqp://a:********@c/"
