"""`manage.py health`: a table of every check, and the exit code scripts read (0 healthy, 1 degraded, 2 unhealthy)."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

HERE = "tests.monitoring.test_health_api"  # its AlwaysOk / AlwaysWarns / AlwaysDown sample checks


def run(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("health", *args, stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


@pytest.mark.parametrize("names,code,state", [(["AlwaysOk"], 0, "healthy"),
                                              (["AlwaysOk", "AlwaysWarns"], 1, "degraded"),
                                              (["AlwaysWarns", "AlwaysDown"], 2, "unhealthy")])
def test_exit_code_and_table(settings, names, code, state):
    settings.HEALTH_CHECKS = [f"{HERE}.{name}" for name in names]
    exit_code, output = run()
    assert exit_code == code
    lines = output.splitlines()
    assert lines[0].split() == ["CHECK", "STATUS", "TIME", "MESSAGE"]
    assert f"Overall: {state}" in output
    for name in names:
        assert any(line.startswith(f"{name}()") for line in lines[1:]), output
    if "AlwaysDown" in names:
        assert any("unavailable" in line and "Unavailable: the-failure-text" in line for line in lines)
    if "AlwaysWarns" in names:
        assert any(" warning " in line and "Warning: the-warning-text" in line for line in lines)


def test_json_report(settings):
    settings.HEALTH_CHECKS = [f"{HERE}.AlwaysOk", f"{HERE}.AlwaysWarns"]
    exit_code, output = run("--json")
    report = json.loads(output)
    assert exit_code == 1 and report["status"] == "degraded"
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("AlwaysOk()", "ok"), ("AlwaysWarns()", "warning")]


def test_the_real_checks_say_what_is_missing_on_a_fresh_install(settings):
    exit_code, output = run()
    assert exit_code == 1  # degraded: no worker, no scheduler yet; nothing is down
    assert "manage.py db_worker" in output and "manage.py scheduler" in output
    assert any(line.split()[:2] == ["Database(alias='default')", "ok"] for line in output.splitlines())
