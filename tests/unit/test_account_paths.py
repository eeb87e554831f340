"""Where each linked account's WhatsApp files live: account 1 where a single-account
install kept them, account N>1 under DATA_DIR/whatsapp/accounts/N; and whether a store
holds the account's device."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from whatsapp.session import (
    DeviceChoice,
    account_paths,
    choose_device,
    is_paired,
    session_store,
)

PG = "postgresql://postgres@127.0.0.1:5432/x"


def test_account_one_keeps_the_single_account_paths(tmp_path: Path) -> None:
    one = account_paths(tmp_path, 1)
    assert one == account_paths(tmp_path)
    assert one.journal_dir == tmp_path / "whatsapp" / "journal"
    assert one.session_store_file == tmp_path / "whatsapp" / "session.db"
    assert one.media_dir == tmp_path / "media"
    assert session_store(tmp_path) == str((tmp_path / "whatsapp" / "session.db").resolve())
    assert session_store(tmp_path, None, 1) == session_store(tmp_path)


def test_other_accounts_live_under_their_id(tmp_path: Path) -> None:
    two, three = account_paths(tmp_path, 2), account_paths(tmp_path, 3)
    assert two.journal_dir == tmp_path / "whatsapp" / "accounts" / "2" / "journal"
    assert two.session_store_file == tmp_path / "whatsapp" / "accounts" / "2" / "session.db"
    assert three.session_store_file.parent.name == "3"
    assert two.media_dir == three.media_dir == tmp_path / "media"  # shared, named per message
    stores = {session_store(tmp_path, None, n) for n in (1, 2, 3)}
    assert len(stores) == 3
    # On PostgreSQL every account shares the URL: the devices are told apart in neonize.
    assert {session_store(tmp_path, PG, n) for n in (1, 2, 3)} == {PG}


@pytest.mark.parametrize("bad", [0, -1, True, "2", 1.0])
def test_an_account_id_is_a_positive_integer(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ValueError):
        account_paths(tmp_path, bad)  # type: ignore[arg-type]


def test_made_directories_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        paths = account_paths(tmp_path / "data", 2).create()
    finally:
        os.umask(old)
    for d in (
        tmp_path / "data",
        tmp_path / "data" / "whatsapp",
        tmp_path / "data" / "whatsapp" / "accounts",
        paths.session_store_file.parent,
        paths.journal_dir,
    ):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
    assert account_paths(tmp_path / "data", 2).create() == paths  # again: no error


def _device_store(path: Path, *jids: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE whatsmeow_device (jid TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO whatsmeow_device VALUES (?)", [(j,) for j in jids])
    conn.commit()
    conn.close()


def test_each_sqlite_store_answers_for_its_own_account(tmp_path: Path) -> None:
    _device_store(account_paths(tmp_path, 2).session_store_file, "15550002222:3@s.whatsapp.net")
    assert not is_paired(session_store(tmp_path, None, 1), 1)
    assert is_paired(session_store(tmp_path, None, 2), 2)
    assert not is_paired(session_store(tmp_path, None, 3), 3)


def test_the_shared_postgres_store_answers_per_device() -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    psycopg2 = pytest.importorskip("psycopg2")
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('whatsmeow_device') IS NOT NULL")
        if cur.fetchone()[0]:
            conn.close()
            pytest.skip("this database already holds a whatsmeow store")
        cur.execute("CREATE TABLE whatsmeow_device (jid TEXT PRIMARY KEY)")
    try:
        assert not is_paired(url, 1)
        with conn.cursor() as cur:
            cur.execute("INSERT INTO whatsmeow_device VALUES ('15550001111:7@s.whatsapp.net')")
        assert is_paired(url, 1)  # account 1: any device, as before
        assert not is_paired(url, 2)  # account 2 never logged in
        assert is_paired(url, 2, "15550001111:7@s.whatsapp.net")
        assert not is_paired(url, 2, "15550002222:3@s.whatsapp.net")
        # account 2 recorded that device: it is not account 1's
        assert not is_paired(url, 1, None, ["15550001111:7@s.whatsapp.net"])
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE whatsmeow_device")
        conn.close()


ONE, TWO = "15550001111:7@s.whatsapp.net", "15550002222:3@s.whatsapp.net"


@pytest.mark.parametrize(
    ("account", "recorded", "taken", "choice"),
    [
        (1, None, (), DeviceChoice()),  # whatsmeow's first device, as a single account had
        (1, None, (TWO,), DeviceChoice(blank=True)),  # the first may be account 2's
        (1, ONE, (TWO,), DeviceChoice(jid=ONE)),  # its record is trusted
        (2, TWO, (), DeviceChoice(jid=TWO)),
        (2, None, (), DeviceChoice(blank=True)),  # never logged in
    ],
)
def test_a_store_that_does_not_answer_never_hands_out_another_accounts_device(
    account: int, recorded: str | None, taken: tuple[str, ...], choice: DeviceChoice
) -> None:
    assert choose_device(account, recorded, taken, None) == choice


def test_only_account_one_takes_an_unrecorded_device() -> None:
    assert choose_device(1, None, (TWO,), [TWO, ONE]) == DeviceChoice(jid=ONE)
    assert choose_device(2, None, (), [ONE]) == DeviceChoice(blank=True)
    assert choose_device(3, None, (ONE,), [ONE, TWO]) == DeviceChoice(blank=True)
