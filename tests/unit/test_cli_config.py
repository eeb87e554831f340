"""The command line and configuration, tried as a new user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_settings
from core.errors import ConfigError
from storage.migrations import LATEST_VERSION

TOKEN = "7000000001:AAFakeTokenForTestsOnly_abcdefghijklmnop"


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "TELEGRAM_",
                "WHATSAPP_",
                "LLM_",
                "OPENAI_",
                "OLLAMA_",
                "DATABASE_URL",
                "DATA_DIR",
                "DIGEST_",
                "TIMEZONE",
                "LOG_LEVEL",
            )
        )
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_with_nothing_configured_explains_and_exits_2(tmp_path: Path) -> None:
    result = cli("run", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert "TELEGRAM_ADMIN_IDS" in lines[1] and "numeric id" in lines[1]


def test_help_and_version(tmp_path: Path) -> None:
    helped = cli("--help", cwd=tmp_path)
    assert helped.returncode == 0 and "run" in helped.stdout and "check" in helped.stdout
    version = cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("wa-secretary ")


def test_every_invalid_value_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "TELEGRAM_BOT_TOKEN": "nope",
                "TELEGRAM_ADMIN_IDS": "12,abc",
                "TIMEZONE": "Mars/Base",
                "DIGEST_TIME": "25:00",
                "WHATSAPP_BACKEND": "telepathy",
                "LLM_PROVIDER": "gpt",
                "TELEGRAM_API_BASE_URL": "ftp://x",
                "DEFAULT_REGION": "Germany",
            }
        )
    names = " ".join(info.value.problems)
    for var in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_ADMIN_IDS",
        "TIMEZONE",
        "DIGEST_TIME",
        "WHATSAPP_BACKEND",
        "LLM_PROVIDER",
        "TELEGRAM_API_BASE_URL",
        "DEFAULT_REGION",
    ):
        assert var in names
    assert "nope" not in names  # a secret's value is never echoed


def test_secrets_are_masked_and_derived_values(tmp_path: Path) -> None:
    s = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_ADMIN_IDS": "1, 2,2",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",
            "OPENAI_API_KEY": "sk-secret-value",
            "DATA_DIR": str(tmp_path),
            "DEFAULT_REGION": " de ",
        }
    )
    assert s.default_region == "DE"
    assert s.owner_ids == {1, 2}
    assert TOKEN not in repr(s) and "sk-secret-value" not in repr(s)
    assert s.telegram_file_base_url == "http://127.0.0.1:9/file/bot"
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("secretary.db")


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nTELEGRAM_ADMIN_IDS=5\n"
        "WHATSAPP_BACKEND=simulator\n"
        f"WHATSAPP_SIMULATOR_FEED={tmp_path / 'feed.jsonl'}\n"
        f"DATA_DIR={tmp_path / 'data'}\n"
    )
    (tmp_path / "feed.jsonl").write_text("")
    result = cli("check", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   database" in result.stdout and f"schema {LATEST_VERSION}" in result.stdout
    assert (tmp_path / "data" / "secretary.db").exists()
    assert TOKEN not in result.stdout + result.stderr


def test_check_reports_an_unreachable_llm_and_fails(tmp_path: Path) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_ADMIN_IDS": "5",
        "DATA_DIR": str(tmp_path),
        "LLM_PROVIDER": "ollama",
        "OLLAMA_HOST": "http://127.0.0.1:9",
    }
    result = cli("check", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert "FAIL llm" in result.stdout and "not paired yet" in result.stdout


def test_secrets_are_masked_in_every_log_record(tmp_path: Path, capsys) -> None:
    import logging

    from bot.logs import configure_logging

    s = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_ADMIN_IDS": "1",
            "OPENAI_API_KEY": "sk-secret-value",
            "DATABASE_URL": "postgresql://bot:hunter2-long@db/wa",
            "OPENAI_BASE_URL": "https://proxy:openai-pass-9@llm.example/v1?api-key=qkey-777",
            "OLLAMA_HOST": "http://me:ollama-pw-5@gpu.local:11434",
            "DATA_DIR": str(tmp_path),
        }
    )
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", s.secret_values())
        url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
        logging.getLogger("telegram.ext.Updater").warning("network error on %s", url)
        logging.getLogger("openai").debug("Request options: {'api_key': 'sk-secret-value'}")
        try:
            raise ConnectionError("could not reach postgresql://bot:hunter2-long@db/wa")
        except ConnectionError:
            logging.getLogger("storage.db").exception("database down")
        logging.getLogger("httpx").warning(
            "POST https://proxy:openai-pass-9@llm.example/v1?api-key=qkey-777 failed; "
            "ollama at http://me:ollama-pw-5@gpu.local:11434 too"
        )
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "network error on https://api.telegram.org/bot***/getUpdates" in err
    assert "Request options: {'api_key': '***'}" in err
    assert "ConnectionError: could not reach postgresql://bot:***@db/wa" in err
    for secret in (
        TOKEN,
        "sk-secret-value",
        "hunter2-long",
        "openai-pass-9",
        "qkey-777",
        "ollama-pw-5",
    ):
        assert secret not in err
