import factory
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from accounts.services import assign_role
from legal import services as legal_services
from monitoring.models import AIUsage
from pipeline import services as pipeline_services
from pipeline.choices import RunStatus, StageName, StageStatus
from pipeline.engines.presets import PRESETS
from pipeline.models import Run, Schedule, Stage, Track

PASSWORD = "correct-horse-battery-staple-42"
AUDIO_BYTES = b"\x00\x01\x02\x03audio" * 500  # the bytes of every factory-made track file


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.VIEWER
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def sync_role(user, create, extracted, **kwargs):
        if create:
            assign_role(user, user.role)


def accept_all_documents(user):
    legal_services.accept(user, legal_services.current_documents(), "127.0.0.1", "pytest")


# --- pipeline and AI rows: made through the product's services where it has one, then put in the state a
# --- test needs (a worker's leftovers, a time in the past) by the factory, not by hand in the test ----------
def default_preset() -> str:
    """A valid preset name."""
    return "study" if "study" in PRESETS else next(iter(PRESETS))


def move_run_to(run, status: str, *, error: str = ""):
    """Put a run (and its stages) in the state a worker would leave it in."""
    now = timezone.now()
    stages = Stage.objects.filter(run=run)
    if status == RunStatus.RUNNING:
        stages.filter(name=StageName.COMPOSE).update(status=StageStatus.SUCCEEDED, attempts=1, started_at=now,
                                                     finished_at=now, progress=1, log="[12:00:00] Composed.\n")
        stages.filter(name=StageName.ARTWORK).update(status=StageStatus.RUNNING, attempts=1, started_at=now,
                                                     progress=0.5, log="[12:00:01] Drawing the cover.\n")
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, progress=0.38)
    elif status == RunStatus.FAILED:
        stages.filter(name=StageName.COMPOSE).update(status=StageStatus.SUCCEEDED, attempts=1, started_at=now,
                                                     finished_at=now, progress=1)
        stages.filter(name=StageName.ARTWORK).update(
            status=StageStatus.FAILED, attempts=3, started_at=now, finished_at=now,
            error=error or "No space left on device", log="[12:00:00] Attempt 3 started.\n[12:00:01] disk full\n")
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, finished_at=now, progress=0.35,
                                             error=error or "Artwork failed: No space left on device")
    elif status in (RunStatus.SUCCEEDED, RunStatus.CANCELLED):
        stage_status = StageStatus.SUCCEEDED if status == RunStatus.SUCCEEDED else StageStatus.CANCELLED
        stages.update(status=stage_status, attempts=1, started_at=now, finished_at=now,
                      progress=1 if status == RunStatus.SUCCEEDED else 0, log="[12:00:00] Done.\n")
        if status == RunStatus.SUCCEEDED and run.publish_target == "library":
            stages.filter(name=StageName.PUBLISH).update(status=StageStatus.SKIPPED)
        Run.objects.filter(pk=run.pk).update(status=status, started_at=now, finished_at=now, error=error,
                                             progress=1.0 if status == RunStatus.SUCCEEDED else 0.1)
    run.refresh_from_db()
    return run


class _Factory(factory.django.DjangoModelFactory):
    """A factory for rows whose columns in `_afterwards` are filled by the database or a service
    (auto_now_add, computed times): a value given for one (not None) is set once the row is made,
    which is how a test says "created ten days ago" or "due half an hour ago"."""

    _afterwards: tuple[str, ...] = ()

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        later = {name: value for name in cls._afterwards if (value := kwargs.pop(name, None)) is not None}
        obj = cls._make(model_class, *args, **kwargs)
        if later:
            model_class.objects.filter(pk=obj.pk).update(**later)
            obj.refresh_from_db()
        return obj

    @classmethod
    def _make(cls, model_class, *args, **kwargs):
        return super()._create(model_class, *args, **kwargs)


class RunFactory(_Factory):
    """RunFactory(created_by=user, status="failed", finished_at=..., **start_run_params): a run started
    by services.start_run (stages, queued job), then moved to `status` as a worker would leave it."""

    _afterwards = ("created_at", "started_at", "finished_at")

    class Meta:
        model = Run

    created_by = factory.SubFactory(UserFactory, role=Role.OPERATOR)
    preset = factory.LazyFunction(default_preset)
    duration_s = 60

    @classmethod
    def _make(cls, model_class, *, created_by, status=RunStatus.QUEUED, error="", **params):
        run = pipeline_services.start_run(created_by, **params)
        return move_run_to(run, status, error=error) if status != RunStatus.QUEUED else run


class ScheduleFactory(_Factory):
    """ScheduleFactory(created_by=user, next_run_at=..., **fields): saved by services.save_schedule
    (validated, next fire time computed), then `next_run_at` / `last_run_at` as given."""

    _afterwards = ("next_run_at", "last_run_at", "created_at")

    class Meta:
        model = Schedule

    created_by = factory.SubFactory(UserFactory, role=Role.OPERATOR)
    name = factory.Sequence(lambda n: f"Schedule {n}")
    cron = "0 18 * * *"
    timezone = "UTC"
    preset = factory.LazyFunction(default_preset)
    duration_s = 60

    @classmethod
    def _make(cls, model_class, *, created_by, **fields):
        return pipeline_services.save_schedule(created_by, model_class(**fields))


class TrackFactory(factory.django.DjangoModelFactory):
    """A Track row with a small file on disk (no decoding: services.add_track is for upload tests)."""

    class Meta:
        model = Track

    title = "Rain on the window"
    uploaded_by = factory.SubFactory(UserFactory, role=Role.OPERATOR)
    duration_s = 95.5
    file = factory.django.FileField(filename="rain.m4a", data=AUDIO_BYTES)
    size_bytes = len(AUDIO_BYTES)


class AIUsageFactory(_Factory):
    """One row of the AI cost ledger, as the gateway writes it after a call (`created_at`: when)."""

    _afterwards = ("created_at",)

    class Meta:
        model = AIUsage

    user = factory.SubFactory(UserFactory, role=Role.OPERATOR)
    model = "gpt-4o-mini"
    request_type = "pipeline.metadata"


# --- Vinted ----------------------------------------------------------------------------------
class ListingFactory(_Factory):
    """A Listing row as a seller leaves it (`created_at`, `ready_at`, `listed_at`, `sold_at`: when).
    ListingFactory(complete=True) fills every field "ready" needs from the shipped catalogue (no photo:
    add PhotoFactory(listing=...))."""

    _afterwards = ("created_at", "ready_at", "listed_at", "sold_at")

    class Meta:
        model = "vinted.Listing"
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory, role=Role.OPERATOR)
    title = factory.Sequence(lambda n: f"Blue denim jacket {n}")

    @classmethod
    def _make(cls, model_class, *, complete=False, colours=(), **fields):
        from vinted.models import Brand, Category, Colour, Size

        if complete:
            jeans = Category.objects.get(vinted_id=1187)
            fields = {"description": "Classic straight-leg jeans, barely worn, no marks.", "category": jeans,
                      "brand": Brand.objects.get(vinted_id=53), "size": Size.objects.filter(group=jeans.size_group)[0],
                      "condition": 2, "price": "25.00", "package_size": 2, **fields}
            colours = colours or [Colour.objects.get(name="Blue")]
        listing = super()._make(model_class, **fields)
        if colours:
            listing.colours.set(colours)
        return listing


def image_bytes(width=64, height=48, colour=(30, 99, 199), fmt="JPEG", **save) -> bytes:
    """An encoded picture of one colour (JPEG, PNG, WEBP; HEIF with pillow-heif registered)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, fmt, **save)
    return buffer.getvalue()


class PhotoFactory(factory.django.DjangoModelFactory):
    """A processed Photo (files written directly, no processing: vinted.photos is for upload tests)."""

    class Meta:
        model = "vinted.Photo"

    listing = factory.SubFactory(ListingFactory)
    owner = factory.LazyAttribute(lambda p: p.listing.owner)
    position = factory.Sequence(lambda n: n)
    status = "ready"
    original = factory.django.FileField(filename="photo.jpg", data=factory.LazyFunction(image_bytes))
    display = factory.django.FileField(filename="photo-display.jpg", data=factory.LazyFunction(image_bytes))
    thumbnail = factory.django.FileField(filename="photo-thumb.jpg",
                                         data=factory.LazyFunction(lambda: image_bytes(16, 12)))
    content_type = "image/jpeg"
    width = 64
    height = 48
