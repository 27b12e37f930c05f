from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.api.viewsets import RestrictedAPIMixin

from .. import ai, breakers
from ..filtersets import AIUsageFilterSet, EventFilterSet
from ..models import AIUsage, CircuitBreaker, Event
from .serializers import AIBudgetSerializer, AIUsageSerializer, CircuitBreakerSerializer, EventSerializer


class EventViewSet(RestrictedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """The operations event log, newest first. Filters: source, kind, status, since, until (ISO 8601).

    Admins only (403 for other roles), like every operations page.
    """

    queryset = Event.objects.select_related("user")
    serializer_class = EventSerializer
    filterset_class = EventFilterSet


class BreakerViewSet(RestrictedAPIMixin, viewsets.GenericViewSet):
    """Circuit breakers of external services (state shared by all processes). Admins only; they may reset one."""

    serializer_class = CircuitBreakerSerializer
    lookup_field = "name"
    lookup_value_regex = r"[\w.-]+"
    pagination_class = None
    queryset = CircuitBreaker.objects.all()  # admins only, even to look (CircuitBreakerQuerySet)

    def _find(self, name):
        for row in breakers.all_breakers(self.request.user):
            if row.name == name:
                return row
        raise NotFound(f"No circuit breaker named {name!r}.")

    def list(self, request):
        return Response(self.get_serializer(breakers.all_breakers(request.user), many=True).data)

    def retrieve(self, request, name=None):
        return Response(self.get_serializer(self._find(name)).data)

    @extend_schema(request=None, responses=CircuitBreakerSerializer)
    @action(detail=True, methods=["post"])
    def reset(self, request, name=None):
        """Close the breaker and clear its counters (admins only); recorded as an event."""
        self._find(name)
        breakers.reset(name, by_user=request.user)
        return Response(self.get_serializer(self._find(name)).data)


class AIUsageViewSet(RestrictedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """The AI cost ledger: your own calls (admins: everyone's). `summary` gives this month's budget."""

    queryset = AIUsage.objects.select_related("user")
    serializer_class = AIUsageSerializer
    filterset_class = AIUsageFilterSet

    @extend_schema(responses=AIBudgetSerializer, filters=False)
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request):
        """Your spend this month against your budget."""
        return Response(AIBudgetSerializer(ai.budget_summary(request.user)).data)
