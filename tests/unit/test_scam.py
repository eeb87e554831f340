"""The scam detector: the common fraud shapes in five languages are caught; ordinary urgent
messages, links and money talk between people are not."""

from __future__ import annotations

import pytest

from assistant import scam

SCAMS = [
    "Your PayPal account has been suspended. Verify now: https://paypal-secure-login.com/verify",
    "Hi mum, this is my new number, my phone broke. Can you send me 450 for a bill today? I'll pay you back",
    "Congratulations! You have won an iPhone 16. Claim your prize here: bit.ly/claim-now within 24h",
    "FORWARD THIS TO ALL YOUR CONTACTS or WhatsApp will start charging for messages",
    "Ihr Sparkasse-Konto wurde gesperrt. Bestätigen Sie Ihre Daten: https://sparkasse-kunden-verifizierung.info",
    "Hallo Mama, das ist meine neue Nummer. Kannst du mir schnell 800 € überweisen?",
    "Su paquete está retenido en aduana. Pague la tasa de envío de 1,99 € en https://correos-envios.top/pago",
    "Olá, ganhou um prémio! Clique https://premio-ganhe.xyz e receba já",
    "Oi mãe, esse é meu número novo, me faz um pix de 500 urgente?",
    "Ваша карта заблокирована. Подтвердите данные по ссылке http://sberbank-online.support/verify",
    "Перешлите это сообщение всем контактам, иначе WhatsApp станет платным!",
    "Free airdrop: claim 500 USDT now at https://binance-airdrop.live before it expires today",
]
HONEST = [
    "water is coming through the kitchen ceiling, call me",
    "Can you transfer the rent to Maria today? Her IBAN is in the email",
    "mum is in the ER, they said she is stable, call me when you can",
    "Flight moved to gate B42, boarding closes in 20 min",
    "Kannst du mich von der Arbeit abholen? Das Auto springt nicht an",
    "¿Me pasas el enlace del documento? https://docs.google.com/document/d/1abc",
    "Amanhã tem reunião às 10h, não esquece",
    "Позвони мне, как сможешь, надо обсудить ремонт",
    "lol forward me that meme",
    "Here is the link to the school form: https://www.schule-berlin.de/anmeldung",
]


@pytest.mark.parametrize("text", SCAMS)
def test_scams_are_found(text: str) -> None:
    found = scam.check(text, known_sender=False)
    assert found.is_scam, found.signals


@pytest.mark.parametrize("text", HONEST)
def test_honest_messages_are_not_called_scams(text: str) -> None:
    found = scam.check(text, known_sender=True)
    assert not found.is_scam, found.signals


@pytest.mark.parametrize(
    ("domain", "lookalike"),
    [
        ("paypal-secure-login.com", True),
        ("amaz0n.de", True),
        ("dhl-paket.top", True),
        ("paypal.com", False),
        ("docs.google.com", False),
        ("verify-account.xyz", True),
        ("www.schule-berlin.de", False),
    ],
)
def test_lookalike_domains(domain: str, lookalike: bool) -> None:
    assert scam.lookalike(domain) is lookalike


def test_short_and_empty_texts_are_never_scams() -> None:
    assert not scam.check("").is_scam and not scam.check("ok 👍").is_scam
