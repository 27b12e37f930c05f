"""The API's one paginator: `limit` / `offset`, checked instead of guessed.

DRF's LimitOffsetPagination silently falls back to the defaults on a `limit` or
`offset` that is not a number (or is empty), and passes a huge `limit` straight to the
database (SQLite answers `IntegrityError: datatype mismatch`, a 500). Here a
value that is not a whole number (or is negative, or a zero `limit`) is a 400
VALIDATION_ERROR naming the parameter; a `limit` above `API_MAX_PAGE_SIZE` is
clamped to it (the answer's `next` link then carries the clamped limit), and an
`offset` past the end gives an empty page. Pages are `limit`/`offset` only; there
is no `page` / `page_size` parameter.
"""

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

# Larger than any table will hold, small enough for every database's OFFSET (bigint).
MAX_OFFSET = 2**53


class LimitOffsetPagination(LimitOffsetPagination):
    @property
    def max_limit(self):
        return settings.API_MAX_PAGE_SIZE

    def _number(self, request, name, minimum, maximum):
        if name not in request.query_params:
            return None
        text = request.query_params[name].strip()
        if not (text.isascii() and text.isdigit()):
            raise ValidationError({name: [f"A whole number of at least {minimum} is required."]})
        value = int(text) if len(text) <= 20 else maximum + 1  # no giant int() on a 4 kB string
        if value < minimum:
            raise ValidationError({name: [f"A whole number of at least {minimum} is required."]})
        return min(value, maximum)

    def get_limit(self, request):
        limit = self._number(request, self.limit_query_param, 1, self.max_limit)
        return min(self.default_limit, self.max_limit) if limit is None else limit

    def get_offset(self, request):
        offset = self._number(request, self.offset_query_param, 0, MAX_OFFSET)
        return offset or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (f"Number of results to return per page (default {self.default_limit}; "
                                            f"values above {self.max_limit} are treated as {self.max_limit}).")
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"]["minimum"] = 0
        return parameters
