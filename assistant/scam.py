"""Fraud and chain-letter detection, a signal of its own beside the importance score.

Scams are written to look urgent ("account suspended, verify now"), so an importance score
alone forwards them. The shapes below are the common ones in the five languages triage
knows: links to look-alike domains, verification or payment demands, the "new number, send
money" family scam, prizes and airdrops, investment promises, and "forward this to all your
contacts". A message is a scam when one strong shape or two weak ones are found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FLAGS = 0  # texts are lowercased first: case-folding in the engine costs a third


def _any(*terms: str) -> re.Pattern[str]:
    return re.compile("|".join(terms), _FLAGS)


DOMAIN = re.compile(
    r"(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,10})(?:/\S*)?", re.IGNORECASE | re.ASCII
)
#: Names scammers borrow; a domain that carries one with extra words or digits is a look-alike.
BRANDS = (
    "paypal|amazon|amzn|apple|icloud|netflix|whatsapp|facebook|instagram|microsoft|google|"
    "dhl|fedex|ups|usps|royalmail|hermes|dpd|gls|correos|ctt|post|pochta|"
    "sparkasse|volksbank|commerzbank|deutschebank|postbank|ing|n26|revolut|santander|bbva|"
    "caixa|bradesco|itau|nubank|banco|sberbank|sber|tinkoff|vtb|gosuslugi|"
    "hmrc|gov|bank|visa|mastercard|binance|coinbase|metamask|trustwallet|"
    "millennium|millenium|bcp|novobanco|cgd|edp|viaverde|mbway|payback|asfinag|nalog|ozon|"
    "wildberries|avito|gosuslugi|bundespolizei|elster|zoll"
)
BRAND_NAMES = tuple(BRANDS.split("|"))
#: "novobanco.pt.update-data.net": a real-looking domain followed by the scammer's own.
MIDDLE_TLD = re.compile(r"\.(?:com|pt|de|es|br|ru|uk|at|ch)\.[a-z0-9-]+\.[a-z]{2,10}$")
ODD_TLD = re.compile(
    r"\.(xyz|top|info|click|icu|live|online|site|shop|buzz|cam|rest|sbs|cfd|monster|"
    r"support|help|link|ru\.com|cc|tk|ml|ga|cf|gq|pw|ws|vip|win|bid|loan)$"
)
LURE_WORDS = re.compile(
    r"secure|security|verif|login|log-in|signin|update|account|konto|support|service|"
    r"confirm|unlock|refund|claim|bonus|gift|prize|reward|track|delivery|pay|billing|auth",
    re.IGNORECASE,
)

CHAIN = _any(
    r"forward (?:this|it) to|send (?:this|it) to (?:all|every|\d+|ten|10)|share (?:this|it) with "
    r"(?:all|every|\d+)|to all your contacts|to (?:\d+|ten|twenty) (?:people|contacts|friends|groups)|"
    r"tell everyone|share with everyone|don'?t break the chain",
    r"weiterleiten an|leite (?:das|es|sie) an|an alle (?:deine|ihre) kontakte|an \d+ (?:kontakte|leute|personen|gruppen|freunde)|"
    r"an alle kontakte|leitet (?:das|es) an alle|teilt (?:das|es) mit allen|sagt es allen|schick (?:das|es) an \d+|unterbrich die kette",
    r"reenv[ií]a (?:esto|este|a)|reenv[ií]en a|reenvíalo|reenviadlo|pasadlo|p[aá]salo a todos|comp[aá]rt[ea]lo con|compartidlo con|a todos tus contactos|"
    r"a \d+ (?:contactos|personas|grupos|amigos)|envía esto a|avisad a todos|no rompas la cadena",
    r"encaminh(?:e|a|ar) (?:isso|essa|esta|para)|repassem|compartilhem com|para todos os seus contatos|"
    r"para \d+ (?:contatos|pessoas|grupos|amigos)|mande (?:isso )?para \d+|avisem todos|não quebre a corrente",
    r"перешл(?:и|ите)|разошл(?:и|ите)|отправь(?:те)? (?:это )?(?:всем|\d+)|всем (?:своим )?контактам|"
    r"\d+ (?:контактам|друзьям|группам|людям)|предупредите всех|не разрывайте цепочку",
    r"schick dieses gebet|an alle weiter|quem a enviar a \d+|envi[ae]-a a \d+|copiem e colem|copy and paste|"
    r"kopiert und|copien y peguen|скопируйте и|(?:send|schick|envía|envie|отправь) (?:this|das|esto|isso|это) (?:to )?\d+|"
    r"whatsapp (?:will|wird|va a|vai|будет) (?:start|begin|anfangen|comenzar|começar|начн|платн)|"
    r"whatsapp станет платным|calls will be recorded|anrufe (?:werden )?aufgezeichnet|llamadas ser[aá]n grabadas|"
    r"ligações serão gravadas|звонки записываются",
)
#: "If this wasn't you, call/click/reply": fake bank, shop and login alerts.
NOT_YOU = _any(
    r"if (?:this|it) (?:wasn'?t|was not) you|if you did not (?:authori[sz]e|make|request)|if not you",
    r"falls (?:sie )?(?:das )?nicht sie|wenn sie das nicht waren|nicht sie\?|nicht getätigt",
    r"si no (?:ha sido|es|fue) usted|si no lo ha autorizado|si no reconoce|no ha realizado|si usted no la realiz",
    r"se não (?:foi|for) você|se não reconhece|não reconhece\?|não (?:fez|efetuou)",
    r"если это не вы|не вы\?|не совершали|служба безопасности|центрального банка",
)
GIFT_CARDS = _any(
    r"gift ?cards?|itunes cards?|geschenkkarten|tarjetas regalo|gift cards? da|cart[õo]es[- ]presente|подарочн\w* карт",
)
#: One-time codes the owner asked for say not to share them: never a verification demand.
OTP = _any(
    r"never share|do not share|don'?t share|mit niemandem|niemals weiter|no (?:lo )?compartas|nunca compartas|"
    r"não compartilhe|nunca compartilhe|никому не сообщайте|не сообщайте",
)
#: "Is this you in this video?" with a link: a lure to a phishing page.
BAIT = _any(
    r"is this you in|bist du das (?:in|auf)|eres t[uú] (?:el|la) del|é você nesse|это ты на (?:видео|фото)",
)
CODE_BACK = _any(
    r"(?:code|código|codigo|код)\w*.{0,60}(?:send (?:it )?back|back to me|zurück|reenv[ií]a|reencaminh|de volta|"
    r"переслать|перешли|отправь)|(?:send us|envíenos|envie-nos|senden sie uns|пришлите нам|продиктуйте).{0,30}"
    r"(?:código|code|код)|(?:by mistake|aus versehen|por error|por engano|по ошибке).{0,60}(?:send it back|zurück|"
    r"devuelv|devolv|верн)|(?:devoluci[oó]n|transferencia) por error|(?:facilite|d[ií]ganos) la clave|"
    r"clave que le llegar",
)
#: A bank account or card number to send money to, in the message itself.
ACCOUNT = re.compile(
    r"\b[a-z]{2}\d{2}(?: ?[a-z0-9]{4}){3,}|\b\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}\b|chave pix"
)
#: "Hi mum/dad": how the new-number scam opens.
FAMILY = _any(
    r"\b(?:mum|mom|mummy|dad|mama|mami|papa|mamá|papá|mãe|mae|pai|мам|пап|бабул|oma|grandma|abuela|vó|avó)"
)
#: "Vote for my niece": a hacked contact's phishing link.
VOTE = _any(
    r"\bvote\b|vote for|stimmt für|abstimmen|vota(?:d)? (?:por|em)|vota em|проголосуйте|голосовани"
)
HELP_ASK = _any(
    r"favou?r|help|can you|are you free|need",
    r"gefallen|hilfe|kannst du|hast du (?:kurz )?zeit|brauche",
    r"favor|ayuda|puedes|tienes un momento|necesito",
    r"favor|ajuda|pode|tá podendo|preciso",
    r"помо(?:чь|ги)|можешь|нужн",
)
NEW_NUMBER = _any(
    r"(?:my|this is my|it'?s my) new (?:number|phone)|new number|new phone|phone (?:broke|is broken|fell)|lost my phone",
    r"neue(?:s)? (?:nummer|handy)|meine neue nummer|handy (?:ist )?kaputt",
    r"(?:mi |este es mi )?n[uú]mero nuevo|nuevo n[uú]mero|m[oó]vil nuevo|se me rompi[oó] el (?:m[oó]vil|celular)",
    r"(?:meu )?n[uú]mero novo|novo n[uú]mero|celular novo|meu celular (?:quebrou|caiu)",
    r"нов(?:ый|ого) (?:номер|телефон)|это мой новый|телефон (?:сломался|разбился|утонул)",
)
MONEY_ASK = _any(
    r"send (?:me )?(?:money|\d|€|\$|£)|transfer|pay (?:for|it|this|the)|can you (?:lend|pay|send)|"
    r"borrow|need (?:money|\d+|€|\$|£)|bank details|iban|sort code|gift ?cards?",
    r"überweis|geld|leihen|bezahl|zahl(?:en|ung)|bankverbindung",
    r"transfer|dinero|plata|pr[eé]sta|pag(?:ar|ue|a)|bizum|cuenta",
    r"transfer|dinheiro|grana|empresta|pag(?:ar|ue|a)|\bpix\b|conta",
    r"переве(?:ди|дите|сти)|деньг|займ(?:и|ите)|одолж|оплат|карт[уы]|скинь",
)
VERIFY = _any(
    r"(?:account|card|service|profile) (?:has been |is |was |will be )?(?:suspended|blocked|locked|frozen)|"
    r"suspended due|deactivat|unusual (?:activity|sign)|"
    r"verify (?:your|now|here|it)|verify identity|confirm your (?:details|identity|account|data)|"
    r"update your (?:details|information|payment|account|billing)|reactivat|will be (?:closed|deleted|disabled|deactivated)",
    r"(?:konto|karte) (?:wurde |ist )?(?:gesperrt|eingeschränkt)|verifizier|bestätigen sie ihre|bestätige (?:deine|ihre) "
    r"(?:daten|identität)|aktualisieren sie ihre|deaktiviert|ungewöhnliche",
    r"(?:cuenta|tarjeta) (?:ha sido )?(?:suspendid|bloquead)|verifique su|confirme sus datos|actualice sus datos|"
    r"actualice su m[eé]todo de pago|se cancelar[aá] hoy|será (?:desactivad|cancelad)|evite el embargo|adeudo",
    r"(?:conta|cartão) (?:foi )?(?:suspens|bloquead)|verifique seus|confirme seus dados|atualize seus dados|"
    r"será (?:desativad|encerrad)",
    r"(?:сч[её]т|карта|аккаунт) заблокир|приостановл|верифик|подтверд(?:и|ите) (?:личность|данные|аккаунт|карту)|"
    r"обнов(?:и|ите) данные|будет (?:отключ|закрыт)",
)
FEE = _any(
    r"bußgeld|ersatzmaut|vollstreckung|portagens? em atraso|coima|será cortad|"
    r"customs|import (?:fee|duty|tax)|delivery fee|shipping fee|redelivery|parcel (?:is )?(?:held|on hold|waiting)|"
    r"unpaid (?:toll|fine|tax)|pending (?:fee|payment)|incomplete address|tax refund|eligible for a (?:tax )?refund|"
    r"(?:pay|charge) (?:the|a)? ?£?\d+[.,]\d\d (?:fee|charge)",
    r"zollgebühr|vom zoll|beim zoll|zollamt|nachporto|paket (?:wird )?zurückgehalten|gebühr (?:zahlen|von)|offene (?:gebühr|zahlung)|adresse unvollständig|"
    r"rückerstattung",
    r"aduana|tasa de (?:env[ií]o|aduana)|paquete (?:retenido|pendiente)|multa pendiente|direcci[oó]n incompleta|"
    r"reembolso de|pague (?:la tasa|\d)",
    r"alf[aâ]ndega|taxa (?:de (?:entrega|envio|importa)|alfandeg)|encomenda (?:retida|pendente)|multa pendente|"
    r"endereço incompleto|restituição|imposto de importação|multa pendente",
    r"таможн|пошлин|посылка (?:задержана|ожидает)|штраф|адрес указан не полностью|компенсац|не оплачена доставка",
)
PRIZE = _any(
    r"you(?:'ve| have)? won|winner|congratulations|prize|lottery|giveaway|airdrop|free (?:iphone|gift|crypto|tokens?)|"
    r"claim (?:your|now|here|it)|selected to receive|giving away|free (?:shopping )?vouchers?",
    r"gewonnen|gewinner|gewinnspiel|herzlichen glückwunsch|preis abholen|verlosung|verschenkt|gutscheine im wert",
    r"ganaste|has ganado|ganador|premio|sorteo|loter[ií]a|felicidades|regala (?:vales|cheques|neveras)|"
    r"vales de compra|nueva ayuda|ayudas? de \d",
    r"ganhou|ganhador|pr[eêé]mio|sorteio|loteria|parab[eé]ns|vale-compras",
    r"выиграл|победител|приз|розыгрыш|лотере|поздравляем|дарит подарочн|тайный покупатель|mystery shopper|"
    r"cliente oculto|punkte verfallen",
)
INVEST = _any(
    r"crypto|bitcoin|btc|usdt|ethereum|forex|trading (?:bot|signals?)|invest(?:ment)?|"
    r"guaranteed (?:profit|return)|double your|passive income|earn \$?\d+",
    r"krypto|rendite|garantiert|anlage",
    r"cripto|inversi[oó]n|rentabilidad|ganancias garantizadas|fianza .{0,40}western union|western union",
    r"cripto|investimento|rendimento|lucros? garantidos?|renda extra|opções binárias|binary options|trading|"
    r"mit ki|plataforma",
    r"крипт|инвест|доход(?:ность)?|заработ(?:ок|ай)|пассивн",
)
JOB = _any(
    r"part[- ]time job|work from home|earn .{0,20}(?:per|a) (?:day|hour)|like (?:youtube )?videos? and earn|hiring.{0,30}(?:\$|€)\d+",
    r"nebenjob|von zu hause.{0,20}verdienen|pro tag verdienen",
    r"(?:trabajo|dinero) desde casa|gana .{0,20}(?:al|por) d[ií]a|\d+ ?€ diarios|pagar \d+ ?€ del material",
    r"trabalho (?:em|de) casa|ganhe .{0,20}por dia",
    r"работа на дому|заработок от|подработк|ставить лайки|лайки на товары|предоплат|a dar likes|likes a produtos|"
    r"likes? (?:on|to) products",
)
PRESSURE = _any(
    r"within (?:24|48|12) ?h|in (?:24|48) hours|today only|last chance|immediately|act now|expires? (?:today|soon|in)",
    r"innerhalb von (?:24|48)|sofort|letzte chance|läuft (?:heute )?ab",
    r"en (?:24|48) horas|inmediatamente|[uú]ltima oportunidad|hoy mismo|caduca",
    r"em (?:24|48) horas|imediatamente|[uú]ltima chance|hoje mesmo|expira",
    r"в течение (?:24|48)|немедленно|последний шанс|срочно|истекает",
)
LINK = re.compile(
    r"https?://|www\.|\b[a-z0-9-]+\.[a-z]{2,10}/|\b[a-z0-9-]+\.(?:com|net|org|info|xyz|top|site|online|live|"
    r"club|app|co|help|buzz|support|link|click|shop|ru|de|es|br|pt|uk|io|me|cc)\b",
    re.IGNORECASE,
)


CODES = re.compile(r"codes?|códigos|codigos|коды|compr[ae]|buy|kauf|купи")
MONEY_AMOUNT = re.compile(r"[€$£₽]\s?\d|\d[\d.,]*\s?(?:€|eur|£|₽|руб|reais)|r\$\s?\d")
PHONE = re.compile(r"\+?\d[\d ()-]{8,}\d")


@dataclass(frozen=True, slots=True)
class ScamCheck:
    """What the detector found: the shapes, and whether they make a scam."""

    signals: tuple[str, ...]

    @property
    def is_scam(self) -> bool:
        """Whether the signals make a scam: one strong signal, or any two."""
        strong = {
            "chain letter",
            "new-number request",
            "look-alike link",
            "gift-card request",
            "asks for a code",
            "fake alert",
        }
        return bool(strong.intersection(self.signals)) or len(self.signals) >= 2


def lookalike(domain: str) -> bool:
    """A domain that borrows a brand name with extra words, digits or an odd ending, or one
    with lure words under an odd ending (``paypal-secure-login.com``, ``amaz0n.top``)."""
    d = domain.lower()
    base = d.rsplit(".", 1)[0]
    if d.startswith("xn--") or ".xn--" in d or MIDDLE_TLD.search(d):
        return True
    swapped = base.translate(str.maketrans("01345", "oleas"))
    brand = _brand(swapped)
    odd = bool(ODD_TLD.search(d))
    if brand:
        rest = swapped.replace(brand, "", 1).strip(".-")
        return "-" in base or odd or swapped != base or bool(LURE_WORDS.search(rest))
    return odd and bool(LURE_WORDS.search(base))


def _brand(base: str) -> str:
    """The brand a domain's words carry: a word equal to one, or (for names of five letters
    or more) starting with one ("sberbankonline"); "" when none."""
    for word in re.split(r"[.-]", base):
        for name in BRAND_NAMES:
            if word == name or (len(name) >= 5 and word.startswith(name)):
                return name
    return ""


NONE = ScamCheck(())


def check(text: str, known_sender: bool = True) -> ScamCheck:
    """Look for scam and chain-letter shapes in a message."""
    if len(text) < 12:
        return NONE
    t = text[:2000].lower()
    signals: list[str] = []
    if CHAIN.search(t):
        signals.append("chain letter")
    if NEW_NUMBER.search(t) and (
        MONEY_ASK.search(t) or (not known_sender and (HELP_ASK.search(t) or FAMILY.search(t)))
    ):
        signals.append("new-number request")
    elif ACCOUNT.search(t) and MONEY_ASK.search(t):
        signals.append("new-number request")  # money to an account named in the message
    if GIFT_CARDS.search(t) and (MONEY_ASK.search(t) or CODES.search(t)):
        signals.append("gift-card request")
    if CODE_BACK.search(t):
        signals.append("asks for a code")
    has_link = ("." in t or "/" in t) and LINK.search(t) is not None
    if NOT_YOU.search(t) and (has_link or MONEY_AMOUNT.search(t) or PHONE.search(t)):
        signals.append("fake alert")
    if has_link and any(lookalike(m.group(1)) for m in DOMAIN.finditer(t)):
        signals.append("look-alike link")
    if VERIFY.search(t) and not OTP.search(t):
        signals.append("verification demand")
    if has_link and (BAIT.search(t) or VOTE.search(t)):
        signals.append("look-alike link")
    if FEE.search(t):
        signals.append("fee demand")
    if PRIZE.search(t):
        signals.append("prize claim")
    if INVEST.search(t):
        signals.append("investment promise")
    if JOB.search(t):
        signals.append("job offer")
    if signals and (has_link or not known_sender):
        signals.append("link" if has_link else "unknown sender")
    if signals and PRESSURE.search(t):
        signals.append("deadline pressure")
    return ScamCheck(tuple(signals))
