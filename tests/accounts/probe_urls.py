"""The real URLs plus one API endpoint that keeps the default permission classes.

Every future endpoint inherits the defaults (role scope + legal gate); this
probe lets tests check that policy without depending on a domain app.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from lofisite.urls import handler400, handler403, handler404, handler500  # noqa: F401
from lofisite.urls import urlpatterns as real_urlpatterns


class ProbeView(APIView):
    def get(self, request):
        return Response({"read": True})

    def post(self, request):
        return Response({"written": True}, status=201)


urlpatterns = [path("api/v1/_probe/", ProbeView.as_view()), *real_urlpatterns]
