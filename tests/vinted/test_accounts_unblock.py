"""Unblocking a Vinted account (admins only): the page's button and the API action."""

import pytest
from django.urls import reverse

from tests.helpers import PERSONAS, assert_answer, client_for
from vinted.choices import AccountStatus
from vinted.models import VintedAccount

pytestmark = pytest.mark.django_db


@pytest.fixture
def blocked(operator):
    return VintedAccount.objects.create(owner=operator, label="Otto's shop", domain="vinted.fr", cookies="{}",
                                        status=AccountStatus.BLOCKED, status_message="Vinted blocked it twice.")


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ("login", 403, 403, 403, 302), strict=True)))
def test_only_an_admin_unblocks_an_account_on_its_page(client, personas, blocked, persona, expected):
    response = client_for(client, personas, persona).post(reverse("vinted:account-unblock", args=[blocked.pk]))
    assert_answer(response, expected)
    blocked.refresh_from_db()
    assert blocked.status == (AccountStatus.ACTIVE if expected == 302 else AccountStatus.BLOCKED)


def test_the_button_shows_to_admins_for_a_blocked_account_only(client, operator, admin_user, blocked):
    url = reverse("vinted:account-detail", args=[blocked.pk])
    client.force_login(operator)
    assert "Unblock" not in client.get(url).content.decode()
    client.force_login(admin_user)
    assert "Unblock</button>" in client.get(url).content.decode()
    VintedAccount.objects.filter(pk=blocked.pk).update(status=AccountStatus.ACTIVE)
    assert "Unblock</button>" not in client.get(url).content.decode()


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, (401, 403, 403, 403, 200), strict=True)))
def test_the_api_unblock_is_for_admins(api, api_as, personas, blocked, persona, expected):
    client = api if persona == "anonymous" else api_as(personas[persona])
    response = client.post(f"/api/v1/vinted/accounts/{blocked.pk}/unblock/")
    assert response.status_code == expected, response.content
    if expected == 200:
        assert response.json()["status"] == AccountStatus.ACTIVE and "cookies" not in response.json()


def test_unblocking_an_account_that_is_not_blocked_is_a_400(api_as, admin_user, blocked):
    VintedAccount.objects.filter(pk=blocked.pk).update(status=AccountStatus.ACTIVE)
    response = api_as(admin_user).post(f"/api/v1/vinted/accounts/{blocked.pk}/unblock/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "VALIDATION_ERROR"
