"""An uploaded order file waits on the server between the import's dry run and its
real run: the browser sends back only a token, never the file.

The session (``session``: a request's ``request.session``) remembers which file, for
which channel, with its checksum; the bytes are kept in the default storage under
``IMPORT_STAGING_DIR``. A file whose dry run was never confirmed is deleted after
``IMPORT_STAGING_MAX_AGE``, when the next upload sweeps the directory.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.crypto import constant_time_compare

IMPORT_STAGING_DIR = "order-imports"
IMPORT_SESSION_KEY = "orders_import"
IMPORT_STAGING_MAX_AGE = dt.timedelta(days=1)


@dataclass(frozen=True)
class StagedImport:
    filename: str
    channel: str
    content: bytes


def sweep_staged_imports(now: dt.datetime) -> None:
    """Delete uploads whose dry run was never confirmed."""
    try:
        _, names = default_storage.listdir(IMPORT_STAGING_DIR)
    except (OSError, NotImplementedError):
        return
    for name in names:
        staged = f"{IMPORT_STAGING_DIR}/{name}"
        try:
            if default_storage.get_modified_time(staged) < now - IMPORT_STAGING_MAX_AGE:
                default_storage.delete(staged)
        except (OSError, NotImplementedError):
            continue


def discard_staged_import(session: MutableMapping[str, Any]) -> None:
    """Forget the session's staged file and delete it."""
    staged = session.pop(IMPORT_SESSION_KEY, None)
    if isinstance(staged, dict) and staged.get("path"):
        with contextlib.suppress(OSError):
            default_storage.delete(staged["path"])


def stage_import(
    session: MutableMapping[str, Any], *, content: bytes, filename: str, channel: str
) -> str:
    """Keep the uploaded bytes for the confirm step, replacing the session's earlier
    upload; returns the token the confirm step posts back."""
    discard_staged_import(session)
    sweep_staged_imports(timezone.now())
    token = uuid.uuid4().hex
    suffix = PurePath(filename).suffix.lower()
    saved = default_storage.save(f"{IMPORT_STAGING_DIR}/{token}{suffix}", ContentFile(content))
    session[IMPORT_SESSION_KEY] = {
        "token": token,
        "path": saved,
        "filename": filename,
        "channel": channel,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    return token


def staged_import(session: MutableMapping[str, Any], token: str) -> StagedImport | None:
    """The file staged under ``token`` in this session, if it is still there unchanged."""
    staged = session.get(IMPORT_SESSION_KEY)
    if not isinstance(staged, dict) or not constant_time_compare(staged.get("token", ""), token):
        return None
    try:
        with default_storage.open(staged["path"], "rb") as handle:
            content = handle.read()
    except OSError:
        return None
    if hashlib.sha256(content).hexdigest() != staged.get("sha256"):
        return None
    return StagedImport(filename=staged["filename"], channel=staged["channel"], content=content)
