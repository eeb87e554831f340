"""`python -m bot` and the `wa-secretary` console script."""

from __future__ import annotations

from bot.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
