"""An uploaded order file waits on the server between the dry run and the real run: the
session keeps a token and a checksum, never the bytes; a stale, forged or altered file
is not imported."""

import datetime as dt
import os

import pytest
from django.utils import timezone

from orders.import_staging import (
    IMPORT_SESSION_KEY,
    IMPORT_STAGING_DIR,
    IMPORT_STAGING_MAX_AGE,
    StagedImport,
    discard_staged_import,
    stage_import,
    staged_import,
    sweep_staged_imports,
)

CONTENT = b"order_ref,customer_email,sku,quantity\nM-1,pat@example.com,MUG-RED,2\n"


@pytest.fixture
def folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path / IMPORT_STAGING_DIR


def files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_staged_file_comes_back_by_its_token(folder):
    # given
    session: dict = {}

    # when
    token = stage_import(session, content=CONTENT, filename="Orders.CSV", channel="marketplace")

    # then
    assert staged_import(session, token) == StagedImport(
        filename="Orders.CSV", channel="marketplace", content=CONTENT
    )
    assert files(folder) == [f"{token}.csv"]
    assert CONTENT not in repr(session).encode()  # the session holds no bytes


def test_a_forged_token_finds_nothing(folder):
    session: dict = {}
    stage_import(session, content=CONTENT, filename="orders.csv", channel="import")

    assert staged_import(session, "forged") is None
    assert staged_import({}, "anything") is None


def test_a_file_altered_on_the_server_is_not_imported(folder):
    # given
    session: dict = {}
    token = stage_import(session, content=CONTENT, filename="orders.csv", channel="import")

    # when
    (folder / f"{token}.csv").write_bytes(CONTENT.replace(b"2", b"200"))

    # then
    assert staged_import(session, token) is None


def test_a_new_upload_replaces_the_sessions_earlier_one(folder):
    # given
    session: dict = {}
    first = stage_import(session, content=CONTENT, filename="a.csv", channel="import")

    # when
    second = stage_import(session, content=CONTENT, filename="b.csv", channel="import")

    # then
    assert files(folder) == [f"{second}.csv"]
    assert staged_import(session, first) is None


def test_discarding_forgets_and_deletes_the_file(folder):
    # given
    session: dict = {}
    stage_import(session, content=CONTENT, filename="orders.csv", channel="import")

    # when
    discard_staged_import(session)

    # then
    assert IMPORT_SESSION_KEY not in session
    assert files(folder) == []
    discard_staged_import(session)  # nothing left: nothing happens


def test_the_sweep_deletes_only_uploads_older_than_the_limit(folder):
    # given: two uploads of other sessions, one of them abandoned long ago
    old = stage_import({}, content=CONTENT, filename="old.csv", channel="import")
    fresh = stage_import({}, content=CONTENT, filename="fresh.csv", channel="import")
    past = (timezone.now() - IMPORT_STAGING_MAX_AGE - dt.timedelta(minutes=1)).timestamp()
    os.utime(folder / f"{old}.csv", (past, past))

    # when
    sweep_staged_imports(timezone.now())

    # then
    assert files(folder) == [f"{fresh}.csv"]


def test_the_sweep_without_a_staging_folder_does_nothing(folder):
    sweep_staged_imports(timezone.now())

    assert files(folder) == []
