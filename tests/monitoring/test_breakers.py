"""Circuit breakers: the state machine, shared through the database, and the admin reset."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from monitoring import breakers
from monitoring.breakers import Breaker, BreakerOpen, breaker
from monitoring.jobs import TransientError
from monitoring.models import CircuitBreaker, Event
from tests.helpers import API_PERSONAS, PERSONAS, assert_answer, client_for

pytestmark = pytest.mark.django_db


class ClientError(Exception):
    pass


class Service:
    """Stands in for a remote service: counts calls, fails while `failing`."""

    def __init__(self):
        self.calls = 0
        self.failing = False

    def __call__(self):
        self.calls += 1
        if self.failing:
            raise ConnectionError("service down")
        return "ok"


def trip(name="test", times=3):
    b = breaker(name)
    for _ in range(times):
        with pytest.raises(ConnectionError):
            b.call(_down)


def _down():
    raise ConnectionError("service down")


def row(name="test"):
    return CircuitBreaker.objects.get(name=name)


def pass_recovery_time(name="test", seconds=61):
    CircuitBreaker.objects.filter(name=name).update(opened_at=timezone.now() - timedelta(seconds=seconds))


def test_config_merges_default_and_named_entry(breaker_settings):
    b = breaker("test")
    assert (b.failure_threshold, b.recovery_timeout, b.success_threshold, b.timeout) == (3, 60, 2, 5.0)
    other = breaker("unlisted")
    assert (other.failure_threshold, other.recovery_timeout, other.timeout) == (5, 30, 10.0)


def test_closed_breaker_passes_calls_and_returns_their_value(breaker_settings):
    service = Service()
    assert breaker("test").call(service) == "ok"
    assert service.calls == 1 and row().state == "closed"


def test_opens_after_threshold_and_then_rejects_without_calling(breaker_settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        trip(times=2)
        assert row().state == "closed" and row().failure_count == 2
        trip(times=1)
    state = row()
    assert state.state == "open" and state.opened_at is not None
    assert state.last_error == "ConnectionError: service down"
    assert Event.objects.filter(source="breakers", kind="breaker.opened", status="failed").count() == 1

    service = Service()
    with pytest.raises(BreakerOpen) as caught:
        breaker("test").call(service)
    assert service.calls == 0
    assert caught.value.name == "test"
    assert 55 <= caught.value.retry_after_seconds <= 60
    assert isinstance(caught.value, TransientError)  # jobs back off instead of failing


def test_a_success_ends_the_failure_streak(breaker_settings):
    service = Service()
    trip(times=2)
    breaker("test").call(service)
    trip(times=2)
    assert row().state == "closed" and row().failure_count == 2


def test_half_open_lets_one_trial_through_and_closes_after_successes(breaker_settings):
    trip()
    pass_recovery_time()
    service = Service()
    assert breaker("test").call(service) == "ok"
    assert service.calls == 1
    state = row()
    assert state.state == "half_open" and state.success_count == 1 and state.trial_started_at is None
    breaker("test").call(service)
    state = row()
    assert state.state == "closed" and state.failure_count == 0 and state.opened_at is None


def test_only_one_trial_call_at_a_time(breaker_settings):
    trip()
    pass_recovery_time()
    other = Service()
    with breaker("test"):  # the trial call is in flight in "another process"
        assert row().state == "half_open" and row().trial_started_at is not None
        with pytest.raises(BreakerOpen):
            Breaker("test").call(other)
    assert other.calls == 0
    assert row().trial_started_at is None  # released when the trial ended


def test_abandoned_trial_claim_lapses(breaker_settings):
    trip()
    pass_recovery_time()
    # A trial started long ago by a process that died: claim older than call_timeout + grace.
    CircuitBreaker.objects.filter(name="test").update(
        state="half_open", trial_started_at=timezone.now() - timedelta(seconds=60))
    service = Service()
    breaker("test").call(service)
    assert service.calls == 1


def test_failed_trial_reopens(breaker_settings, django_capture_on_commit_callbacks):
    trip()
    pass_recovery_time()
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(ConnectionError):
            breaker("test").call(_down)
    state = row()
    assert state.state == "open" and state.opened_at >= before
    assert Event.objects.filter(kind="breaker.opened", message__contains="trial").exists()
    service = Service()
    with pytest.raises(BreakerOpen):
        breaker("test").call(service)
    assert service.calls == 0


def test_interrupt_during_trial_releases_the_claim(breaker_settings):
    trip()
    pass_recovery_time()

    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker("test").call(interrupted)
    state = row()
    assert state.state == "half_open" and state.trial_started_at is None and state.failure_count == 3


def test_excluded_exceptions_do_not_trip(breaker_settings):
    b = Breaker("test", exclude=(ClientError,))

    def invalid():
        raise ClientError("422 validation error")

    for _ in range(5):
        with pytest.raises(ClientError):
            b.call(invalid)
    assert row().state == "closed" and row().failure_count == 0


def test_counts_as_failure_predicate(breaker_settings):
    b = breaker("test", counts_as_failure=lambda exc: "5" in str(exc)[:1])

    def answer(status):
        def call():
            raise RuntimeError(f"{status} from server")
        return call

    for _ in range(4):
        with pytest.raises(RuntimeError):
            b.call(answer(404))
    assert row().state == "closed"
    for _ in range(3):
        with pytest.raises(RuntimeError):
            b.call(answer(503))
    assert row().state == "open"


def test_context_manager_counts_failures(breaker_settings):
    for _ in range(3):
        with pytest.raises(ConnectionError), breaker("test"):
            raise ConnectionError("down")
    assert row().state == "open"
    with pytest.raises(BreakerOpen), breaker("test"):
        pytest.fail("the block must not run while open")


def test_state_is_shared_between_breaker_objects(breaker_settings):
    first, second = Breaker("test"), Breaker("test")
    for _ in range(2):
        with pytest.raises(ConnectionError):
            first.call(_down)
    with pytest.raises(ConnectionError):
        second.call(_down)
    assert CircuitBreaker.objects.get(name="test").state == "open"  # a fresh read agrees
    with pytest.raises(BreakerOpen):
        first.call(Service())


def test_reset_closes_and_records_who(breaker_settings, admin_user, django_capture_on_commit_callbacks):
    trip()
    with django_capture_on_commit_callbacks(execute=True):
        breakers.reset("test", by_user=admin_user)
    state = row()
    assert (state.state, state.failure_count, state.opened_at) == ("closed", 0, None)
    event = Event.objects.get(kind="breaker.reset")
    assert event.user == admin_user and event.payload["previous_state"] == "open"
    assert breaker("test").call(Service()) == "ok"


def test_reset_refuses_non_admins(breaker_settings, operator):
    trip()
    with pytest.raises(PermissionDenied, match="Only admins"):
        breakers.reset("test", by_user=operator)
    assert row().state == "open"


def test_reset_unknown_breaker(breaker_settings):
    with pytest.raises(CircuitBreaker.DoesNotExist):
        breakers.reset("nope")


def test_all_breakers_lists_configured_ones_never_used(breaker_settings, admin_user, viewer):
    trip()
    assert breakers.all_breakers(viewer) == []  # operations state is admin-only
    listed = {b.name: b for b in breakers.all_breakers(admin_user)}
    assert set(listed) == {"openai", "test"}
    assert listed["openai"].state == "closed" and listed["openai"].pk is None
    assert listed["test"].state == "open" and 55 <= listed["test"].retry_after_seconds <= 60


def test_breakers_command_lists_and_resets(breaker_settings, capsys):
    trip()
    call_command("breakers")
    assert "test" in capsys.readouterr().out
    call_command("breakers", "--reset", "test")
    assert row().state == "closed"


# --- reset through the API and the page, per persona -------------------------------------------------



RESET = dict(zip(PERSONAS, [401, 403, 403, 403, 200], strict=True))


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_reset_role_matrix(breaker_settings, api_for, api_with, persona):
    expected = RESET[persona]
    trip()
    client = api_for(persona, using=api_with)
    response = client.post("/api/v1/breakers/test/reset/")
    assert response.status_code == expected, response.content
    if expected == 200:
        assert response.json()["state"] == "closed"
        assert row().state == "closed"
    else:
        assert response.json()["error"]["status"] == expected
        assert row().state == "open"


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_list_breakers(breaker_settings, api_for, api_with, persona):
    trip()
    client = api_for(persona, using=api_with)
    response = client.get("/api/v1/breakers/")
    if persona == "anonymous":
        assert response.status_code == 401
        return
    if persona != "admin":  # breakers are admin-only, like every operations page
        assert response.status_code == 403 and response.json()["error"]["code"] == "PERMISSION_DENIED"
        assert client.get("/api/v1/breakers/test/").status_code == 403
        return
    assert response.status_code == 200
    by_name = {b["name"]: b for b in response.json()}
    assert by_name["test"]["state"] == "open" and by_name["test"]["failure_threshold"] == 3
    assert by_name["openai"]["state"] == "closed"
    detail = client.get("/api/v1/breakers/test/")
    assert detail.status_code == 200 and detail.json()["failure_count"] == 3


def test_api_reset_unknown_breaker_is_404(breaker_settings, api_as, admin_user):
    response = api_as(admin_user).post("/api/v1/breakers/nope/reset/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("persona,expected", list(zip(PERSONAS, ["login", 403, 403, 403, 302], strict=True)))
def test_page_reset_role_matrix(breaker_settings, client, personas, persona, expected):
    trip()
    response = client_for(client, personas, persona).post("/monitoring/breakers/test/reset/")
    assert_answer(response, expected)
    if expected == 302:
        assert response["Location"] == "/monitoring/"
        assert row().state == "closed"
    else:
        assert row().state == "open"


def test_page_reset_needs_csrf_token(breaker_settings, admin_user):
    trip()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post("/monitoring/breakers/test/reset/").status_code == 403
    assert row().state == "open"


def test_page_reset_is_post_only(breaker_settings, client, admin_user):
    trip()
    client.force_login(admin_user)
    assert client.get("/monitoring/breakers/test/reset/").status_code == 405
    assert row().state == "open"


def test_page_reset_unknown_breaker_is_404(breaker_settings, client, admin_user):
    client.force_login(admin_user)
    assert client.post("/monitoring/breakers/nope/reset/").status_code == 404
