"""The API's JSON parser: DRF's, with limits on what a body may hold.

- Depth: a body nested deeper than ``MAX_JSON_DEPTH`` is refused. The JSON decoder
  recurses once per level, so a few thousand levels raise ``RecursionError``; far
  fewer already make every later walk over the data (validation, fingerprinting)
  deep and slow, and no request of this API nests more than a handful of levels.
- NUL: text holding a NUL character (``\\u0000``) is refused, in keys as in values.
  PostgreSQL cannot store it in a text or jsonb column, so it would fail at the
  database instead of at the door.

Both refusals are 400 ``malformed_request``. The size limit is Django's
(``DATA_UPLOAD_MAX_MEMORY_SIZE``, 413 ``request_too_large``), checked when DRF reads
the body.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

MAX_JSON_DEPTH = 32
NUL_ESCAPE = "\\u0000"  # the only way a NUL can appear in strict JSON text


def check_json_value(data: Any, *, refuse_nul: bool = True) -> None:
    """Raise ``ParseError`` when ``data`` (parsed JSON) nests containers more than
    ``MAX_JSON_DEPTH`` deep or (with ``refuse_nul``) holds a string with a NUL
    character.

    Walks with an explicit stack, so a deep value cannot exhaust Python's own."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if refuse_nul and "\x00" in value:
                raise ParseError("Text may not contain a NUL character (\\u0000).")
            continue
        if isinstance(value, Mapping):
            items: Any = value.items()
        elif isinstance(value, list | tuple):
            items = enumerate(value)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ParseError(f"The body nests more than {MAX_JSON_DEPTH} levels deep.")
        for key, item in items:
            if refuse_nul and isinstance(key, str) and "\x00" in key:
                raise ParseError("Text may not contain a NUL character (\\u0000).")
            if isinstance(item, str | Mapping | list | tuple):
                stack.append((item, depth + 1))


def may_need_checking(text: str) -> bool:
    """Whether ``text`` could break a limit: it can nest no deeper than its number of
    opening brackets and hold a NUL only as an escape. Counting is C-speed, so the
    walk runs only for bodies that could fail it."""
    return text.count("{") + text.count("[") > MAX_JSON_DEPTH or NUL_ESCAPE in text


class ApiJSONParser(JSONParser):
    """``application/json`` bodies, refused past the limits above."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        encoding = (parser_context or {}).get("encoding") or settings.DEFAULT_CHARSET
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        parse_constant = json.strict_constant if self.strict else None
        try:
            data = json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:
            raise ParseError(f"The body nests more than {MAX_JSON_DEPTH} levels deep.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if may_need_checking(text):
            check_json_value(data)
        return data
