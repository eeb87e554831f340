"""Every benchmark runs at a tiny size, so none of them rots. Not a speed test."""

from __future__ import annotations

import pytest

from bench import accounts, history_ingest, live_latency, memory, queries


def test_history_ingest_smoke() -> None:
    result = history_ingest.main(["--messages", "600", "--chats", "20", "--rounds", "1"])
    assert result["stored"] == result["scored"] == 600 and result["ratio_vs_raw"] > 0


def test_live_latency_smoke() -> None:
    result = live_latency.main(["--messages", "5"])
    assert result["forward_p99_ms"] > 0


def test_accounts_smoke() -> None:
    result = accounts.main(["--accounts", "3", "--history", "300", "--messages", "6"])
    assert result["accounts"] == 3 and result["history_ratio_concurrent_vs_one"] > 0
    assert all(result[f"history_ratio_round_{r}"] > 0 for r in (1, 2, 3))  # both orders ran
    assert result["live_p99_ms"] > 0


def test_queries_smoke() -> None:
    result = queries.main(["--messages", "3000", "--chats", "30", "--runs", "5"])
    assert result["search_common_word_p99_ms"] > 0


@pytest.mark.slow  # a whole `wa-secretary run` process: 10 s or more
def test_memory_smoke() -> None:
    result = memory.main(["--messages", "200"])
    assert result["idle_rss_mb"] > 0 and result["messages"] == 200


def test_llm_economy_smoke() -> None:
    from bench import llm_economy

    result = llm_economy.main(["--messages", "60", "--digest-messages", "200"])
    assert result["triage_calls_per_message"] <= 1 and result["digest_llm_calls"] >= 1
