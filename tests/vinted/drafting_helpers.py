"""Shared pieces of the AI draft tests: a good model answer and listings with photos."""

import copy

from tests.factories import ListingFactory, PhotoFactory, image_bytes

FIELDS = ("title", "description", "category", "brand", "size", "condition", "colours", "price", "hashtags")

GOOD_ANSWER = {
    "title": "Levi's 501 straight jeans, mid blue",
    "description": "Classic straight-leg Levi's jeans in a mid-blue wash. Worn a few times, no marks.",
    "category": "Women > Clothing > Jeans",
    "brand": "Levi's",
    "size": "W28",
    "condition": "Very good",
    "colours": ["Blue"],
    "price": {"min": 15, "target": 22.5, "max": 30},
    "hashtags": ["levis", "#denim", "straightleg"],
    "confidence": {name: 0.8 for name in FIELDS},
}


def good_answer(**changes):
    answer = copy.deepcopy(GOOD_ANSWER)
    answer.update(changes)
    return answer


def listing_with_photo(owner, colour=(200, 30, 30), **fields):
    """A listing of `owner` (a bare title unless fields say more) with one ready photo of one colour."""
    fields.setdefault("title", "")
    listing = ListingFactory(owner=owner, **fields)
    picture = image_bytes(120, 90, colour)
    PhotoFactory(listing=listing, display__data=picture, original__data=picture)
    return listing
