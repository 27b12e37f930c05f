"""The home dashboard is assembled from cards that each app offers (imports no app).

`settings.DASHBOARD_CARDS` lists dotted paths of functions `cards(request) -> list[Card]`;
the project only lists them, each app decides what its cards show and through its own
restricted querysets, so a card never shows what its app would hide from the user.

Rendered cards (`@rendered_cache(namespaces..., ttl=...)` on a cards function): when everything a
function's cards show comes from statistics cached in those namespaces (and from the user's role),
the HTML of its cards is kept per user and role, for at most `ttl` and DASHBOARD_CACHE_SECONDS
seconds, and forgotten whenever one of the namespaces is invalidated (its version is part of the key).
A request then neither calls the function nor renders its templates: profiling showed that, with the
statistics cached, building the cards' context and rendering their tables cost more than reading the
statistics. Such a card's template sees only `card` (no request, no user): it is shared by that
user's requests. Cards with per-request figures (the unread-messages notice, sign-ins) stay uncached.
"""

import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from .cache import get_quietly, namespace_version, set_quietly

KINDS = ("stat", "panel")


@dataclass
class Card:
    template: str
    kind: str = "panel"  # "stat": a number with a label, in the top row; "panel": a section below
    context: dict = field(default_factory=dict)
    html: str | None = None  # already rendered (a cached card): shown as it is


def rendered_cache(*namespaces: str, ttl: float):
    """Mark a `cards(request)` function whose rendered cards may be cached (see the module docstring)."""

    def decorate(fn):
        fn.rendered_cache = (namespaces, ttl)
        return fn

    return decorate


def collect(request) -> list[Card]:
    cards = []
    for path in settings.DASHBOARD_CARDS:
        offer = import_string(path)
        if getattr(offer, "rendered_cache", None):
            cards.extend(_rendered_cards(path, offer, request))
        else:
            cards.extend(offer(request))
    return cards


def _rendered_cards(path: str, offer, request) -> list[Card]:
    namespaces, ttl = offer.rendered_cache
    ttl = min(ttl, settings.DASHBOARD_CACHE_SECONDS)
    if ttl <= 0:  # statistics not cached (DASHBOARD_CACHE_SECONDS=0): neither are their cards
        return offer(request)
    versions = [namespace_version(namespace) for namespace in namespaces]
    if not all(versions):  # the cache is unreachable: render as usual
        return offer(request)
    user = request.user
    digest = hashlib.sha256(f"{path}|{user.pk}|{user.role}|{'|'.join(versions)}".encode()).hexdigest()[:40]
    key = f"lofisite:dashboard:cards:{digest}"
    stored = get_quietly(key)
    if not isinstance(stored, list):
        stored = [[card.kind, render_to_string(card.template, {"card": card.context})] for card in offer(request)]
        set_quietly(key, stored, ttl)
    return [Card(template="", kind=kind, html=mark_safe(html)) for kind, html in stored]  # noqa: S308 (our templates)
