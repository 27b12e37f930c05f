from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from lofisite.errors import APIError

from ..lockout import lockout_response
from ..models import LoginEvent, User
from .permissions import IsAdminRole
from .serializers import (
    LoginEventSerializer,
    LogoutSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)


class AuthThrottleMixin:
    throttle_scope = "auth"

    def get_throttles(self):
        from lofisite.client_ip import ScopedRateThrottle

        return [ScopedRateThrottle()]


class TokenObtainView(AuthThrottleMixin, jwt_views.TokenObtainPairView):
    """Exchange username and password for an access token (30 min) and a refresh token (7 days)."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        # django-axes flags the DRF request (which it was given), not the Django request its
        # middleware looks at; answer with the same lockout as the HTML sign-in.
        if getattr(self.request, "axes_locked_out", False):
            return lockout_response(self.request, response)
        return response


class TokenRefreshView(AuthThrottleMixin, jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is blacklisted."""


class LogoutView(AuthThrottleMixin, APIView):
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


class UserViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Users (admins only). Users are deactivated (`is_active: false`), never deleted."""


    def get_permissions(self):
        return [*super().get_permissions(), IsAdminRole()]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_class(self):
        return {"create": UserCreateSerializer, "partial_update": UserUpdateSerializer}.get(self.action,
                                                                                           UserSerializer)

    def get_queryset(self):
        return User.objects.restrict(self.request.user).order_by("username")


class LoginEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Your recent sign-ins (admins see everyone's)."""

    serializer_class = LoginEventSerializer

    def get_queryset(self):
        return LoginEvent.objects.restrict(self.request.user)
