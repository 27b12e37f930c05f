"""`manage.py pipeline run|status|retry|cancel`: the lo-fi pipeline from a shell.

`pipeline run` starts a run through `services.start_run` as `--user` (default:
the first admin). Without `--async` it executes the stages here, in this
process, with a progress bar, and exits non-zero when the run fails; with
`--async` it only queues the run for `manage.py db_worker`.
"""

import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import CommandError
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from lofisite.commands import BaseCommand
from lofisite.formatting import format_bytes
from lofisite.formatting import format_compact_duration as format_seconds
from monitoring.jobs import TransientError
from pipeline import services
from pipeline.choices import Privacy, PublishTarget, RunStatus, StageStatus
from pipeline.engines.limits import MAX_BPM, MIN_BPM
from pipeline.models import MAX_DURATION_S, MIN_DURATION_S, Run

from ._shared import error_text, resolve_user, table

OPTION_NAMES = {
    "preset": "--preset", "duration_s": "--duration", "seed": "--seed", "bpm": "--bpm", "musical_key": "--key",
    "audio_source": "--library", "publish_target": "--target", "privacy": "--privacy", "publish_at": "--publish-at",
    "intro": "--intro", "outro": "--outro",
}
DONE = (StageStatus.SUCCEEDED, StageStatus.SKIPPED)
BAR_WIDTH = 30


def parse_duration_option(text: str) -> int:
    """Seconds from 30s / 10m / 1h / 1h30m / 90 / 1:30:00; CommandError when unreadable or out of range."""
    from pipeline.durations import parse_duration

    try:
        seconds = parse_duration(str(text))
    except ValueError:
        raise CommandError(f"--duration {text!r} is not a duration: write e.g. 30s, 10m, 1h, 1h30m or seconds.")
    if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
        raise CommandError(f"--duration {text} is {format_seconds(seconds)}: a mix lasts from "
                           f"{format_seconds(MIN_DURATION_S)} to {format_seconds(MAX_DURATION_S)}.")
    return seconds


class ProgressDisplay:
    """Draws a run's progress: one line redrawn with \\r on a terminal, plain lines otherwise."""

    def __init__(self, stream, *, tty: bool):
        self.stream = stream
        self.tty = tty
        self._last = None  # the line last drawn: an unchanged frame is not drawn again
        self._width = 0
        self._lock = threading.Lock()

    @staticmethod
    def render(stage: str, run_progress: float, stage_progress: float | None = None) -> str:
        filled = int(round(BAR_WIDTH * max(0.0, min(1.0, run_progress))))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        detail = f" {stage}" + (f" {stage_progress * 100:3.0f}%" if stage_progress is not None else "")
        return f"[{bar}] {run_progress * 100:3.0f}%{detail}"

    def update(self, stage: str, run_progress: float, stage_progress: float | None = None):
        line = self.render(stage, run_progress, stage_progress)
        with self._lock:
            if line == self._last:
                return
            self._last = line
            if self.tty:
                pad = max(0, self._width - len(line))
                self._width = len(line)
                self.stream.write("\r" + line + " " * pad, ending="")
            else:
                self.stream.write(line)
            self.stream.flush()

    def message(self, text: str):
        """A line of its own (a stage finished, a retry) that the bar does not overwrite."""
        with self._lock:
            self._clear()
            self.stream.write(text)
            self.stream.flush()

    def close(self):
        with self._lock:
            self._clear()
            self.stream.flush()

    def _clear(self):
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r", ending="")
        self._width, self._last = 0, None


class _Poller(threading.Thread):
    """On a terminal: re-reads the running stage's progress twice a second while the stage runs here."""

    def __init__(self, run_id: int, display: ProgressDisplay):
        super().__init__(daemon=True, name="pipeline-progress")
        self.run_id, self.display = run_id, display
        self.stage_name = None
        self.stopped = threading.Event()

    def run(self):
        try:
            while not self.stopped.wait(0.5):
                try:
                    run = Run.objects.only("progress").get(pk=self.run_id)
                    stage = run.stages.filter(name=self.stage_name).only("progress").first()
                except Exception:  # the database is busy or gone: skip this frame
                    continue
                if stage is not None and not self.stopped.is_set():
                    self.display.update(self.stage_name, run.progress, stage.progress)
        finally:
            connection.close()


class Command(BaseCommand):
    help = "Lo-fi pipeline: `pipeline run [options]`, `pipeline status`, `pipeline retry ID`, `pipeline cancel ID`."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="{run,status,retry,cancel}")

        run = sub.add_parser("run", help="Start a run; executes it here with a progress bar unless --async.")
        run.add_argument("--async", dest="run_async", action="store_true",
                         help="Only queue the run (a `db_worker` executes it) and print its id.")
        run.add_argument("--duration", default="30m",
                         help="Length of the mix: 30s, 10m, 1h, 1h30m or seconds (30 s to 3 h; default 30m).")
        run.add_argument("--preset", default=None, help="Mood preset (default: the first one; see --help-presets).")
        run.add_argument("--help-presets", action="store_true", help="List the presets and exit.")
        run.add_argument("--seed", type=int, help="Same seed and settings give the same mix (default: random).")
        run.add_argument("--bpm", type=int, help=f"Tempo {MIN_BPM}-{MAX_BPM} (default: the preset's).")
        run.add_argument("--key", default="", help="Musical key, e.g. C, F#m, Bbm (default: the preset's).")
        run.add_argument("--library", action="store_true",
                         help="Mix uploaded library tracks instead of generating music.")
        run.add_argument("--motion", action="store_true", help="Slow zoom instead of a still image.")
        run.add_argument("--intro", type=Path, help="Intro clip (video file) to put before the mix.")
        run.add_argument("--outro", type=Path, help="Outro clip (video file) to put after the mix.")
        run.add_argument("--target", choices=PublishTarget.values, default=PublishTarget.LIBRARY,
                         help="library (default) or youtube (needs a connected channel).")
        run.add_argument("--privacy", choices=Privacy.values, default=Privacy.PRIVATE,
                         help="YouTube privacy (default private).")
        run.add_argument("--publish-at", help="Scheduled YouTube publish time, ISO 8601 (privacy private only).")
        run.add_argument("--user", help="Act as this user (default: the first admin).")

        status = sub.add_parser("status", help="The latest runs as a table.")
        status.add_argument("--limit", type=int, default=10, help="How many runs (default 10).")
        status.add_argument("--user", help="Act as this user (default: the first admin).")

        for name, text in (("retry", "Retry a failed or cancelled run from the stage that did not finish."),
                           ("cancel", "Cancel a queued or running run.")):
            action = sub.add_parser(name, help=text)
            action.add_argument("run_id", type=int, metavar="ID")
            action.add_argument("--user", help="Act as this user (default: the first admin).")

    def handle(self, *args, subcommand, **options):
        getattr(self, f"handle_{subcommand}")(**options)

    # --- run ------------------------------------------------------------------------------
    def handle_run(self, *, run_async, duration, preset, help_presets, seed, bpm, key, library, motion, intro, outro,
                   target, privacy, publish_at, user, **options):
        from pipeline.engines.presets import PRESETS

        if help_presets:
            for name, item in PRESETS.items():
                self.stdout.write(f"{name:<14} {item.label}")
            return
        duration_s = parse_duration_option(duration)
        preset = preset or next(iter(PRESETS))
        if preset not in PRESETS:
            raise CommandError(f"--preset {preset!r} is not a preset. Choose one of: {', '.join(PRESETS)}.")
        when = None
        if publish_at:
            when = parse_datetime(publish_at)
            if when is None:
                raise CommandError(f"--publish-at {publish_at!r} is not a date and time: write e.g. "
                                   "2030-01-31T18:00 or 2030-01-31T18:00+01:00.")
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
        actor = resolve_user(user)
        params = dict(preset=preset, duration_s=duration_s, seed=seed, bpm=bpm, musical_key=key,
                      audio_source="library" if library else "procedural", motion=motion, publish_target=target,
                      privacy=privacy, publish_at=when)
        if run_async:
            run = self._start(actor, params, intro, outro)
            self.stdout.write(self.style.SUCCESS(
                f"Run #{run.pk} queued ({run.preset}, {format_seconds(run.duration_s)}, seed {run.seed}). "
                f"A `manage.py db_worker` executes it; follow it with `manage.py pipeline status`."))
            return
        with services.executing_inline():
            run = self._start(actor, params, intro, outro)
            self.stdout.write(f"Run #{run.pk}: {run.preset}, {format_seconds(run.duration_s)}, seed {run.seed}, "
                              f"executing here (Ctrl-C cancels).")
            run = self.execute_run(run, actor)
        self.report(run)

    def _start(self, actor, params, intro, outro):
        from django.core.files import File

        handles = []
        try:
            for name, path in (("intro", intro), ("outro", outro)):
                if path is None:
                    continue
                if not path.is_file():
                    raise CommandError(f"--{name} {path}: no such file.")
                handle = open(path, "rb")  # closed in finally
                handles.append(handle)
                params[name] = File(handle, name=path.name)
            return services.start_run(actor, **params)
        except ValidationError as exc:
            raise CommandError(error_text(exc, OPTION_NAMES))
        except PermissionDenied as exc:
            raise CommandError(f"{actor.username}: {exc}")
        finally:
            for handle in handles:
                handle.close()

    def execute_run(self, run: Run, actor) -> Run:
        """Execute the run's stages in this process until it is finished; returns the run."""
        display = ProgressDisplay(self.stdout, tty=self.stdout.isatty())
        poller = _Poller(run.pk, display) if display.tty else None
        if poller:
            poller.start()
        try:
            while True:
                if not self.step(run, display, poller):
                    break
        except KeyboardInterrupt:
            if poller:
                poller.stopped.set()
            display.message("Interrupted: cancelling the run.")
            close_old_connections()
            try:
                services.cancel_run(run, actor)
            except (ValidationError, PermissionDenied):
                pass
            services.execute_next_stage(run.pk)  # sees the cancel flag and finishes the run as cancelled
        finally:
            if poller:
                poller.stopped.set()
                poller.join(timeout=2)
            display.close()
        run.refresh_from_db()
        return run

    def step(self, run: Run, display: ProgressDisplay, poller=None) -> bool:
        """Execute the next stage; False once the run is finished. The loop body, testable on its own."""
        run.refresh_from_db()
        if run.status in services.TERMINAL_RUN_STATUSES:
            return False
        stage = next((s for s in run.ordered_stages() if s.status not in DONE), None)
        name = stage.name if stage else "finishing"
        if poller:
            poller.stage_name = name
        if stage is not None:
            display.update(name, run.progress, stage.progress)
        try:
            services.execute_next_stage(run.pk)
        except TransientError as exc:
            stage.refresh_from_db()
            delay = exc.retry_after or settings.JOB_BACKOFF_BASE_SECONDS * 2 ** max(0, stage.attempts - 1)
            display.message(f"{name}: {exc} - trying again in {delay:.0f} s.")
            time.sleep(delay)
            return True
        if stage is not None:
            stage.refresh_from_db()
            run.refresh_from_db()
            if stage.status in DONE:
                took = f" in {stage.duration_s:.1f} s" if stage.duration_s is not None else ""
                display.message(f"[{run.progress * 100:3.0f}%] {name} {stage.status}{took}")
        return True

    def report(self, run: Run):
        video = getattr(run, "video", None)
        elapsed = format_seconds(run.elapsed_s)
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Run #{run.pk} {run.status} after {elapsed}: {run.error or 'no error recorded'}")
        media = Path(settings.MEDIA_ROOT)
        lines = [self.style.SUCCESS(f"Run #{run.pk} succeeded in {elapsed}."),
                 f"  Title:     {video.title}",
                 f"  Duration:  {format_seconds(video.duration_s)} ({video.duration_s:.1f} s)",
                 f"  Size:      {format_bytes(video.size_bytes)}"]
        for label, field in (("Video", video.video), ("Audio", video.audio), ("Cover", video.cover),
                             ("Thumbnail", video.thumbnail)):
            if field:
                lines.append(f"  {label + ':':<10} {media / field.name}")
        if video.youtube_url:
            lines.append(f"  YouTube:   {video.youtube_url} ({video.get_upload_status_display()})")
        else:
            lines.append("  YouTube:   not uploaded (library only)")
        self.stdout.write("\n".join(lines))

    # --- status / retry / cancel --------------------------------------------------------------
    def handle_status(self, *, limit, user, **options):
        actor = resolve_user(user)
        runs = list(Run.objects.restrict(actor).select_related("created_by").order_by("-created_at", "-id")
                    [:max(1, limit)])
        if not runs:
            self.stdout.write("No runs yet. Start one with `manage.py pipeline run --duration 30s`.")
            return
        rows = [("ID", "STATUS", "PRESET", "DURATION", "PROGRESS", "CREATED", "ELAPSED", "BY", "ERROR")]
        for run in runs:
            created = timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M")
            error = " ".join(run.error.split())
            rows.append((run.pk, run.status, run.preset, format_seconds(run.duration_s), f"{run.progress:.0%}",
                         created, format_seconds(run.elapsed_s), run.created_by.username,
                         (error[:47] + "...") if len(error) > 50 else error or "-"))
        for line in table(rows):
            self.stdout.write(line)

    def _run_for(self, run_id, actor):
        run = Run.objects.restrict(actor).filter(pk=run_id).first()
        if run is None:
            raise CommandError(f"No run #{run_id}.")
        return run

    def handle_retry(self, *, run_id, user, **options):
        actor = resolve_user(user)
        try:
            run = services.retry_run(self._run_for(run_id, actor), actor)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(error_text(exc) if isinstance(exc, ValidationError) else str(exc))
        stage = next((s.name for s in run.ordered_stages() if s.status not in DONE), "publish")
        self.stdout.write(self.style.SUCCESS(
            f"Run #{run.pk} queued again; it resumes at the {stage} stage when a `db_worker` picks it up."))

    def handle_cancel(self, *, run_id, user, **options):
        actor = resolve_user(user)
        try:
            run = services.cancel_run(self._run_for(run_id, actor), actor)
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(error_text(exc) if isinstance(exc, ValidationError) else str(exc))
        if run.status == RunStatus.CANCELLED:
            self.stdout.write(self.style.SUCCESS(f"Run #{run.pk} cancelled."))
        else:
            self.stdout.write(self.style.SUCCESS(
                f"Run #{run.pk}: cancel requested; the running stage stops at its next progress report."))

