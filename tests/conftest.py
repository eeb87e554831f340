"""Shared fixtures: a real database (SQLite file; PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Storage, close_storage, open_storage

PG_URL = os.environ.get("TEST_DATABASE_URL", "")

DB_BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=pytest.mark.skipif(not PG_URL, reason="TEST_DATABASE_URL is not set"),
    ),
]


def reset_postgres(url: str) -> None:
    """Drop every table of the scratch PostgreSQL database."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    conn.close()


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        reset_postgres(PG_URL)
        return PG_URL
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    store = await open_storage(db_url)
    yield store
    await close_storage()
