"""JSON log lines for every process (API, worker, beat), with the request id when there is one."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson
import structlog

_configured = False
_handler: logging.StreamHandler | None = None  # ours, when this process logs on its own


def configure_logging(level: int = logging.INFO, *, own_process: bool = False) -> None:
    """JSON lines on stderr, for structlog and the standard library alike (once per process)."""
    global _configured
    if _configured:
        return
    _configured = True
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    from services.settings import get_settings

    # Under pytest the API runs in the test process: leave pytest's log capture alone there.
    if own_process or get_settings().env != "test":
        global _handler
        root.handlers = [handler]
        root.setLevel(level)
        _handler = handler
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access line carries the request id


def line(logger: logging.Logger, event: str, **fields: object) -> None:
    """One INFO line of `logger`, as structlog renders it, written straight to our handler.

    For the access line of every request: structlog's way through the standard library
    (a LogRecord, the formatter's processors, the JSON encoder) was a fifth of a dashboard
    read's CPU (BENCHMARKS.md, figure 4). Where our handler is not installed (under pytest)
    the line takes the ordinary way.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    if _handler is None:
        structlog.get_logger(logger.name).info(event, **fields)
        return
    record = {
        "event": event,
        **fields,
        **structlog.contextvars.get_contextvars(),
        "level": "info",
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    data = orjson.dumps(record, default=str).decode() + "\n"
    with _handler.lock:  # as StreamHandler.emit holds it
        _handler.stream.write(data)
        _handler.stream.flush()
