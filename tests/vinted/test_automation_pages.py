"""The Automation page: the role matrix on the page and its actions, the status banner (paused by
hand, paused because Vinted blocked the account, a refused resume), the settings form (saved as a
whole, or 400 with errors at their fields and nothing changed), the rules, what is scheduled next
and the history (filters, pages); a 403 from the fake Vinted pauses automation and the page says so."""

from datetime import UTC, datetime, timedelta

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tests.fakes.vinted_inbox import add_conversation, add_message
from tests.helpers import PERSONAS, assert_answer, client_for
from tests.monitoring.worker import run_worker
from tests.vinted.automation_helpers import form_data
from tests.vinted.inbox_helpers import account_on_fake, stored_conversation
from vinted.choices import AccountStatus, AutomationFeature, AutomationOutcome
from vinted.models import (
    AutomationEvent,
    AutomationSettings,
    Conversation,
    Listing,
    PriceDropRule,
    VintedAccount,
)
from vinted.services import automation, inbox
from vinted.views.automation import EVENTS_PER_PAGE, upcoming_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(operator):
    account = stored_conversation(operator).account
    automation.settings_for(account, create=True)
    return account


def _snapshot():
    return list(AutomationSettings.objects.order_by("pk").values())


def _page(client, account, **query):
    response = client.get(reverse("vinted:automation", args=[account.pk]), query)
    assert response.status_code == 200
    return response.content.decode()


# (name, method, url name, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("page", "get", "vinted:automation", ("login", 404, 200, 404, 200)),
    ("settings", "post", "vinted:automation_settings", ("login", 403, 302, 404, 302)),
    ("pause", "post", "vinted:automation_pause", ("login", 403, 302, 404, 302)),
    ("resume", "post", "vinted:automation_resume", ("login", 403, 302, 404, 302)),
]


@pytest.mark.parametrize("name,method,url_name,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, account, persona, name, method, url_name, expected):
    client = client_for(client, personas, persona)
    url = reverse(url_name, args=[account.pk])
    data = form_data(account, reply_tone="concise") if name == "settings" else {}
    before = _snapshot()
    response = client.get(url) if method == "get" else client.post(url, data)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    if method == "post" and want != 302:
        assert _snapshot() == before, "a refused request changed data"
    if want == 302:
        assert response["Location"] == reverse("vinted:automation", args=[account.pk])


def test_page_has_the_switches_the_rules_the_schedule_and_the_history(client, operator, account):
    listing = Listing.objects.create(owner=operator, title="Levi's 501 W32")
    PriceDropRule.objects.create(account=account, listing=listing, percent=10, after_days=7, every_days=3)
    PriceDropRule.objects.create(account=account, amount=2, floor=5)
    automation.record(account, AutomationFeature.PRICE_DROPS, AutomationOutcome.DONE, "Price 20 -> 18",
                      listing=listing)
    client.force_login(operator)
    page = _page(client, account)
    assert "Automation is on, but every feature is off" in page
    assert f'action="{reverse("vinted:automation_pause", args=[account.pk])}"' in page
    assert 'name="auto_reply_intents" value="availability"' in page
    assert 'value="offer"' not in page  # offers are never an auto-send choice
    assert "Mon-Fri 18:00-21:30\nSat,Sun 10:00-12:00" in page  # busy windows as text lines
    assert "Levi&#x27;s 501 W32" in page and "10 % every 3 d, after 7 d unsold" in page
    assert "Every listing without its own rule" in page
    assert "Nothing scheduled in the next 24 hours" in page
    assert "Price 20 -&gt; 18" in page
    account_page = client.get(reverse("vinted:account-detail", args=[account.pk])).content.decode()
    assert reverse("vinted:automation", args=[account.pk]) in account_page


def test_the_page_of_an_account_without_settings_writes_no_row(client, operator):
    account = stored_conversation(operator, label="Fresh").account
    client.force_login(operator)
    assert "Automation" in _page(client, account)
    assert not AutomationSettings.objects.filter(account=account).exists()


def test_the_admin_sees_and_changes_someone_elses_automation(client, admin_user, account):
    client.force_login(admin_user)
    assert "Save settings" in _page(client, account)
    response = client.post(reverse("vinted:automation_settings", args=[account.pk]),
                           form_data(account, reposts_enabled="on"))
    assert response.status_code == 302
    assert AutomationSettings.objects.get(account=account).reposts_enabled is True


def test_saving_the_form_changes_every_setting_at_once(client, operator, account):
    client.force_login(operator)
    response = client.post(reverse("vinted:automation_settings", args=[account.pk]), form_data(
        account, auto_reply_intents=["availability", "shipping"], reply_tone="professional",
        auto_replies_per_conversation="2", auto_reply_delay_min_seconds="30", auto_reply_delay_max_seconds="90",
        night_start="23:30", night_end="07:00", price_drops_enabled="on", reposts_enabled="on",
        repost_after_days="21", busy_windows="Sat,Sun 09:00-11:00", time_zone="Europe/London"))
    assert response.status_code == 302
    stored = AutomationSettings.objects.get(account=account)
    assert (stored.auto_reply_intents, stored.reply_tone, stored.auto_replies_per_conversation,
            stored.auto_reply_delay_min_seconds, stored.auto_reply_delay_max_seconds, stored.night_start.hour,
            stored.price_drops_enabled, stored.reposts_enabled, stored.repost_after_days, stored.busy_windows,
            stored.time_zone) == (
        ["availability", "shipping"], "professional", 2, 30, 90, 23, True, True, 21,
        [{"days": [5, 6], "start": "09:00", "end": "11:00"}], "Europe/London")
    page = client.get(response["Location"]).content.decode()
    assert "settings of Stored shop saved" in page and "auto-replies, price drops, reposts" in page
    assert "Sat,Sun 09:00-11:00" in page


@pytest.mark.parametrize("changes,field,message", [
    ({"auto_reply_delay_min_seconds": "400", "auto_reply_delay_max_seconds": "300"},
     "auto_reply_delay_min_seconds", "The shortest delay cannot be longer than the longest."),
    ({"auto_reply_delay_max_seconds": "4000"}, "auto_reply_delay_max_seconds", "from 0 to 3600 seconds"),
    ({"auto_replies_per_conversation": "11"}, "auto_replies_per_conversation", "from 0 to 10"),
    ({"auto_reply_intents": ["offer"]}, "auto_reply_intents", "Select a valid choice"),
    ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not a time zone"),
    ({"busy_windows": "Mon-Fri 18:00-21:30\nweekends 10-12"}, "busy_windows", "Line 2"),
    ({"busy_windows": "Mon 21:00-18:00"}, "busy_windows", "start must be before the end"),
    ({"night_start": "late"}, "night_start", "Enter a valid time"),
    ({"repost_after_days": None}, "repost_after_days", "This field is required"),
])
def test_bad_settings_answer_400_with_the_error_at_its_field_and_change_nothing(
        client, operator, account, changes, field, message):
    client.force_login(operator)
    before = _snapshot()
    response = client.post(reverse("vinted:automation_settings", args=[account.pk]),
                           form_data(account, reply_tone="concise", **changes))
    assert response.status_code == 400
    form = response.context["form"]
    assert message in " ".join(form.errors[field]), form.errors
    assert _snapshot() == before
    assert 'aria-invalid="true"' in response.content.decode() or field == "auto_reply_intents"


def test_pause_and_resume_switch_and_are_shown(client, operator, account):
    client.force_login(operator)
    client.post(reverse("vinted:automation_pause", args=[account.pk]))
    page = _page(client, account)
    assert "Automation is paused by hand" in page and "Resume automation" in page
    client.post(reverse("vinted:automation_resume", args=[account.pk]))
    assert AutomationSettings.objects.get(account=account).paused is False
    assert "Pause all automation" in _page(client, account)


def test_a_403_from_vinted_pauses_automation_and_the_page_says_so(
        client, fake_vinted, operator, django_capture_on_commit_callbacks):
    account = account_on_fake(fake_vinted, operator)
    automation.update_settings(account, {"price_drops_enabled": True, "reposts_enabled": True,
                                         "auto_reply_intents": ["availability"]}, by_user=operator)
    conv_id = add_conversation(fake_vinted, buyer="marie")
    add_message(fake_vinted, conv_id, "Is it still available?")
    inbox.sync_account(account)
    inbox.send_reply(Conversation.objects.get(vinted_id=str(conv_id)), "Yes!", by_user=operator)
    fake_vinted.fail_next("forbidden", paths=r"/messages$")  # the write meets a block
    run_worker()

    account.refresh_from_db()
    stored = AutomationSettings.objects.get(account=account)
    assert account.status == AccountStatus.COOLING_DOWN
    assert stored.paused and stored.paused_reason.startswith("Vinted blocked the account")
    assert automation.inactive_reason(account, AutomationFeature.REPOSTS).startswith("The account is cooling down")
    paused = AutomationEvent.objects.filter(account=account, outcome=AutomationOutcome.PAUSED)
    assert sorted(paused.values_list("feature", flat=True)) == sorted(AutomationFeature.values)

    client.force_login(operator)
    page = _page(client, account)
    assert "Automation is paused because Vinted blocked this account. It stays paused until you resume it" in page
    assert "once the account is active again" in page and "Resume automation" not in page
    assert stored.paused_at.astimezone(automation.zone(stored)).strftime("%Y-%m-%d %H:%M") in page
    response = client.post(reverse("vinted:automation_resume", args=[account.pk]), follow=True)
    assert "cannot be resumed while the account is cooling down" in response.content.decode()
    assert AutomationSettings.objects.get(account=account).paused is True

    VintedAccount.objects.filter(pk=account.pk).update(status=AccountStatus.ACTIVE)  # the cool-down ended
    account.refresh_from_db()
    assert automation.inactive_reason(account, AutomationFeature.REPOSTS) == stored.paused_reason
    page = _page(client, account)
    assert "It stays paused until you resume it." in page and "Resume automation" in page


def test_the_history_is_newest_first_filtered_and_paged(client, operator, account):
    now = timezone.now()
    for index in range(EVENTS_PER_PAGE + 2):
        AutomationEvent.objects.create(account=account, feature=AutomationFeature.REPOSTS,
                                       outcome=AutomationOutcome.SKIPPED, message=f"repost {index}",
                                       at=now - timedelta(minutes=index))
    automation.record(account, AutomationFeature.REPLIES, AutomationOutcome.FAILED, "reply refused: e-mail address")
    other = stored_conversation(operator, label="Other shop").account
    automation.record(other, AutomationFeature.REPLIES, AutomationOutcome.FAILED, "other shop's event")
    client.force_login(operator)
    page = _page(client, account)
    assert page.index("reply refused") < page.index("repost 0</td>") < page.index("repost 1</td>")  # newest first
    assert "other shop" not in page and "Page 1 of 2" in page
    assert "repost 25" not in page and "repost 25" in _page(client, account, page=2)
    only_failed = _page(client, account, outcome="failed")
    assert "reply refused" in only_failed and "repost 0" not in only_failed
    assert "Clear filters" in only_failed
    assert "repost 0" in _page(client, account, feature="reposts") and "reply refused" not in _page(
        client, account, feature="reposts")
    assert "Nothing matches these filters" in _page(client, account, feature="price_drops")


def test_the_scheduled_list_shows_local_times_features_and_what(operator):
    listing = Listing.objects.create(owner=operator, title="Denim jacket")
    conversation = stored_conversation(operator)
    at = datetime(2026, 12, 2, 17, 5, tzinfo=UTC)
    planned = [automation.Planned(at=at, feature=AutomationFeature.REPOSTS, what="Repost as a new listing",
                                  listing=listing),
               automation.Planned(at=at + timedelta(minutes=30), feature=AutomationFeature.REPLIES,
                                  what="Reply to marie (availability)", conversation=conversation)]
    html = render_to_string("vinted/automation/_upcoming.html", {
        "upcoming": upcoming_rows(planned), "time_zone": "Europe/Paris", "upcoming_hours": 24})
    assert "When (Europe/Paris)" in html and "Reposts" in html and "Auto-replies" in html
    assert "Repost as a new listing" in html and "Denim jacket" in html and "Reply to marie" in html
    assert html.index("Repost as") < html.index("Reply to marie")
    assert "Wed 18:05" in html and "Wed 18:35" in html  # 17:05 UTC is 18:05 in Paris in winter
    assert conversation.get_absolute_url() in html
