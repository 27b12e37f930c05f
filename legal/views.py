from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView, TemplateView

from accounts.services import client_ip

from . import services
from .forms import AcceptanceForm
from .models import DocumentKind, LegalDocument


class DocumentView(TemplateView):
    """Public: anyone may read the current version of a document."""

    template_name = "legal/document.html"

    def get_context_data(self, **kwargs):
        try:
            kind = DocumentKind(self.kwargs["kind"])
        except ValueError:
            raise Http404("No such document.")
        doc = LegalDocument.objects.current().filter(kind=kind).first()
        if doc is None:
            raise Http404("This document has not been published.")
        return super().get_context_data(document=doc, html=services.render_markdown(doc.body),
                                        kinds=DocumentKind.choices, **kwargs)


class AcceptView(LoginRequiredMixin, FormView):
    template_name = "legal/accept.html"
    form_class = AcceptanceForm

    def dispatch(self, request, *args, **kwargs):
        self.documents = services.pending_documents(request.user) if request.user.is_authenticated else []
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "documents": self.documents}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(next=self._next_url(), **kwargs)
        form = context["form"]
        context["rendered"] = [(doc, services.render_markdown(doc.body), form[f"doc_{doc.pk}"])
                               for doc in self.documents]
        return context

    def get(self, request, *args, **kwargs):
        if not self.documents:
            return redirect(self._next_url())
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        services.accept(self.request.user, self.documents, client_ip(self.request),
                        self.request.headers.get("User-Agent", ""))
        messages.success(self.request, "Thank you. Your acceptance has been recorded.")
        return redirect(self._next_url())

    def _next_url(self):
        target = self.request.POST.get("next") or self.request.GET.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, {self.request.get_host()},
                                               require_https=self.request.is_secure()):
            return "/"
        return target
