from drf_spectacular.utils import extend_schema
from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.viewsets import RestrictedAPIMixin
from accounts.roles import Action
from accounts.services import client_ip

from .. import services
from ..models import LegalAcceptance, LegalDocument
from .serializers import AcceptResultSerializer, AcceptSerializer, LegalAcceptanceSerializer, LegalDocumentSerializer


class LegalDocumentListView(generics.ListAPIView):
    """The current version of every legal document, with whether you accepted it."""

    serializer_class = LegalDocumentSerializer
    legal_gate_exempt = True
    pagination_class = None

    def get_queryset(self):
        return LegalDocument.objects.restrict(self.request.user).current()

    def get_serializer_context(self):
        accepted = set(LegalAcceptance.objects.restrict(self.request.user).filter(user=self.request.user)
                       .values_list("document_id", flat=True))
        return {**super().get_serializer_context(), "accepted_ids": accepted}


class LegalAcceptView(APIView):
    """Accept current document versions by id."""

    # Accepting the terms is a write every role may make, viewers included.
    permission_classes = [IsAuthenticated]
    legal_gate_exempt = True

    @extend_schema(request=AcceptSerializer, responses={200: AcceptResultSerializer})
    def post(self, request):
        current = services.current_documents()
        serializer = AcceptSerializer(data=request.data, context={"current": current})
        serializer.is_valid(raise_exception=True)
        services.accept(request.user, serializer.validated_data["documents"], client_ip(request),
                        request.headers.get("User-Agent", ""))
        pending = {doc.pk for doc in services.pending_documents(request.user)}
        accepted = {doc.pk for doc in current} - pending
        result = {"documents": current, "pending": [doc.kind for doc in current if doc.pk in pending]}
        return Response(AcceptResultSerializer(result, context={"accepted_ids": accepted}).data)


class LegalAcceptanceViewSet(RestrictedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Who accepted which version, when and from where (admins only)."""

    queryset = LegalAcceptance.objects.select_related("user", "document")
    permission_action = Action.ADMIN  # the record of everyone's acceptances
    serializer_class = LegalAcceptanceSerializer
