"""The AI costs page, its chart and CSV export, and budget changes: the role matrix (a person sees
their own spend; admins everyone's; only admins change a budget), ranges, and bad input."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from monitoring import ai, costs
from monitoring.models import Event
from tests.factories import AIUsageFactory
from tests.helpers import PERSONAS, assert_answer, client_for

pytestmark = pytest.mark.django_db


def spend(user, amount, *, days_ago=0, model="gpt-4o-mini", request_type="pipeline.metadata"):
    when = timezone.now() - timedelta(days=days_ago)
    return AIUsageFactory(user=user, cost_usd=Decimal(amount), created_at=when, model=model,
                          request_type=request_type, prompt_tokens=100, completion_tokens=20)


@pytest.fixture
def ledger(personas):
    spend(personas["operator"], "1.25", model="op-model", request_type="vinted.draft")
    spend(personas["operator"], "0.50", days_ago=3, model="op-model", request_type="vinted.draft")
    spend(personas["operator"], "4.00", days_ago=20, model="op-model", request_type="vinted.draft")
    spend(personas["other_operator"], "7.77", model="other-model", request_type="pipeline.artwork")
    spend(personas["admin"], "0.10", model="admin-model", request_type="pipeline.metadata")


# (name, method, url name, data, expected for anonymous, viewer, operator, other_operator, admin)
MATRIX = [
    ("page", "get", "monitoring:costs", None, ("login", 200, 200, 200, 200)),
    ("chart", "get", "monitoring:costs-chart", None, ("login", 200, 200, 200, 200)),
    ("export", "get", "monitoring:costs-export", None, ("login", 200, 200, 200, 200)),
    ("budget", "post", "monitoring:costs-budget", {"budget_usd": "33.50"}, ("login", 403, 403, 403, 302)),
]


@pytest.mark.parametrize("name,method,url_name,data,expected", MATRIX, ids=[row[0] for row in MATRIX])
@pytest.mark.parametrize("persona", PERSONAS)
def test_role_matrix(client, personas, ledger, persona, name, method, url_name, data, expected):
    client = client_for(client, personas, persona)
    target = personas["operator"]
    if method == "get":
        response = client.get(reverse(url_name))
    else:
        prefixed = {f"user{target.pk}-{key}": value for key, value in data.items()}
        response = client.post(reverse(url_name, args=[target.pk]), prefixed)
    want = expected[PERSONAS.index(persona)]
    assert_answer(response, want)
    target.refresh_from_db()
    if method == "post":
        assert target.ai_monthly_budget_usd == (Decimal("33.50") if want == 302 else None)


def test_a_person_sees_only_their_own_spend(client, personas, ledger):
    client.force_login(personas["operator"])
    page = client.get(reverse("monitoring:costs")).content.decode()
    assert "$5.75" in page  # 1.25 + 0.50 + 4.00 in 30 days
    assert "op-model" in page and "vinted.draft" in page
    assert "other-model" not in page and "pipeline.artwork" not in page and "admin-model" not in page
    assert "By person" not in page
    assert "Your AI calls." in page
    # Their own budget row only, and no form to change it.
    assert personas["other_operator"].username not in page
    assert 'name="user' not in page


def test_an_admin_sees_everyone_by_person_model_and_type(client, personas, ledger):
    client.force_login(personas["admin"])
    page = client.get(reverse("monitoring:costs")).content.decode()
    assert "$13.62" in page  # everyone, 30 days
    for text in ("By person", "op-model", "other-model", "admin-model", "pipeline.artwork",
                 personas["operator"].username, personas["other_operator"].username):
        assert text in page
    assert f'name="user{personas["operator"].pk}-budget_usd"' in page


@pytest.mark.parametrize("range_name,total", [("today", "1.25"), ("7d", "1.75"), ("30d", "5.75")])
def test_ranges_today_7_and_30_days(client, personas, ledger, range_name, total):
    client.force_login(personas["operator"])
    response = client.get(reverse("monitoring:costs"), {"range": range_name})
    assert response.status_code == 200
    assert f'data-testid="range-total">${total}<' in response.content.decode()


def test_an_unknown_range_is_a_400_at_the_field(client, personas, ledger):
    client.force_login(personas["operator"])
    response = client.get(reverse("monitoring:costs"), {"range": "forever"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    for url_name in ("monitoring:costs-chart", "monitoring:costs-export"):
        answer = client.get(reverse(url_name), {"range": "forever"})
        assert answer.status_code == 400
        assert b"Select a valid choice" in answer.content


def test_chart_is_an_svg_without_script_with_one_bar_per_day(client, personas, ledger):
    client.force_login(personas["operator"])
    response = client.get(reverse("monitoring:costs-chart"), {"range": "7d"})
    assert response["Content-Type"] == "image/svg+xml"
    svg = response.content.decode()
    assert svg.startswith("<svg") or svg.startswith("<?xml")
    assert "<script" not in svg
    today = timezone.localdate()
    assert f"{today:%b} {today.day}" in svg
    assert svg.count('class="rect reactive tooltip-trigger"') == 7  # one bar per day, empty days too


def test_export_streams_the_visible_rows_as_csv_named_by_range(client, personas, ledger):
    client.force_login(personas["operator"])
    response = client.get(reverse("monitoring:costs-export"), {"range": "7d"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    since = timezone.localdate() - timedelta(days=6)
    assert response["Content-Disposition"] == (
        f'attachment; filename="ai-costs-{since:%Y-%m-%d}-to-{timezone.localdate():%Y-%m-%d}.csv"')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == costs.CSV_HEADER
    assert sorted(row[9] for row in rows[1:]) == ["0.500000", "1.250000"]
    assert {row[1] for row in rows[1:]} == {personas["operator"].username}


def test_admin_sets_a_budget_which_is_logged_and_shown(client, personas, ledger,
                                                       django_capture_on_commit_callbacks):
    operator = personas["operator"]
    client.force_login(personas["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("monitoring:costs-budget", args=[operator.pk]) + "?range=7d",
                               {f"user{operator.pk}-budget_usd": "12.00"})
    assert response.status_code == 302 and response["Location"].endswith("?range=7d")
    operator.refresh_from_db()
    assert operator.ai_monthly_budget_usd == Decimal("12.00")
    event = Event.objects.get(kind="budget.changed")
    assert event.user == personas["admin"] and event.target == operator
    assert event.payload == {"user": operator.username, "before_usd": None, "after_usd": "12.00"}
    client.force_login(operator)
    page = client.get(reverse("monitoring:costs")).content.decode()
    headroom = Decimal("12.00") - ai.month_spend(operator)  # this calendar month's spend only
    assert "$12.00" in page and f"${headroom:.2f}" in page

    # Empty: back to the default budget.
    client.force_login(personas["admin"])
    client.post(reverse("monitoring:costs-budget", args=[operator.pk]), {f"user{operator.pk}-budget_usd": ""})
    operator.refresh_from_db()
    assert operator.ai_monthly_budget_usd is None


@pytest.mark.parametrize("value,message", [("-1", "greater than or equal to 0"), ("abc", "Enter a number"),
                                           ("1.234", "2 decimal places"), ("123456789012", "digits in total")])
def test_a_bad_budget_is_a_400_at_its_field_and_changes_nothing(client, personas, ledger, value, message):
    operator = personas["operator"]
    operator.ai_monthly_budget_usd = Decimal("9.00")
    operator.save()
    client.force_login(personas["admin"])
    response = client.post(reverse("monitoring:costs-budget", args=[operator.pk]),
                           {f"user{operator.pk}-budget_usd": value})
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page and "field-error" in page
    operator.refresh_from_db()
    assert operator.ai_monthly_budget_usd == Decimal("9.00")
    assert not Event.objects.filter(kind="budget.changed").exists()


def test_budget_of_an_unknown_person_is_a_404(client, personas):
    client.force_login(personas["admin"])
    assert client.post(reverse("monitoring:costs-budget", args=[999999]), {}).status_code == 404


def test_set_budget_service_asks_the_users_rule(personas):
    with pytest.raises(PermissionDenied):
        ai.set_budget(personas["other_operator"], Decimal("5"), by_user=personas["operator"])
    ai.set_budget(personas["other_operator"], Decimal("5"), by_user=personas["admin"])
    personas["other_operator"].refresh_from_db()
    assert personas["other_operator"].ai_monthly_budget_usd == Decimal("5.00")


def test_budgets_show_headroom_and_the_share_used(personas, ledger, settings):
    # other_operator's only call is today: this month whatever the date.
    settings.AI_MONTHLY_BUDGET_USD = 10.0
    rows = {row["username"]: row for row in costs.budgets(personas["admin"])}
    other = rows[personas["other_operator"].username]
    assert (other["spent_usd"], other["headroom_usd"], other["percent_used"]) == (
        Decimal("7.77"), Decimal("2.23"), 77)
    assert rows[personas["viewer"].username]["spent_usd"] == 0  # no calls, still listed
    assert [row["username"] for row in costs.budgets(personas["viewer"])] == [personas["viewer"].username]


# --- the home dashboard's AI spend and health cards ---------------------------------------------------


def test_dashboard_ai_figures_are_cached_and_forgotten_when_the_gateway_records_a_call(
        fake_openai, settings, operator, django_assert_num_queries, django_capture_on_commit_callbacks):
    from monitoring import dashboard

    settings.AI_PRICES = {"default": {"input_per_million": 1000.0, "output_per_million": 1000.0}}
    before = dashboard.ai_figures(operator)
    assert Decimal(before["spent_usd"]) == 0
    with django_assert_num_queries(0):  # read from the cache
        dashboard.ai_figures(operator)
    fake_openai.chat_handler = lambda request: {"title": "Rain"}
    with django_capture_on_commit_callbacks(execute=True):
        ai.chat_json(user=operator, request_type="pipeline.metadata",
                     messages=[{"role": "user", "content": "A title as JSON."}])
    after = dashboard.ai_figures(operator)
    assert Decimal(after["spent_usd"]) == ai.month_spend(operator) > 0
    assert Decimal(after["daily"][-1]["cost_usd"]) == ai.month_spend(operator)


def test_dashboard_ai_chart_role_matrix_and_svg(client, personas, ledger):
    for persona in PERSONAS:
        response = client_for(client, personas, persona).get(reverse("monitoring:dashboard-ai-chart"))
        assert_answer(response, "login" if persona == "anonymous" else 200)
    client.force_login(personas["operator"])
    response = client.get(reverse("monitoring:dashboard-ai-chart"))
    assert response["Content-Type"] == "image/svg+xml" and b"<script" not in response.content
    assert b"$1.2500" in response.content  # today's bar of the operator's own spend


def test_dashboard_ai_panel_shows_own_or_everyones_spend_per_day(client, personas, ledger):
    client.force_login(personas["operator"])
    page = client.get("/").content.decode()
    assert "Your calls, last 14 days." in page and "$1.2500" in page and "$7.7700" not in page
    client.force_login(personas["admin"])
    page = client.get("/").content.decode()
    assert "Everyone&#x27;s calls, last 14 days." in page or "Everyone's calls, last 14 days." in page
    assert "$9.1200" in page  # today: 1.25 + 7.77 + 0.10


def test_dashboard_health_summary_names_failing_checks_to_admins_only(client, personas, settings):
    settings.HEALTH_CHECKS = ["health_check.checks.Database", "monitoring.health.DiskCheck"]
    settings.HEALTH_DISK_MIN_FREE_MB = 10**12  # no disk has that much free: the check warns
    client.force_login(personas["admin"])
    page = client.get("/").content.decode()
    assert 'data-testid="health-status">Degraded<' in page
    assert "1 of 2 checks pass." in page
    assert "MB threshold" in page and "Health details" in page
    client.force_login(personas["operator"])
    page = client.get("/").content.decode()
    assert 'data-testid="health-status">Degraded<' in page and "1 of 2 checks pass." in page
    assert "MB threshold" not in page and "Health details" not in page
    assert "An admin sees which check fails" in page


def test_dashboard_still_shows_when_the_health_checks_cannot_run(client, personas, settings):
    settings.HEALTH_CHECKS = ["monitoring.health.NoSuchCheck"]  # a broken setting: the checks cannot load
    client.force_login(personas["operator"])
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="health-status">Unknown<' in page and "The health checks could not run" in page
