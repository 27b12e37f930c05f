"""Username rules beyond Django's: one script per name, so "аdmin" (Cyrillic а) cannot pose as "admin"."""

import unicodedata

from confusable_homoglyphs import confusables
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible


def normalize_username(value: str) -> str:
    """NFKC, as Django's own forms do: fullwidth "ａｄｍｉｎ" becomes "admin"."""
    return unicodedata.normalize("NFKC", value or "")


# Scripts that one language writes together (Japanese, Korean): not a look-alike trick.
_WRITTEN_TOGETHER = [{"HAN", "HIRAGANA", "KATAKANA"}, {"HAN", "HANGUL"}]


def scripts_of(value: str) -> set[str]:
    """The Unicode scripts of a string's letters (confusable-homoglyphs' table), digits and marks left out."""
    return {confusables.alias(ch) or "UNKNOWN" for ch in value} - {"COMMON", "INHERITED"}


@deconstructible
class SingleScriptUsernameValidator:
    """Refuse names that mix scripts (Latin with Cyrillic, Greek, ...). Digits and ._@+- mix with any."""

    message = "Use letters from one alphabet only: this name mixes %(scripts)s, which can imitate another name."
    code = "mixed_script"

    def __call__(self, value):
        scripts = scripts_of(normalize_username(value))
        if len(scripts) > 1 and not any(scripts <= together for together in _WRITTEN_TOGETHER):
            raise ValidationError(self.message, code=self.code,
                                  params={"scripts": " and ".join(s.title() for s in sorted(scripts))})

    def __eq__(self, other):
        return isinstance(other, SingleScriptUsernameValidator)
