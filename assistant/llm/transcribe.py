"""Speech to text through an OpenAI-compatible ``/audio/transcriptions`` endpoint, with the
official ``openai`` client (OpenAI's Whisper, faster-whisper-server, whisper.cpp server,
LocalAI, ...). Nothing here decides what is sent: that is assistant/voice.py."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

import openai

from core.errors import LLMError

#: A transcription that takes longer than this is given up (the note stays untranscribed).
TIMEOUT_SECONDS = 120.0


#: What counts as this machine or its private network: loopback, RFC 1918, IPv6 unique
#: local and link-local — and nothing else ``is_private`` also admits (Teredo tunnels to
#: the internet, benchmark and reserved ranges).
LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


def is_local_url(url: str) -> bool:
    """True when ``url`` names this machine or a private network by address: ``localhost``,
    127.x, ::1, 10.x, 172.16–31.x, 192.168.x, fc00::/7, link-local. Any other host name
    counts as the cloud (a name could resolve anywhere)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in LOCAL_NETWORKS if net.version == ip.version)


class OpenAITranscriber:
    """One endpoint and model; ``transcribe`` returns the text or raises LLMError with a
    short reason fit to be stored (never the key, never the audio)."""

    def __init__(self, base_url: str, model: str, api_key: str | None) -> None:
        self.model = model
        #: True when the audio never leaves this machine or its private network.
        self.is_local = is_local_url(base_url)
        # The client refuses to start without a key; local servers do not need one.
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=base_url, max_retries=1
        )

    async def transcribe(self, path: Path, timeout: float = TIMEOUT_SECONDS) -> str:
        """Send the audio file at ``path``; return what the endpoint heard."""
        data = await asyncio.to_thread(path.read_bytes)
        try:
            result = await self._client.audio.transcriptions.create(
                model=self.model, file=(path.name, data), timeout=timeout
            )
        except openai.APIStatusError as exc:
            raise LLMError(f"the endpoint answered HTTP {exc.status_code}") from exc
        except openai.APITimeoutError as exc:
            raise LLMError(f"the endpoint did not answer within {timeout:.0f} s") from exc
        except openai.APIConnectionError as exc:
            raise LLMError("the endpoint could not be reached") from exc
        except openai.OpenAIError as exc:
            raise LLMError(f"the endpoint failed ({type(exc).__name__})") from exc
        text = result if isinstance(result, str) else getattr(result, "text", None)
        if not isinstance(text, str):
            raise LLMError("the endpoint's answer had no text")
        return text

    async def aclose(self) -> None:
        """Release the client's connections."""
        await self._client.close()
