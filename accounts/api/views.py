from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from lofisite.errors import APIError

from .. import roles
from ..lockout import lockout_response
from ..models import LoginEvent, User
from .serializers import (
    LoginEventSerializer,
    LogoutSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from .viewsets import RestrictedAPIMixin


class AuthThrottleMixin:
    throttle_scope = "auth"

    def get_throttles(self):
        from lofisite.client_ip import ScopedRateThrottle

        return [ScopedRateThrottle()]


class SessionlessMixin:
    """Token endpoints answer without a session cookie: django-axes creates a session to hash
    it (`get_client_session_hash`) unless the request has none, and an API client has no use
    for a `sessionid` (nor the database for its row)."""

    def initialize_request(self, request, *args, **kwargs):
        if hasattr(request, "session"):
            del request.session
        return super().initialize_request(request, *args, **kwargs)


class TokenObtainView(SessionlessMixin, AuthThrottleMixin, jwt_views.TokenObtainPairView):
    """Exchange username and password for an access token (30 min) and a refresh token (7 days)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # django-axes flags the DRF request (which it was given), not the Django request its
        # middleware looks at; answer with the same lockout as the HTML sign-in.
        if getattr(self.request, "axes_locked_out", False):
            return lockout_response(self.request, response)
        return response


class TokenRefreshView(SessionlessMixin, AuthThrottleMixin, jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted."""


class LogoutView(SessionlessMixin, AuthThrottleMixin, APIView):
    """Blacklist a refresh token so it can no longer be used."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=LogoutSerializer, responses={204: None})
    def post(self, request):
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            RefreshToken(serializer.validated_data["refresh"]).blacklist()
        except TokenError as exc:
            raise APIError("INVALID_TOKEN", f"Refresh token rejected: {exc}", status.HTTP_401_UNAUTHORIZED)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(generics.RetrieveAPIView):
    """The signed-in user with role and scopes."""

    serializer_class = UserSerializer
    legal_gate_exempt = True  # clients read their status before accepting the terms

    def get_object(self):
        return User.objects.restrict(self.request.user).get(pk=self.request.user.pk)


class UserViewSet(RestrictedAPIMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                  viewsets.ReadOnlyModelViewSet):
    """Users (admins only). Users are deactivated (`is_active: false`), never deleted."""

    queryset = User.objects.order_by("username")
    permission_action = roles.Action.ADMIN  # user management, reads included
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return {"create": UserCreateSerializer, "partial_update": UserUpdateSerializer}.get(self.action,
                                                                                           UserSerializer)



class LoginEventViewSet(RestrictedAPIMixin, viewsets.ReadOnlyModelViewSet):
    """Your recent sign-ins (admins see everyone's)."""

    queryset = LoginEvent.objects.all()
    serializer_class = LoginEventSerializer
