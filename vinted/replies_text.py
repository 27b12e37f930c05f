"""The words of reply suggestions, without any database write: the offline keyword classifier
(French and English), the buyer's language, and the drafting of a reply from a listing's facts.

Drafting rules (the issue's "never say anything untrue about an item"):

- Only facts the listing records are stated: no size, condition or measurements when they are
  missing (there is no default size or condition), no price when there is none.
- Availability is confirmed only for a published listing that is not sold; a sold or archived
  item is said to be sold / no longer available, whatever the buyer asked. A conversation with no
  known listing confirms nothing.
- After a repost or relist the conversation still points at the old, archived listing: the reply
  speaks of its newest copy on the same account that reached Vinted, following the
  Listing.relisted_from chain (current_copy); a copy not on Vinted yet (a draft) does not count.
- Offers: the floor is the listing's minimum price; when none is recorded, the listing's price
  is the floor (the seller never said they accept less). Below it: a polite counter at the floor;
  at or above: accepting is suggested. Accepting is always the seller's click on Vinted.
"""

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .choices import Condition, ListingStatus, ReplyIntent, ReplyTone

FRENCH, ENGLISH = "fr", "en"
LANGUAGES = (FRENCH, ENGLISH)


def _plain(text: str) -> str:
    """Lower case without accents, so "état", "etat" and "ÉTAT" match alike."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def _words(*patterns: str) -> re.Pattern:
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)")


# --- classifier ------------------------------------------------------------------------------------

# Checked in this order: the first rule that matches decides (a greeting only when nothing else does).
RULES = [
    (ReplyIntent.BUNDLE, _words(r"lots?", r"bundles?", r"plusieurs articles", r"several items", r"groupe[rz]?",
                                r"together", r"ensemble avec")),
    (ReplyIntent.AVAILABILITY, _words(r"dispo\w*", r"toujours (?:la|en vente|a vendre)", r"encore (?:la|en vente)",
                                      r"still (?:available|for sale|have it|there)", r"available", r"en stock",
                                      r"is it (?:still )?sold", r"deja vendu", r"still got")),
    (ReplyIntent.PRICE, _words(r"prix", r"price", r"combien", r"how much", r"negociable", r"negotiable",
                               r"baisser", r"reduction", r"discount", r"cheaper", r"moins cher", r"last price",
                               r"best price", r"dernier prix")),
    (ReplyIntent.SHIPPING, _words(r"livraison", r"livrer", r"envoi\w*", r"envoy\w*", r"expedi\w*", r"colis",
                                  r"mondial relay", r"relais", r"shipping", r"ship", r"ships", r"delivery",
                                  r"postage", r"post it", r"send it")),
    (ReplyIntent.SIZE, _words(r"tailles?", r"mesures?", r"dimensions?", r"longueur", r"largeur", r"tour de \w+",
                              r"taille[- ]t[- ]il", r"sizes?", r"measurements?", r"length", r"width", r"waist",
                              r"fits?", r"fit small", r"fit large")),
    (ReplyIntent.CONDITION, _words(r"etat", r"condition", r"defauts?", r"taches?", r"trous?", r"usure", r"abime\w*",
                                   r"flaws?", r"stains?", r"damaged?", r"holes?", r"worn", r"defects?")),
    (ReplyIntent.GREETING, _words(r"merci\w*", r"bonjour", r"bonsoir", r"salut", r"coucou", r"thanks?",
                                  r"thank you", r"hello", r"hi", r"hey", r"cheers")),
]
OFFER_WORDS = _words(r"propose\w*", r"proposition", r"offre\w*", r"offers?", r"would you (?:take|accept)",
                     r"accepte\w*", r"accept", r"je peux vous donner", r"i can (?:do|pay|give)", r"would you do")
# An amount: "15", "15€", "15,50 €", "€15", "15 euros", "15 eur".
AMOUNT_RE = re.compile(r"(?:€\s*(\d{1,5}(?:[.,]\d{1,2})?))|(?:(\d{1,5}(?:[.,]\d{1,2})?)\s*(?:€|euros?|eur)(?!\w))")
BARE_AMOUNT_RE = re.compile(r"(?<![\w.,])(\d{1,5}(?:[.,]\d{1,2})?)(?!\w)")

FRENCH_MARKERS = _words(r"bonjour", r"bonsoir", r"salut", r"merci", r"est[- ]ce", r"toujours", r"dispo\w*",
                        r"prix", r"livraison", r"envoi\w*", r"taille", r"etat", r"je", r"vous", r"est", r"le", r"la",
                        r"les", r"propose\w*", r"encore", r"combien", r"mesures?", r"lot", r"pour", r"avec", r"oui",
                        r"svp", r"possible", r"c'est", r"il", r"elle")
ENGLISH_MARKERS = _words(r"hi", r"hello", r"hey", r"thanks?", r"thank", r"still", r"available", r"price",
                         r"shipping", r"size", r"condition", r"offer", r"is", r"it", r"you", r"the", r"would",
                         r"can", r"please", r"how", r"much", r"do", r"what", r"bundle", r"take", r"any")


@dataclass
class Classification:
    intent: str
    offer_amount: Decimal | None
    language: str
    classified_by: str  # "ai" or "rules"


def money(value) -> Decimal | None:
    """A positive amount from "15", "15,50", 15.5; None when it is not one."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", ".").strip()).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount > 0 else None


def amount_in(text: str) -> Decimal | None:
    """The amount a buyer's text offers: one with a currency first, else a bare number after an offer word."""
    plain = _plain(text)
    found = AMOUNT_RE.search(plain)
    if found:
        return money(found.group(1) or found.group(2))
    offer = OFFER_WORDS.search(plain)
    if offer:
        bare = BARE_AMOUNT_RE.search(plain, offer.start())
        if bare:
            return money(bare.group(1))
    return None


def language_of(text: str, default: str = FRENCH) -> str:
    plain = _plain(text)
    french, english = len(FRENCH_MARKERS.findall(plain)), len(ENGLISH_MARKERS.findall(plain))
    if french == english:
        return default
    return FRENCH if french > english else ENGLISH


def classify_by_rules(text: str, *, offer_amount: Decimal | None = None, default_language: str = FRENCH
                      ) -> Classification:
    """The keyword rule set. `offer_amount`: Vinted's own offer message carried one (it wins)."""
    plain = _plain(text)
    language = language_of(text, default_language)
    if offer_amount is not None:
        return Classification(ReplyIntent.OFFER, offer_amount, language, "rules")
    if OFFER_WORDS.search(plain):
        return Classification(ReplyIntent.OFFER, amount_in(text), language, "rules")
    for intent, pattern in RULES:
        if pattern.search(plain):
            return Classification(intent, None, language, "rules")
    return Classification(ReplyIntent.OTHER, None, language, "rules")


# --- drafting ----------------------------------------------------------------------------------------

CONDITION_FR = {
    Condition.NEW_WITH_TAGS: "neuf avec étiquette", Condition.NEW_WITHOUT_TAGS: "neuf sans étiquette",
    Condition.VERY_GOOD: "très bon état", Condition.GOOD: "bon état", Condition.SATISFACTORY: "état satisfaisant",
}
CURRENCY_SIGNS = {"EUR": "€", "GBP": "£", "USD": "$"}

PHRASES = {
    FRENCH: {
        "available": "Oui, l'article est toujours disponible.",
        "sold": "Désolé, cet article est vendu.",
        "gone": "Désolé, cet article n'est plus en vente.",
        "unknown_item": "Merci pour votre message, je vérifie et je reviens vers vous.",
        "size": "Taille : {size}.",
        "condition": "État : {condition}.",
        "measurements": "Mesures : {measurements}.",
        "price": "Le prix est de {price}.",
        "offer_button": "Vous pouvez me faire une offre avec le bouton « Faire une offre » de Vinted.",
        "counter": "Merci pour votre offre de {amount}. Le plus bas que je puisse accepter est {floor} : "
                   "faites-moi une offre à {floor} et je l'accepte.",
        "accept": "Merci pour votre offre de {amount}, elle me convient : je l'accepte.",
        "offer_no_amount": "Merci pour votre intérêt ! Faites-moi une offre avec le bouton « Faire une offre » de "
                           "Vinted.",
        "shipping": "L'envoi se fait par Vinted : vous choisissez le mode de livraison au moment de l'achat, et "
                    "j'expédie dès la commande reçue.",
        "no_size": "Je vérifie la taille et les mesures et je vous réponds.",
        "no_condition": "Je vérifie l'état en détail et je vous réponds.",
        "bundle": "Oui, vous pouvez faire un lot : ajoutez les articles depuis mon dressing avec « Acheter en lot ».",
        "greeting": "Merci à vous ! N'hésitez pas si vous avez une question.",
        "other": "Merci pour votre message, je vous réponds au plus vite.",
        "hello_friendly": "Bonjour{name} !", "hello_professional": "Bonjour,",
        "bye_friendly": "Belle journée !", "bye_professional": "Cordialement.",
    },
    ENGLISH: {
        "available": "Yes, it is still available.",
        "sold": "Sorry, this item has been sold.",
        "gone": "Sorry, this item is no longer for sale.",
        "unknown_item": "Thanks for your message, I will check and get back to you.",
        "size": "Size: {size}.",
        "condition": "Condition: {condition}.",
        "measurements": "Measurements: {measurements}.",
        "price": "The price is {price}.",
        "offer_button": "You can make me an offer with Vinted's “Make an offer” button.",
        "counter": "Thank you for your offer of {amount}. The lowest I can accept is {floor}: "
                   "send me an offer at {floor} and I will accept it.",
        "accept": "Thank you for your offer of {amount}, that works for me: I accept it.",
        "offer_no_amount": "Thanks for your interest! Send me an offer with Vinted's “Make an offer” button.",
        "shipping": "Shipping is through Vinted: you choose the delivery option when you buy, and I send it as "
                    "soon as the order comes in.",
        "no_size": "I will check the size and measurements and get back to you.",
        "no_condition": "I will check the condition in detail and get back to you.",
        "bundle": "Yes, you can bundle items: add them from my wardrobe with “Bundle discount” / “Buy bundle”.",
        "greeting": "Thank you! Let me know if you have any question.",
        "other": "Thanks for your message, I will get back to you soon.",
        "hello_friendly": "Hi{name}!", "hello_professional": "Hello,",
        "bye_friendly": "Have a nice day!", "bye_professional": "Kind regards.",
    },
}


def format_price(amount: Decimal, currency: str, language: str) -> str:
    amount = Decimal(amount).quantize(Decimal("0.01"))
    number = f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    if language == FRENCH:
        number = number.replace(".", ",")
    sign = CURRENCY_SIGNS.get(currency, currency)
    return f"{number} {sign}" if language == FRENCH or sign == currency else f"{sign}{number}"


def listing_facts(listing, language: str) -> dict:
    """What the listing records, as words; a missing fact is absent (never a default)."""
    if listing is None:
        return {}
    facts = {}
    if listing.size_id:
        facts["size"] = listing.size.name
    if listing.condition is not None:
        facts["condition"] = (CONDITION_FR.get(listing.condition) if language == FRENCH
                              else Condition(listing.condition).label.lower())
    if (listing.measurements or "").strip():
        facts["measurements"] = listing.measurements.strip().rstrip(".")
    if listing.price is not None:
        facts["price"] = format_price(listing.price, listing.currency, language)
    return facts


def availability(listing) -> str:
    """"available", "sold", "gone" (archived or otherwise off Vinted) or "unknown" (no listing known)."""
    if listing is None:
        return "unknown"
    if listing.status == ListingStatus.SOLD or listing.sold_at is not None:
        return "sold"
    if listing.status == ListingStatus.PUBLISHED:
        return "available"
    return "gone" if listing.status == ListingStatus.ARCHIVED or listing.vinted_item_id else "unknown"


# A copy that reached Vinted: on sale, sold since, or archived (reposted again: its own copy answers).
# A draft or a failed copy is not the item (yet).
COPY_ON_VINTED = (ListingStatus.PUBLISHED, ListingStatus.SOLD, ListingStatus.ARCHIVED)
MAX_RELIST_HOPS = 10  # a guard against a relisted_from loop; nobody reposts an item ten times


def current_copy(listing):
    """The listing a conversation is really about now: itself while published or sold; once archived
    (reposted, relisted) its newest copy on the same account that Vinted has, copy of copy included."""
    for _ in range(MAX_RELIST_HOPS):
        if listing is None or availability(listing) in ("available", "sold", "unknown"):
            return listing
        copy = (listing.relists.filter(account_id=listing.account_id, status__in=COPY_ON_VINTED)
                .select_related("size").order_by("-created_at", "-id").first())
        if copy is None:
            return listing
        listing = copy
    return listing


def offer_floor(listing) -> Decimal | None:
    """The lowest offer to accept: the listing's minimum price, else its price (see the module docstring)."""
    if listing is None:
        return None
    return listing.min_price if listing.min_price is not None else listing.price


def _body_lines(intent: str, listing, amount: Decimal | None, language: str) -> list[str]:
    say = PHRASES[language]
    facts = listing_facts(listing, language)
    state = availability(listing)
    if state in ("sold", "gone") and intent != ReplyIntent.GREETING:
        return [say[state]]
    if intent == ReplyIntent.GREETING:
        return [say["greeting"]]
    if intent == ReplyIntent.AVAILABILITY:
        if state != "available":
            return [say["unknown_item"]]
        return [say["available"], *(say[name].format(**facts) for name in ("size", "condition") if name in facts)]
    if intent == ReplyIntent.PRICE:
        lines = [say["price"].format(**facts)] if "price" in facts else [say["unknown_item"]]
        return lines + [say["offer_button"]] if state == "available" else lines
    if intent == ReplyIntent.OFFER:
        floor = offer_floor(listing)
        currency = listing.currency if listing is not None else "EUR"
        if amount is None or floor is None:
            return [say["offer_no_amount"]] if state == "available" else [say["unknown_item"]]
        words = {"amount": format_price(amount, currency, language), "floor": format_price(floor, currency, language)}
        return [say["counter" if amount < floor else "accept"].format(**words)]
    if intent == ReplyIntent.SHIPPING:
        return [say["shipping"]]
    if intent == ReplyIntent.SIZE:
        lines = [say[name].format(**facts) for name in ("size", "measurements") if name in facts]
        return lines or [say["no_size"]]
    if intent == ReplyIntent.CONDITION:
        return [say["condition"].format(**facts)] if "condition" in facts else [say["no_condition"]]
    if intent == ReplyIntent.BUNDLE:
        return [say["bundle"]]
    return [say["other"]]


def draft(intent: str, listing, *, amount: Decimal | None = None, language: str = FRENCH,
          tone: str = ReplyTone.FRIENDLY, buyer: str = "") -> str:
    """The suggested reply: the facts for the intent, wrapped in the tone's greeting and closing."""
    language = language if language in LANGUAGES else FRENCH
    say = PHRASES[language]
    listing = current_copy(listing)
    lines = _body_lines(intent, listing, amount, language)
    if tone == ReplyTone.CONCISE:
        return " ".join(lines)
    if tone == ReplyTone.PROFESSIONAL:
        return "\n".join([say["hello_professional"], " ".join(lines), say["bye_professional"]])
    name = f" {buyer}" if buyer else ""
    return "\n".join([say["hello_friendly"].format(name=name), " ".join(lines), say["bye_friendly"]])
