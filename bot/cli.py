"""Command line: `wa-secretary run | check | --help | --version`.

Exit codes: 0 fine, 1 a check failed or the bot stopped on an error, 2 bad configuration,
3 the WhatsApp session gave up reconnecting (let the process supervisor restart us).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from importlib.metadata import PackageNotFoundError, version

from core.errors import AppError, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def _version() -> str:
    try:
        return version("wa-secretary")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wa-secretary",
        description="Run your WhatsApp account from Telegram. Configuration comes from the "
        "environment and a .env file in the working directory (see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"wa-secretary {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="start the bot (Telegram control plane + WhatsApp session)")
    sub.add_parser(
        "check", help="validate configuration, database, WhatsApp session and LLM, then exit"
    )
    return parser


def _settings():  # type: ignore[no-untyped-def]
    from bot.config import load_settings

    return load_settings()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_FAILED
    try:
        settings = _settings()
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"wa-secretary: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "check":
        from bot.check import run_check

        return asyncio.run(run_check(settings))
    from bot.app import run

    try:
        return run(settings)
    except ConfigError as exc:  # found only at run time: Telegram rejected the token
        for problem in exc.problems:
            print(f"wa-secretary: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except AppError as exc:
        print(f"wa-secretary: {exc}", file=sys.stderr)
        return EXIT_FAILED
