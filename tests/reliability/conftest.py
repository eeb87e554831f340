"""The reliability suite reuses the end-to-end fixture (fake Bot API + simulator)."""

from tests.bot.conftest import env  # noqa: F401
