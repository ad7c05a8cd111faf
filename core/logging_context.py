"""What every log line says about the work it belongs to: the request id, the order, the
API client, the Celery task. Held in a context variable, so each thread (and each
asyncio task) sees its own, and carried from a request into the tasks it causes.

The project wiring binds it: a middleware for each request (``oms.logging``), Celery's
task hooks for each task. An app may add what it knows (``bind(order=number)``). The
outbox copies the part worth carrying (``carried``) into the payload of each event it
writes, and binds it again while a consuming task handles that event
(``core.outbox.handle_events``), whichever process published the event.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from types import MappingProxyType

# The fields a log line shows, in order; "-" when unknown.
FIELDS = ("request_id", "order", "order_id", "api_client", "task", "task_id")
# What travels from a request into the tasks it causes.
CARRIED = ("request_id", "order", "api_client")

Source = Callable[[], Mapping[str, str]]

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "oms_log_context", default=MappingProxyType({})
)
# Fields known only later (a request's API client, once authenticated): read when a
# line is written.
_sources: ContextVar[tuple[Source, ...]] = ContextVar("oms_log_sources", default=())


def current() -> dict[str, str]:
    """The fields bound now."""
    fields: dict[str, str] = {}
    for source in _sources.get():
        fields.update(source())
    fields.update(_context.get())
    return fields


def add_source(source: Source) -> Token[tuple[Source, ...]]:
    """Have ``source()`` add fields to every line until ``remove_source``."""
    return _sources.set((*_sources.get(), source))


def remove_source(token: Token[tuple[Source, ...]]) -> None:
    _sources.reset(token)


def bind(**values: object) -> Token[Mapping[str, str]]:
    """Add fields to the current context (``None`` leaves a field as it is); returns the
    token that ``reset`` takes to bring back the context as it was."""
    merged = {**_context.get()}
    merged.update({key: str(value) for key, value in values.items() if value is not None})
    return _context.set(merged)


def reset(token: Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """Fields bound for the length of a block."""
    token = bind(**values)
    try:
        yield
    finally:
        reset(token)


def carried() -> dict[str, str]:
    """The bound fields that travel into tasks (empty outside a request)."""
    context = current()
    return {key: context[key] for key in CARRIED if key in context}
