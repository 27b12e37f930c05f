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
from django.core.cache import caches
from django.template.loader import render_to_string
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe

from .cache import ALL_NAMESPACES, _version_key, namespace_version, set_quietly

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
    offers = [(path, import_string(path)) for path in settings.DASHBOARD_CARDS]
    kept = _kept_cards(request, [(path, offer) for path, offer in offers if getattr(offer, "rendered_cache", None)])
    cards = []
    for path, offer in offers:
        cards.extend(kept[path] if path in kept else offer(request))
    return cards


def _kept_cards(request, offers) -> dict[str, list[Card]]:
    """The rendered cards of the cacheable `offers`, by path: read in two cache round trips (the namespaces'
    versions, then the cards), rendered and stored for those not in the cache."""
    keys, ttls = {}, {}
    versions = _versions({namespace for _, offer in offers for namespace in offer.rendered_cache[0]})
    for path, offer in offers:
        namespaces, ttl = offer.rendered_cache
        ttl = min(ttl, settings.DASHBOARD_CACHE_SECONDS)
        # Not kept while the statistics are not cached (DASHBOARD_CACHE_SECONDS=0) or the cache is unreachable.
        if ttl > 0 and all(versions.get(namespace) for namespace in namespaces):
            user, stamp = request.user, "|".join(versions[namespace] for namespace in namespaces)
            digest = hashlib.sha256(f"{path}|{user.pk}|{user.role}|{stamp}".encode()).hexdigest()[:40]
            keys[path], ttls[path] = f"lofisite:dashboard:cards:{digest}", ttl
    stored = _get_many(list(keys.values()))
    kept = {}
    for path, offer in offers:
        if path not in keys:
            continue
        rendered = stored.get(keys[path])
        if not isinstance(rendered, list):
            rendered = [[card.kind, render_to_string(card.template, {"card": card.context})]
                        for card in offer(request)]
            set_quietly(keys[path], rendered, ttls[path])
        kept[path] = [Card(template="", kind=kind, html=mark_safe(html))  # noqa: S308 (our own templates)
                      for kind, html in rendered]
    return kept


def _versions(namespaces: set[str]) -> dict[str, str]:
    """namespace -> lofisite.cache.namespace_version(namespace), in one round trip when all are stored."""
    names = [ALL_NAMESPACES, *sorted(namespaces)]
    stored = _get_many([_version_key(name) for name in names])
    found = [stored.get(_version_key(name)) for name in names]
    if all(isinstance(version, int) and version > 0 for version in found):
        return {name: f"{found[0]}.{version}" for name, version in zip(names[1:], found[1:], strict=True)}
    return {name: namespace_version(name) for name in namespaces}  # first use, or forgotten: set them up


def _get_many(keys: list[str]) -> dict:
    if not keys:
        return {}
    try:
        return caches["default"].get_many(keys) or {}  # FailSoftRedisCache answers None while Redis is down
    except Exception:  # the cache must never stop the dashboard: everything is then rendered as usual
        return {}
