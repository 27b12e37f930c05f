"""The one permission rule: restrict(), permits(), can_add() and model_permits() agree, and the
template tag, the API permission class and request_scopes() ask the same rule."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from rest_framework.test import APIRequestFactory

from accounts.api.permissions import HasRoleScope, request_action, request_scopes
from accounts.models import LoginEvent, User
from monitoring.models import CircuitBreaker
from pipeline.models import Schedule, YouTubeChannel
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(operator):
    return ScheduleFactory(created_by=operator, name="Nightly")


def test_owned_rows_everyone_sees_only_the_owner_and_admins_change(schedule, personas):
    visible = {name: Schedule.objects.permits(user, schedule, "view") for name, user in personas.items()}
    changes = {name: Schedule.objects.permits(user, schedule, "change") for name, user in personas.items()}
    assert visible == {"admin": True, "operator": True, "other_operator": True, "viewer": True}
    assert changes == {"admin": True, "operator": True, "other_operator": False, "viewer": False}
    for name, user in personas.items():  # permits() is restrict() for one object
        assert (schedule in Schedule.objects.restrict(user, "change")) == changes[name]
    adds = {name: Schedule.objects.can_add(user) for name, user in personas.items()}
    assert adds == {"admin": True, "operator": True, "other_operator": True, "viewer": False}


def test_admin_managed_kinds_are_changed_by_admins_only(personas):
    channel = YouTubeChannel.objects.create(client_id="id", client_secret="s", refresh_token="r",
                                            connected_by=personas["admin"])
    for name, user in personas.items():
        is_admin = name == "admin"
        assert YouTubeChannel.objects.permits(user, channel, "view")
        assert YouTubeChannel.objects.can_add(user) is is_admin
        assert YouTubeChannel.objects.permits(user, channel, "delete") is is_admin
        assert CircuitBreaker.objects.model_permits(user, "change") is is_admin


def test_personal_rows_and_users(personas, operator, other_operator):
    mine = LoginEvent.objects.create(user=operator, device_hash="a")
    assert LoginEvent.objects.permits(operator, mine, "view")
    assert not LoginEvent.objects.permits(other_operator, mine, "view")
    assert not LoginEvent.objects.permits(operator, mine, "change")
    assert list(User.objects.restrict(operator)) == [operator]
    assert User.objects.shows_everyone(personas["admin"]) and not User.objects.shows_everyone(operator)
    assert User.objects.model_permits(personas["admin"], "admin")
    assert not User.objects.model_permits(operator, "admin")


def test_nobody_signed_out_or_deactivated_is_permitted(schedule, operator):
    assert not Schedule.objects.permits(AnonymousUser(), schedule, "view")
    assert not Schedule.objects.can_add(AnonymousUser())
    operator.is_active = False
    assert not Schedule.objects.permits(operator, schedule, "view")
    assert not Schedule.objects.permits(operator, Schedule(created_by=operator), "view")  # unsaved: never


def test_template_tags_ask_the_same_rule(schedule, operator, other_operator, viewer):
    template = Template('{% load permissions %}{% permits obj "change" as may %}{% can_add obj as add %}'
                        "{{ may }}/{{ add }}")
    rendered = {user.username: template.render(Context({"user": user, "obj": schedule}))
                for user in (operator, other_operator, viewer)}
    assert rendered == {"otto": "True/True", "oona": "False/True", "vera": "False/False"}


def test_request_scopes_are_a_ceiling_on_the_role(operator, viewer):
    def scopes(user, auth):
        return request_scopes(SimpleNamespace(user=user, auth=auth))

    assert scopes(operator, None) == {"read", "write"}  # a browser session: the role's
    assert scopes(operator, {"scope": "read"}) == {"read"}  # a JWT's claim
    assert scopes(operator, SimpleNamespace(scopes={"read"})) == {"read"}  # a personal API token
    assert scopes(viewer, SimpleNamespace(scopes={"read", "write"})) == {"read"}  # never above the role


class _RunView:
    """What the permission class reads from a viewset: its queryset rule and whether it is a detail route."""

    queryset = Schedule.objects.all()
    detail = False

    def get(self):
        pass

    def post(self):
        pass


def test_one_api_permission_class_maps_methods_to_actions(operator, viewer):
    factory = APIRequestFactory()
    view = _RunView()

    def allowed(user, method, auth=None):
        request = getattr(factory, method)("/")
        request.user, request.auth = user, auth
        return HasRoleScope().has_permission(request, view)

    assert request_action(factory.post("/"), view) == "add"
    view.detail = True
    assert request_action(factory.post("/"), view) == "change"  # a POST to one object changes it
    assert allowed(operator, "post") and allowed(operator, "get")
    assert not allowed(operator, "post", SimpleNamespace(scopes={"read"}))  # a read-only token
    assert allowed(viewer, "get") and not allowed(viewer, "post")
