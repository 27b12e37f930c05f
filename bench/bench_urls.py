"""The product's URLs plus /bench/bare/, a bare Django view returning a fixed JSON body (bench only)."""

from django.contrib import admin
from django.http import HttpResponse
from django.urls import path

from lofisite.urls import handler400, handler403, handler404, handler500  # noqa: F401
from lofisite.urls import urlpatterns as product_urls
from pipeline.models import Run
from pipeline.views.runs import RunListView

_BODY = b'{"status": "ok", "items": [1, 2, 3]}'


def bare_json(request):
    return HttpResponse(_BODY, content_type="application/json")


# Both list pages show the 50 rows (the runs page shows 25 in the product): the same rows on both sides.
RunListView.paginate_by = 50
admin.site._registry[Run].list_per_page = 50

urlpatterns = [path("bench/bare/", bare_json), *product_urls]
