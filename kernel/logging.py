"""structlog, configured once per process.

JSON lines when stdout is not a terminal (a log shipper reads them), coloured console
otherwise. Every line carries the context bound for the current worker: service,
entrypoint, call and correlation ids, and the stream/elder id where a handler bound one.
Standard-library loggers (nameko, kombu, alembic) go through the same renderer.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import warnings

import structlog

from kernel.diagnostics import install_stack_dump_signal

_configured = False
_process_service: str | None = None


def _add_service(_logger, _method, event_dict):
    # Worker greenthreads start with empty contextvars; the process's service name is global.
    if _process_service and "service" not in event_dict:
        event_dict["service"] = _process_service
    return event_dict


# user:password@ in a URL. kombu masks only the first URL of a failover list
# ("amqp://guest:****@n1;amqp://guest:guest@n3"), and nameko logs that list when it reconnects.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s;]*:)(?!\*{8}@)[^@\s;/]+(@)")
MASKED = "********"


def mask_passwords(text: str) -> str:
    """Every URL's password replaced by ``********``."""
    return _URL_PASSWORD.sub(lambda found: f"{found.group(1)}{MASKED}{found.group(2)}", text)


def _mask_passwords(_logger, _method, event_dict):
    for key, value in event_dict.items():
        if isinstance(value, str) and "://" in value:
            event_dict[key] = mask_passwords(value)
    return event_dict


class _ExpectedErrorsWithoutTraceback(logging.Filter):
    """nameko logs every exception a worker raises with its traceback. A refused command
    (an EldercareError: validation, not found, conflict) is an answer to the caller, so its
    line keeps the message and loses the traceback and the error level."""

    def filter(self, record: logging.LogRecord) -> bool:
        from kernel.errors import EldercareError
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, EldercareError):
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def configure_logging(service: str | None = None, *, json_output: bool | None = None,
                      level: str | None = None) -> None:
    global _configured, _process_service
    if service:
        _process_service = service
    if _configured:
        return
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    level_name = (level or os.environ.get("LOG_LEVEL", "INFO")).upper()
    choice = os.environ.get("LOG_FORMAT", "auto")
    if json_output is None:
        json_output = choice == "json" or (choice == "auto" and not sys.stderr.isatty())
    shared = [
        structlog.contextvars.merge_contextvars,
        _add_service,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        _mask_passwords,
    ]
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if json_output
                else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=shared + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so structlog.testing.capture_logs() sees every logger in tests.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *( [structlog.processors.format_exc_info] if json_output else []),
                    renderer])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level_name)
    logging.getLogger("nameko.containers").addFilter(_ExpectedErrorsWithoutTraceback())
    for noisy in ("kombu", "amqp", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    install_stack_dump_signal()      # `kill -USR2 <pid>`: every greenthread's stack to this log
    _configured = True


def bind(**values) -> None:
    """Add context (e.g. ``elder_id``) to every later log line of this worker."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})
