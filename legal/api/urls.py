from django.urls import path

from . import views

urlpatterns = [
    path("legal/documents/", views.LegalDocumentListView.as_view(), name="legal_documents"),
    path("legal/accept/", views.LegalAcceptView.as_view(), name="legal_accept"),
]
