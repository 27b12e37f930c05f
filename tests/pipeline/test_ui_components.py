"""The shared UI components: tables that stack on a phone, one progress bar, one duration format,
sortable headers instead of a sort menu, readable run and job names, events that link to their object."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template

from monitoring.events import record_event
from monitoring.models import Event, JobRun
from pipeline.choices import RunStatus
from pipeline.models import Video
from tests.factories import AIUsageFactory
from tests.monitoring import sample_jobs

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


class _Tables(HTMLParser):
    """Collects, per <table>, its class and the data-label of each <td>."""

    def __init__(self):
        super().__init__()
        self.tables, self.progress = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"class": attrs.get("class", ""), "cells": []})
        elif tag == "td" and self.tables:
            self.tables[-1]["cells"].append(attrs.get("data-label"))
        elif tag == "progress":
            self.progress.append(attrs)


def parse(html):
    parser = _Tables()
    parser.feed(html)
    return parser


def render(source, **context):
    return Template("{% load ui %}" + source).render(Context(context))


# --- one duration format ---------------------------------------------------------------------
@pytest.mark.parametrize(("seconds", "text"), [(4500, "1:15:00"), (4500.4, "1:15:00"), (90, "1:30"), (5, "0:05"),
                                               (None, ""), ("", ""), ("bogus", "")])
def test_duration_filter(seconds, text):
    assert render("{{ value|duration }}", value=seconds) == text


def test_short_duration_keeps_tenths_under_a_minute():
    assert render("{{ a|short_duration }} {{ b|short_duration }}", a=0.42, b=4500) == "0.4 s 1:15:00"


# --- tables stack on a phone ------------------------------------------------------------------
def test_every_table_in_the_templates_is_the_stacking_component():
    offenders = [str(path.relative_to(TEMPLATES)) for path in TEMPLATES.rglob("*.html")
                 if "admin" not in path.parts and "drf_spectacular" not in path.parts
                 and re.search(r"<table(?![^>]*table-stack)", path.read_text())]
    assert offenders == []


def test_monitoring_tables_stack_with_a_label_on_every_cell(client, admin_user, operator):
    sample_jobs.quick_flaky.call("ui-test", 1)
    sample_jobs.plain.enqueue(1)
    JobRun.objects.filter(name="tests.plain").update(progress=0.5)
    AIUsageFactory(user=operator)
    Event.objects.create(source="pipeline", kind="run.succeeded", status="succeeded", message="x" * 300,
                         payload={"elapsed_s": 4500})
    client.force_login(admin_user)
    tables = parse(client.get("/monitoring/").content.decode()).tables
    assert len(tables) == 6  # breakers, running jobs, job statistics, AI per person and per type, events
    for table in tables:
        assert "table-stack" in table["class"].split()
        assert table["cells"] and all(table["cells"]), table


# --- events -----------------------------------------------------------------------------------
def test_event_payload_durations_read_as_hours_minutes_seconds(client, admin_user):
    Event.objects.create(source="pipeline", kind="run.succeeded", status="succeeded", message="Run #3 succeeded",
                         payload={"run": 3, "elapsed_s": 4500})
    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    assert "<dt>Elapsed</dt><dd>1:15:00</dd>" in html
    assert "4500" not in html


def test_an_event_links_to_the_object_it_names(client, operator, admin_user, make_run,
                                               django_capture_on_commit_callbacks):
    run = make_run(operator)
    with django_capture_on_commit_callbacks(execute=True):
        record_event("pipeline", "run.retry", "info", f"{run} retried", {"run": run.pk}, user=operator, target=run)
    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    url, name = run.get_absolute_url(), str(run)
    assert f'<a href="{url}">Open {name}</a>' in html

    run.delete()  # an event outlives its object: the text stays, the link goes
    html = client.get("/monitoring/").content.decode()
    assert f"{name} retried" in html and f'href="{url}"' not in html


def test_an_event_without_an_object_has_no_link(client, admin_user):
    Event.objects.create(source="breakers", kind="breaker.reset", message="test reset")
    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    assert "test reset" in html and not re.search(r"<a [^>]*>Open ", html)  # no "Open …" link


# --- jobs have human names --------------------------------------------------------------------
def test_stage_jobs_are_named_after_their_stage_and_run(client, operator, admin_user, make_run,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = make_run(operator)
    job_run = JobRun.objects.get(name="pipeline.execute_stage")
    assert job_run.label == f"Compose stage of run #{run.pk}"
    client.force_login(admin_user)
    html = client.get("/monitoring/").content.decode()
    assert f'<td data-label="Job" class="wrap-anywhere">Compose stage of run #{run.pk}</td>' in html
    assert "pipeline.execute_stage <span" not in html


def test_a_job_without_a_label_keeps_its_name(client, admin_user):
    sample_jobs.plain.enqueue(1)
    client.force_login(admin_user)
    assert "tests.plain" in client.get("/monitoring/").content.decode()


# --- one progress bar, one colour per status --------------------------------------------------
def test_progress_bars_take_the_colour_of_the_status_in_the_list_and_on_the_run_page(client, operator, make_run):
    done = make_run(operator, RunStatus.SUCCEEDED)
    running = make_run(operator, RunStatus.RUNNING)
    failed = make_run(operator, RunStatus.FAILED)
    client.force_login(operator)
    listed = {bar["aria-label"]: bar["class"] for bar in parse(client.get("/pipeline/").content.decode()).progress}
    assert listed[f"Progress of run {done.pk}"] == "progress progress-succeeded"
    assert listed[f"Progress of run {running.pk}"] == "progress progress-running"
    assert listed[f"Progress of run {failed.pk}"] == "progress progress-failed"

    detail = client.get(done.get_absolute_url()).content.decode()
    page = {bar["aria-label"]: bar["class"] for bar in parse(detail).progress}
    assert page["Overall progress"] == "progress progress-succeeded progress-big"
    assert page["Compose progress"] == "progress progress-succeeded"
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    for status, colour in (("queued", "queued"), ("running", "running"), ("succeeded", "succeeded"),
                           ("failed", "failed"), ("cancelled", "cancelled"), ("warning", "warning")):
        assert re.search(rf"\.progress-{status}\b[^{{]*\{{ accent-color: var\(--{colour}\); \}}", css), status


# --- the runs list: a title column, sortable headers, no sort menu ----------------------------
def test_run_list_has_a_title_column_that_links_to_the_run(client, viewer, operator, make_run, preset):
    titled = make_run(operator, duration_s=4500)
    Video.objects.filter(run=titled).update(title="Rainy study session")
    untitled = make_run(operator, duration_s=4500)
    client.force_login(viewer)
    html = client.get("/pipeline/").content.decode()
    from pipeline.engines.presets import PRESETS

    assert f'<a href="{titled.get_absolute_url()}">Rainy study session</a>' in html
    assert f'<a href="{untitled.get_absolute_url()}">{PRESETS[preset].label} mix, 1:15:00</a>' in html


def test_run_list_sorts_by_its_headers_without_a_sort_menu(client, viewer, operator, make_run):
    make_run(operator)
    client.force_login(viewer)
    html = client.get("/pipeline/?ordering=-created&status=queued").content.decode()
    # The 19-option "Sort by" menu is gone; the order chosen by a header survives a new filter.
    assert '<select name="ordering"' not in html and "Sort by" not in html and "Newest first" not in html
    assert '<input type="hidden" name="ordering" value="-created">' in html
    assert '<th scope="col" aria-sort="descending"><a href="?ordering=created&amp;status=queued">Created</a></th>' \
        in html


def test_sort_headers_and_the_sort_header_tag_toggle_the_same_way(rf):
    from lofisite.sorting import sort_headers

    request = rf.get("/pipeline/", {"ordering": "preset", "status": "queued", "page": "3"})
    headers = sort_headers(request, [("Run", "id"), ("Preset", "preset"), ("Notes", None)])
    assert headers == [
        {"label": "Run", "url": "?ordering=id&status=queued", "sort": "none"},
        {"label": "Preset", "url": "?ordering=-preset&status=queued", "sort": "ascending"},
        {"label": "Notes"},
    ]
    tag = Template('{% load ui %}{% sort_header "Preset" "preset" %}').render(Context({"request": request}))
    assert tag == '<th scope="col" aria-sort="ascending"><a href="?ordering=-preset&amp;status=queued">Preset</a></th>'
