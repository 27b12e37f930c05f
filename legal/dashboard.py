"""Legal's card on the home dashboard: the current documents and whether you accepted them."""

from lofisite.dashboard import Card

from .models import LegalAcceptance
from .services import current_documents


def cards(request):
    user = request.user
    accepted = set(LegalAcceptance.objects.restrict(user).filter(user=user).values_list("document_id", flat=True))
    return [Card("legal/_dashboard_documents.html", "panel",
                 {"documents": [(doc, doc.pk in accepted) for doc in current_documents()]})]
