"""Readable text for a service's ValidationError (pages' flash messages and commands' errors)."""

from django.core.exceptions import ValidationError


def error_text(exc: ValidationError, field_labels: dict[str, str] | None = None, *, name_fields=True) -> str:
    """A ValidationError as one readable line.

    Field errors are prefixed by their field's label (`field_labels`, e.g. a command's
    option names; else the field name in words); `name_fields=False` gives only the
    messages (a page's flash message beside the form that names the fields itself).
    """
    if not (name_fields and hasattr(exc, "error_dict")):
        return " ".join(exc.messages)
    field_labels = field_labels or {}
    parts = []
    for field, errors in exc.message_dict.items():
        label = field_labels.get(field, field.replace("_", " "))
        parts.append(f"{label}: {' '.join(errors)}" if field != "__all__" else " ".join(errors))
    return "; ".join(parts)
