"""The home dashboard is assembled from cards that each app offers (imports no app).

`settings.DASHBOARD_CARDS` lists dotted paths of functions `cards(request) -> list[Card]`;
the project only lists them, each app decides what its cards show and through its own
restricted querysets, so a card never shows what its app would hide from the user.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass
class Card:
    template: str
    kind: str = "panel"  # "stat": a number with a label, in the top row; "panel": a section below
    context: dict = field(default_factory=dict)


def collect(request) -> list[Card]:
    cards = []
    for path in settings.DASHBOARD_CARDS:
        cards.extend(import_string(path)(request))
    return cards
