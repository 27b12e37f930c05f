"""Reposts pages: the role matrix on the page and its actions, the preview (also while reposts are off,
saying so; opening the page writes nothing), cancel a scheduled repost, retry the delete of a failed one."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import JobRun
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.vinted.test_reposts import live_listing, repost_account
from vinted.choices import RepostStatus
from vinted.models import AutomationEvent, AutomationSettings, Repost

pytestmark = pytest.mark.django_db


@pytest.fixture
def repost(operator):
    account = repost_account(operator)
    listing = live_listing(account, now=timezone.now(), title="Levi's 501 W30")
    return Repost.objects.create(account=account, listing=listing, scheduled_for=timezone.now() + timedelta(hours=3))


def _snapshot():
    return (list(Repost.objects.order_by("pk").values_list("pk", "status", "error")), JobRun.objects.count(),
            AutomationSettings.objects.count(), AutomationEvent.objects.count())


# (name, method, url name, object, expected for anonymous, viewer, operator, other, admin)
MATRIX = [
    ("list", "get", "vinted:repost_list", "account", ("login", 404, 200, 404, 200)),
    ("cancel", "post", "vinted:repost_cancel", "repost", ("login", 403, 302, 404, 302)),
    ("retry", "post", "vinted:repost_retry", "repost", ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,method,url_name,one,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, repost, persona, name, method, url_name, one, expected):
    client = client_for(client, personas, persona)
    url = reverse(url_name, args=[repost.account_id if one == "account" else repost.pk])
    before = _snapshot()
    response = client.get(url) if method == "get" else client.post(url)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if want != 302:
        assert _snapshot() == before, "a refused request or a page view changed data"


def test_the_page_previews_while_off_and_says_so(client, operator, repost):
    AutomationSettings.objects.filter(account=repost.account).update(reposts_enabled=False)
    live_listing(repost.account, days_ago=45, now=timezone.now(), title="Old Barbour jacket")
    client.force_login(operator)
    page = client.get(reverse("vinted:repost_list", args=[repost.account_id])).content.decode()
    assert "Reposts are off for this account" in page and "this is what would happen" in page
    assert "Old Barbour jacket" in page and "Would be planned" in page
    assert "Levi&#x27;s 501 W30" in page and f'action="{reverse("vinted:repost_cancel", args=[repost.pk])}"' in page


def test_cancel_from_the_page_and_again_is_an_error_message(client, operator, repost):
    client.force_login(operator)
    url = reverse("vinted:repost_cancel", args=[repost.pk])
    response = client.post(url, follow=True)
    assert "is cancelled" in response.content.decode()
    repost.refresh_from_db()
    assert repost.status == RepostStatus.CANCELLED
    again = client.post(url, follow=True).content.decode()
    assert "Only a scheduled repost can be cancelled" in again


def test_retry_is_offered_for_a_failed_delete_only(client, operator, repost):
    new = live_listing(repost.account, now=timezone.now(), days_ago=0, relisted_from=repost.listing)
    Repost.objects.filter(pk=repost.pk).update(status=RepostStatus.FAILED, new_listing=new,
                                               error="Deleting the old item on Vinted failed: 500.")
    client.force_login(operator)
    page = client.get(reverse("vinted:repost_list", args=[repost.account_id])).content.decode()
    assert "Retry the delete" in page and "Deleting the old item on Vinted failed" in page
    response = client.post(reverse("vinted:repost_retry", args=[repost.pk]), follow=True)
    assert "Deleting the old item" in response.content.decode()
    repost.refresh_from_db()
    assert repost.status == RepostStatus.DELETING
    assert JobRun.objects.filter(name="vinted.repost", args=[repost.pk]).exists()


def test_times_are_shown_in_the_accounts_time_zone(client, operator, repost):
    from datetime import UTC, datetime

    AutomationSettings.objects.filter(account=repost.account).update(time_zone="America/New_York")
    Repost.objects.filter(pk=repost.pk).update(scheduled_for=datetime(2030, 1, 7, 23, 30, tzinfo=UTC))
    client.force_login(operator)
    page = client.get(reverse("vinted:repost_list", args=[repost.account_id])).content.decode()
    assert "2030-01-07 18:30" in page and "America/New_York" in page
