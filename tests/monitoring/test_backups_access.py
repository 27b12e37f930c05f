"""Who may touch backups (admins only: API, admin pages, command), the admin pages themselves, the API
answers, and maintenance mode (pages and API blocked, health answers, workers and scheduler wait)."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django.asserts import assertContains

from monitoring.backups import maintenance, services
from monitoring.choices import BackupKind, VerificationStatus
from monitoring.models import Backup, JobStat
from monitoring.scheduler import Scheduler
from tests.helpers import API_PERSONAS, PERSONAS, client_for
from tests.monitoring.backup_fixtures import add_jobs, backup_settings, job_names, stored_path  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("backup_settings")]

NON_ADMINS = ["viewer", "operator", "other_operator"]


@pytest.fixture
def backup(admin_user):
    return services.create_backup(user=admin_user, verify=False)


def api_calls(backup_id):
    return [
        ("post", "/api/v1/admin/backup/create/", {"content": "database", "verify": False}, 201),
        ("get", "/api/v1/admin/backup/list/", None, 200),
        ("get", f"/api/v1/admin/backup/info/?id={backup_id}", None, 200),
        ("post", f"/api/v1/admin/backup/{backup_id}/verify/", None, 200),
        # A wrong confirmation: the admin's answer is a 400 (nothing restored), the others' 403/401.
        ("post", "/api/v1/admin/backup/restore/", {"id": backup_id, "confirm": "yes"}, 400),
        ("get", "/api/v1/admin/system/health/", None, 200),
        ("post", "/api/v1/admin/jobs/reset-stats/", {}, 200),
    ]


@pytest.mark.parametrize("persona,api_with", API_PERSONAS, indirect=["api_with"])
def test_api_role_matrix(api_for, persona, api_with, backup):
    client = api_for(persona, using=api_with)
    for method, url, body, admin_status in api_calls(backup.pk):
        send = getattr(client, method)
        response = send(url, body, format="json") if body is not None else send(url)
        expected = {"anonymous": 401, "admin": admin_status}.get(persona, 403)
        assert response.status_code == expected, (url, persona, response.content[:300])
        if expected >= 400:
            assert response.json()["error"]["code"] in ("NOT_AUTHENTICATED", "PERMISSION_DENIED", "VALIDATION_ERROR")
    if persona != "admin":
        assert Backup.objects.count() == 1  # nothing created by the refused requests


def test_api_create_info_verify_and_list(api_as, admin_user):
    client = api_as(admin_user)
    assert client.get("/api/v1/admin/backup/info/").status_code == 404
    created = client.post("/api/v1/admin/backup/create/", {"content": "database"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "succeeded" and body["verification_status"] == "passed"
    assert body["verification"]["ok"] and body["verification"]["rows"] > 0
    assert body["files"][0]["part"] == "database" and len(body["files"][0]["sha256"]) == 64
    assert body["created_by"] == admin_user.username and body["tables"]["accounts_user"] >= 1
    latest = client.get("/api/v1/admin/backup/info/").json()
    assert latest["id"] == body["id"]
    assert client.get("/api/v1/admin/backup/info/?id=999999").status_code == 404
    assert client.get("/api/v1/admin/backup/info/?id=abc").status_code == 400
    verified = client.post(f"/api/v1/admin/backup/{body['id']}/verify/")
    assert verified.json()["verification"]["differences"] == []
    listed = client.get("/api/v1/admin/backup/list/").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    bad = client.post("/api/v1/admin/backup/create/", {"content": "everything"}, format="json")
    assert bad.status_code == 400 and "content" in bad.json()["error"]["details"]["fields"]


def test_api_restore_needs_the_phrase_then_restores(api_as, admin_user):
    add_jobs("alpha")
    backup = services.create_backup(user=admin_user)
    add_jobs("beta")
    client = api_as(admin_user)
    refused = client.post("/api/v1/admin/backup/restore/", {"id": backup.pk, "confirm": "restore"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["details"]["fields"]["confirm"] == [f'Type "restore backup {backup.pk}" to confirm.']
    assert job_names() == {"alpha", "beta"}

    done = client.post("/api/v1/admin/backup/restore/", {"id": backup.pk, "confirm": f"restore backup {backup.pk}"},
                       format="json")
    assert done.status_code == 200, done.content
    assert done.json()["restored"]["id"] == backup.pk and done.json()["safety_backup"]["kind"] == "safety"
    assert job_names() == {"alpha"}


def test_api_restore_of_a_corrupted_file_is_a_400_at_backup(api_as, admin_user, backup):
    stored_path(backup).write_bytes(b"not the backup")
    response = api_as(admin_user).post("/api/v1/admin/backup/restore/",
                                       {"id": backup.pk, "confirm": f"restore backup {backup.pk}"}, format="json")
    assert response.status_code == 400
    assert "SHA-256" in response.json()["error"]["details"]["fields"]["backup"][0]


def test_api_system_health_and_reset_stats(api_as, admin_user):
    JobStat.objects.create(name="tests.flaky", runs=5, failures=3, consecutive_failures=2, last_error="boom")
    client = api_as(admin_user)
    health = client.get("/api/v1/admin/system/health/").json()
    assert health["health"]["status"] in ("healthy", "degraded") and health["maintenance"] is None
    assert health["backup"]["stale"] is True
    assert health["jobs"][0]["name"] == "tests.flaky" and health["jobs"][0]["failures"] == 3
    assert isinstance(health["breakers"], list)
    reset = client.post("/api/v1/admin/jobs/reset-stats/", {"name": "tests.flaky"}, format="json")
    assert reset.json() == {"reset": 1}
    row = JobStat.objects.get(name="tests.flaky")
    assert (row.runs, row.failures, row.consecutive_failures, row.last_error) == (0, 0, 0, "")


# --- Django admin pages ---------------------------------------------------------------------------------

def admin_pages(backup_id):
    return ["/admin/monitoring/backup/", f"/admin/monitoring/backup/{backup_id}/change/",
            f"/admin/monitoring/backup/{backup_id}/download/", f"/admin/monitoring/backup/{backup_id}/verify/",
            f"/admin/monitoring/backup/{backup_id}/restore/", f"/admin/monitoring/backup/{backup_id}/delete/"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_admin_pages_role_matrix(client, personas, persona, backup):
    client = client_for(client, personas, persona)
    for url in admin_pages(backup.pk):
        response = client.get(url)
        if persona == "anonymous":
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        else:
            assert response.status_code == (200 if persona == "admin" else 403), (url, response.status_code)
    posted = client.post("/admin/monitoring/backup/backup-now/", {"content": "database"})
    assert posted.status_code in ((302,) if persona in ("anonymous", "admin") else (403,))
    restore = client.post(f"/admin/monitoring/backup/{backup.pk}/restore/", {"confirm": "nope"})
    assert restore.status_code == {"anonymous": 302, "admin": 400}.get(persona, 403)
    assert Backup.objects.count() == (2 if persona == "admin" else 1)


def test_admin_restore_confirmation_names_what_is_lost_then_restores(client, admin_user):
    add_jobs("alpha")
    client.force_login(admin_user)  # before the backup: a restore brings back the sessions of its time too
    backup = services.create_backup(user=admin_user)
    add_jobs("beta", "gamma")
    page = client.get(f"/admin/monitoring/backup/{backup.pk}/restore/")
    assertContains(page, "Everything changed since then is lost")
    assertContains(page, "monitoring_jobstat")
    assertContains(page, "at least 2 newer row(s) lost")
    assertContains(page, f"restore backup {backup.pk}")
    done = client.post(f"/admin/monitoring/backup/{backup.pk}/restore/", {"confirm": f"restore backup {backup.pk}"})
    assert done.status_code == 302
    assert job_names() == {"alpha"}
    listing = client.get("/admin/monitoring/backup/")
    assertContains(listing, f"Backup #{backup.pk} restored")


def test_admin_download_verify_back_up_now_and_delete(client, admin_user, backup):
    client.force_login(admin_user)
    download = client.get(f"/admin/monitoring/backup/{backup.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == stored_path(backup).read_bytes()
    assert client.post(f"/admin/monitoring/backup/{backup.pk}/verify/").status_code == 302
    backup.refresh_from_db()
    assert backup.verification_status == VerificationStatus.PASSED
    assert client.post("/admin/monitoring/backup/backup-now/", {"content": "database"}).status_code == 302
    assert Backup.objects.count() == 2
    path = stored_path(backup)
    client.post(f"/admin/monitoring/backup/{backup.pk}/delete/", {"post": "yes"})
    assert not Backup.objects.filter(pk=backup.pk).exists() and not path.exists()


# --- the command ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", NON_ADMINS)
def test_command_refuses_non_admins_on_every_path(personas, persona, backup):
    username = personas[persona].username
    for argv in (["create"], ["list"], ["verify", str(backup.pk)], ["restore", str(backup.pk), "--yes"],
                 ["delete", str(backup.pk)], ["maintenance", "on"], ["export"]):
        with pytest.raises(CommandError, match="Permission denied"):
            call_command("backup", *argv, "--user", username)
    assert Backup.objects.count() == 1 and not maintenance.active()


def test_command_as_admin(admin_user):
    add_jobs("alpha")
    out = io.StringIO()
    call_command("backup", "create", stdout=out)
    assert "taken and verified" in out.getvalue()
    backup = Backup.objects.get()
    out = io.StringIO()
    call_command("backup", "list", stdout=out)
    assert f"#{backup.pk}" in out.getvalue()
    call_command("backup", "verify", str(backup.pk), stdout=io.StringIO())
    add_jobs("beta")
    with pytest.raises(CommandError, match="no terminal to ask on"):
        call_command("backup", "restore", str(backup.pk))  # stdin is not a terminal under pytest
    assert job_names() == {"alpha", "beta"}
    out = io.StringIO()
    call_command("backup", "restore", str(backup.pk), "--yes", stdout=out)
    assert "restored" in out.getvalue() and job_names() == {"alpha"}
    with pytest.raises(CommandError, match="No backup #999"):
        call_command("backup", "verify", "999")


# --- maintenance mode -----------------------------------------------------------------------------------

def test_maintenance_blocks_pages_and_api_and_lets_health_answer(client, api_as, admin_user, operator):
    api = api_as(admin_user)
    client.force_login(operator)
    maintenance.enter("Restoring backup #7")
    try:
        page = client.get("/pipeline/")
        assert page.status_code == 503 and page["Retry-After"] == "120"
        assertContains(page, "restoring a backup", status_code=503)
        assert client.post("/pipeline/runs/new/", {"preset": "x"}).status_code == 503
        response = api.post("/api/v1/admin/backup/create/", {}, format="json")
        assert response.status_code == 503 and response["Retry-After"] == "120"
        error = response.json()["error"]
        assert error["code"] == "MAINTENANCE" and "Restoring backup #7" in error["message"]
        assert api.get("/api/v1/pipeline/runs/").status_code == 503
        health = client.get("/health/", HTTP_ACCEPT="application/json")
        assert health.status_code == 200 and health["X-Health-Status"] == "degraded"
        assert health.json() == {"status": "degraded"}  # each check's message: admins only (test_health_api)
        assert Scheduler(hooks=["monitoring.jobs.recover_stale_jobs"]).tick() == {}  # no hook runs
    finally:
        maintenance.leave()
    assert client.get("/pipeline/").status_code == 200
    assert Backup.objects.count() == 0


def test_a_worker_waits_while_maintenance_is_on(settings):
    import threading
    import time

    from monitoring.backups.maintenance import wait_until_over

    maintenance.enter("test")
    finished = threading.Event()
    thread = threading.Thread(target=lambda: (wait_until_over(poll_seconds=0.02), finished.set()))
    thread.start()
    time.sleep(0.2)
    assert not finished.is_set()
    maintenance.leave()
    thread.join(5)
    assert finished.is_set()


def test_maintenance_command_turns_it_off_after_a_killed_restore(admin_user):
    maintenance.enter("Restoring backup #3")
    out = io.StringIO()
    call_command("backup", "maintenance", stdout=out)
    assert "on: Restoring backup #3" in out.getvalue()
    call_command("backup", "maintenance", "off", stdout=io.StringIO())
    assert not maintenance.active()


def test_safety_backups_are_listed_as_such(admin_user, backup):
    services.restore_backup(backup, admin_user)
    assert Backup.objects.filter(kind=BackupKind.SAFETY).count() == 1
