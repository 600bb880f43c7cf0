"""Logging: configured once, every record carries the request id, no personal data.

Modules log through ``logging.getLogger(__name__)``. The request id of the
request being served lives in a context variable set by the middleware; a
filter copies it onto every record, so that it appears in every line without
being passed around. What is logged is chosen so that no client id, comment,
key or request body ever reaches a log line: routes are logged by their
template (``/v1/decisions/{decision_id}``), errors by their kind and field
paths, never by value.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Final

request_id_var: ContextVar[str] = ContextVar("polku_request_id", default="-")

FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_NAME: Final = "polku"
# Loggers that stay at WARNING whatever POLKU_LOG_LEVEL says: SQLAlchemy's
# engine logs every statement at INFO and every result row (client ids,
# comments, key hashes) at DEBUG once the root logger is that verbose.
PINNED_LEVELS: Final = {"sqlalchemy.engine": "WARNING", "sqlalchemy.pool": "WARNING"}


_factory_installed = False


def bind_request_ids() -> None:
    """Give every log record a ``request_id`` attribute (idempotent; a record factory).

    A factory rather than a handler filter, so that the id is on records
    whatever handlers the process configured (uvicorn's, pytest's, ours).
    """
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = request_id_var.get()
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


class RequestIdFilter(logging.Filter):
    """Put the current request id on every record as ``record.request_id``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """Configure the root logger once (idempotent): one stream handler with the request id."""
    root = logging.getLogger()
    if any(getattr(h, "name", None) == _HANDLER_NAME for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler()
    handler.name = _HANDLER_NAME
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, pinned in PINNED_LEVELS.items():
        logging.getLogger(name).setLevel(pinned)
    # uvicorn's access log would print raw paths and query strings; ours logs route templates.
    logging.getLogger("uvicorn.access").disabled = True


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The same configuration for uvicorn's `log_config` (applied in every worker)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"polku": {"format": FORMAT}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "polku",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"level": "INFO"},
            "uvicorn.error": {"level": "INFO"},
            # raw paths and query strings; our middleware logs route templates instead
            "uvicorn.access": {"level": "CRITICAL", "propagate": False, "handlers": []},
            **{name: {"level": pinned} for name, pinned in PINNED_LEVELS.items()},
        },
    }
