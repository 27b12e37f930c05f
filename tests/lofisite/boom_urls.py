"""The real URLs plus views that fail, for the error-handling tests (and a nonce probe)."""

from django.http import HttpResponse
from django.template import engines
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from lofisite.urls import handler400, handler403, handler404, handler500  # noqa: F401
from lofisite.urls import urlpatterns as real_urlpatterns

SECRET_DETAIL = "boom-secret-detail-7f3a"


def page_boom(request):
    raise RuntimeError(SECRET_DETAIL)


class APIBoomView(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        raise RuntimeError(SECRET_DETAIL)


def inline_script_page(request):
    template = engines["django"].from_string(
        "<!doctype html><title>nonce</title><script nonce=\"{{ csp_nonce }}\">document.title = 'ok';</script>"
    )
    return HttpResponse(template.render({}, request))


urlpatterns = [
    path("_boom/", page_boom),
    path("api/v1/_boom/", APIBoomView.as_view()),
    path("api/_plain_boom/", page_boom),  # a plain Django view under /api/
    path("_inline_script/", inline_script_page),
    *real_urlpatterns,
]
