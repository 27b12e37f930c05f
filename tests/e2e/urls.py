"""The project's URLs plus one view that crashes, to see the 500 page in a browser."""

from django.urls import path

from lofisite.urls import handler400, handler403, handler404, handler500  # noqa: F401
from lofisite.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("Deliberate failure for the 500 page test")


urlpatterns = [path("__crash__/", crash), *project_urlpatterns]
