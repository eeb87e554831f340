"""Settings from the environment and ``.env`` (pydantic-settings), validated all at once.

``load_settings`` returns a frozen ``Settings`` or raises ``ConfigError`` listing every problem,
each naming its variable. Secrets are ``SecretStr``: their repr is masked. Only the
composition root (bot/app.py and the CLI) reads Settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.errors import ConfigError
from storage import names

DEFAULT_API_BASE = "https://api.telegram.org/bot"
TOKEN_RE = re.compile(r"^\d{5,16}:[A-Za-z0-9_-]{30,}$")

HOW_TO = {
    "TELEGRAM_BOT_TOKEN": "talk to @BotFather in Telegram, send /newbot and copy the token",
    "TELEGRAM_ADMIN_IDS": "message @userinfobot in Telegram; it answers with your numeric id",
}


def url_secrets(url: str) -> list[str]:
    """The credentials inside a URL: its password and the values of query parameters
    (``?key=…``, ``?token=…``). User names are not secret (and masking a common word such
    as "postgres" everywhere would garble the log)."""
    parts = urlsplit(url)
    found = []
    if parts.password:
        found += [parts.password, unquote(parts.password)]
    found += [value for _, value in parse_qsl(parts.query) if value]
    return found


class Settings(BaseSettings):
    """Everything the operator configures (DESIGN §4)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    telegram_bot_token: SecretStr
    telegram_admin_ids: Annotated[tuple[int, ...], NoDecode]
    telegram_api_base_url: str = DEFAULT_API_BASE
    data_dir: Path = Path("./data")
    database_url: SecretStr | None = None
    whatsapp_backend: Literal["neonize", "simulator"] = "neonize"
    whatsapp_simulator_feed: Path | None = None
    llm_provider: Literal["none", "openai", "ollama"] = "none"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    ollama_host: str = "http://localhost:11434"
    ollama_model: str = "llama3.2"
    transcribe_base_url: str | None = None
    transcribe_model: str = "whisper-1"
    transcribe_api_key: SecretStr | None = None
    digest_time: time = Field(default=time(8, 0))
    timezone: str = "UTC"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    health_port: int | None = Field(default=None, ge=1, le=65535)
    health_host: str = "127.0.0.1"
    default_region: str | None = None

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (digits:letters, from @BotFather)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("telegram_admin_ids", mode="before")
    @classmethod
    def _admins(cls, value: object) -> tuple[int, ...]:
        if isinstance(value, int):
            return (value,)
        if isinstance(value, list | tuple):
            parts = [str(v) for v in value]
        else:
            parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts:
            raise ValueError("needs at least one numeric Telegram user id")
        bad = [p for p in parts if not re.fullmatch(r"\d{1,20}", p)]
        if bad:
            raise ValueError("must be numeric Telegram user ids separated by commas")
        return tuple(dict.fromkeys(int(p) for p in parts))

    @field_validator("transcribe_base_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "telegram_api_base_url", "ollama_host", "openai_base_url", "transcribe_base_url"
    )
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not re.match(r"^(sqlite:///.+|postgres(ql)?://.+)", value.get_secret_value()):
            raise ValueError("must be sqlite:///path or postgresql://user:pw@host/db")
        return value

    @field_validator("digest_time", mode="before")
    @classmethod
    def _digest_time(cls, value: object) -> object:
        if isinstance(value, str):
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", value.strip())
            if not match:
                raise ValueError("must be HH:MM (24-hour), e.g. 08:00")
            return time(int(match[1]), int(match[2]))
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone; use an IANA name like Europe/Berlin") from exc
        return value

    @field_validator("default_region", mode="before")
    @classmethod
    def _region(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str) or not names.is_region(value):
            raise ValueError("must be a two-letter country code, e.g. DE or US")
        return value.strip().upper()

    @field_validator("health_port", mode="before")
    @classmethod
    def _health_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    # ----------------------------------------------------------------- derived values

    @property
    def tz(self) -> ZoneInfo:
        """The owner's time zone (TIMEZONE)."""
        return ZoneInfo(self.timezone)

    @property
    def telegram_file_base_url(self) -> str:
        """Where the Bot API serves files, derived from TELEGRAM_API_BASE_URL."""
        base = self.telegram_api_base_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base

    @property
    def db_url(self) -> str:
        """The database to use: DATABASE_URL, else the SQLite file in DATA_DIR."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'secretary.db').resolve()}"

    def secret_values(self) -> tuple[str, ...]:
        """The values logs must never show: the bot token, the API keys, and any credentials
        written into DATABASE_URL, OPENAI_BASE_URL, OLLAMA_HOST or TRANSCRIBE_BASE_URL
        (user:password@, or a key in the query string)."""
        values = [self.telegram_bot_token.get_secret_value()]
        for key in (self.openai_api_key, self.transcribe_api_key):
            if key is not None:
                values.append(key.get_secret_value())
        urls = [self.openai_base_url, self.ollama_host, self.transcribe_base_url]
        if self.database_url is not None:
            urls.append(self.db_url)
        for url in filter(None, urls):
            values += url_secrets(url)
        return tuple(dict.fromkeys(v for v in values if len(v) >= 4))

    @property
    def owner_ids(self) -> frozenset[int]:
        """The Telegram user ids of the owners (TELEGRAM_ADMIN_IDS)."""
        return frozenset(self.telegram_admin_ids)


def _problem(loc: tuple[object, ...], msg: str, kind: str) -> str:
    name = str(loc[0]).upper() if loc else "configuration"
    if kind == "missing":
        hint = HOW_TO.get(name)
        return f"{name} is not set" + (f" ({hint})" if hint else "")
    msg = msg.removeprefix("Value error, ")
    return f"{name}: {msg}"


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | None = ".env"
) -> Settings:
    """Read and validate the settings; raise ConfigError naming every bad variable."""
    problems: list[str] = []
    try:
        if environ is None:
            settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
        else:
            values = {
                k.lower(): v for k, v in environ.items() if k.lower() in Settings.model_fields
            }
            settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    except ValidationError as exc:
        problems = [_problem(e["loc"], e["msg"], e["type"]) for e in exc.errors()]
        raise ConfigError(problems) from None
    if settings.whatsapp_backend == "simulator" and settings.whatsapp_simulator_feed is None:
        problems.append("WHATSAPP_SIMULATOR_FEED: required when WHATSAPP_BACKEND=simulator")
    no_key = settings.openai_api_key is None and settings.openai_base_url is None
    if settings.llm_provider == "openai" and no_key:
        problems.append("OPENAI_API_KEY is not set (required when LLM_PROVIDER=openai)")
    if problems:
        raise ConfigError(problems)
    return settings
