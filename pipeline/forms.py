"""HTML forms of the pipeline. They check the shape of the input; the rules live in
`pipeline.services`, whose ValidationErrors the views put back on these fields
with `apply_service_errors` (so the error shows next to the field and the typed
input stays)."""


from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from lofisite.formatting import format_duration

from . import services
from .choices import AudioSource, Privacy, PublishTarget
from .durations import parse_duration
from .engines.compose.keys import MAJOR_KEYS, MINOR_KEYS
from .engines.limits import MAX_BPM, MIN_BPM
from .engines.metadata import DESCRIPTION_MAX_BYTES, TAGS_MAX_CHARS, TITLE_MAX_CHARS
from .models import MAX_DURATION_S, MIN_DURATION_S
from .timezones import canonical_timezone, unknown_timezone_message

CLIP_EXTENSIONS = services.CLIP_EXTENSIONS

DURATION_CHOICES = [
    (30, "30 seconds"),
    (60, "1 minute"),
    (5 * 60, "5 minutes"),
    (10 * 60, "10 minutes"),
    (30 * 60, "30 minutes"),
    (60 * 60, "1 hour"),
    (90 * 60, "1 hour 30 minutes"),
    (2 * 60 * 60, "2 hours"),
    (3 * 60 * 60, "3 hours"),
]

KEY_CHOICES = [
    ("", "Let the preset choose"),
    ("Major", [(key, key) for key in MAJOR_KEYS]),
    ("Minor", [(key, key) for key in MINOR_KEYS]),
]


def preset_choices():
    from .engines.presets import PRESETS

    return [(name, preset.label) for name, preset in PRESETS.items()]


def publish_at_field():
    return forms.DateTimeField(
        label="Publish at", required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))




class DurationFieldsMixin:
    """A select of common durations plus a free 'custom' text box that wins when filled.

    The cleaned value is `cleaned_data["duration_s"]`; errors are shown at the
    field the user actually used.
    """

    duration_range_message = (f"Choose between {format_duration(MIN_DURATION_S)} (30 s) and "
                              f"{format_duration(MAX_DURATION_S)} (3 hours).")

    def _add_duration_fields(self, initial_s=None):
        self.fields["duration"] = forms.TypedChoiceField(
            label="Duration", choices=DURATION_CHOICES, coerce=int, initial=initial_s or 30 * 60,
            required=False)
        custom_initial = ""
        if initial_s and initial_s not in dict(DURATION_CHOICES):
            custom_initial = format_duration(initial_s)
        self.fields["custom_duration"] = forms.CharField(
            label="Custom duration", required=False, initial=custom_initial, max_length=20,
            help_text="Optional; overrides the list. h:mm:ss, mm:ss, seconds, or e.g. 1h 15m. "
                      "From 30 s to 3 hours.",
            widget=forms.TextInput(attrs={"placeholder": "e.g. 45:00 or 1h 15m", "inputmode": "text",
                                          "autocomplete": "off"}))

    @property
    def duration_error_field(self):
        return "custom_duration" if (self.data.get(self.add_prefix("custom_duration")) or "").strip() else "duration"

    def _clean_duration(self, cleaned):
        custom = (cleaned.get("custom_duration") or "").strip()
        if custom:
            try:
                seconds = parse_duration(custom)
            except ValueError:
                self.add_error("custom_duration", "Write the duration as h:mm:ss, mm:ss, seconds or e.g. 1h 15m.")
                return
            field = "custom_duration"
        else:
            seconds = cleaned.get("duration")
            field = "duration"
            if seconds in (None, ""):
                self.add_error("duration", "Choose a duration.")
                return
        if not MIN_DURATION_S <= seconds <= MAX_DURATION_S:
            self.add_error(field, f"{format_duration(seconds)} is out of range. {self.duration_range_message}")
            return
        cleaned["duration_s"] = seconds


def add_publish_errors(form, cleaned, publish_target) -> None:
    """services.publish_errors on the form's fields (the publish time once it and the privacy are readable)."""
    readable = "privacy" in cleaned and not form.has_error("publish_at")
    errors = services.publish_errors(publish_target=publish_target, privacy=cleaned.get("privacy"),
                                     publish_at=cleaned.get("publish_at") if readable else None)
    if errors:
        apply_service_errors(form, ValidationError(errors))


class RunForm(DurationFieldsMixin, forms.Form):
    preset = forms.ChoiceField(label="Preset (mood)", choices=preset_choices)
    bpm = forms.IntegerField(label="Tempo (BPM)", required=False, min_value=MIN_BPM, max_value=MAX_BPM,
                             help_text=f"Optional, {MIN_BPM}-{MAX_BPM}. Blank: the preset picks a tempo.",
                             widget=forms.NumberInput(attrs={"placeholder": "preset default"}))
    musical_key = forms.ChoiceField(label="Musical key", required=False, choices=KEY_CHOICES)
    seed = forms.IntegerField(label="Seed", required=False, min_value=0, max_value=2**63 - 1,
                              help_text="Same seed and settings give the same mix. Blank: random.",
                              widget=forms.NumberInput(attrs={"placeholder": "random"}))
    audio_source = forms.ChoiceField(label="Audio", choices=AudioSource.choices, initial=AudioSource.PROCEDURAL,
                                     widget=forms.RadioSelect)
    motion = forms.BooleanField(label="Gentle motion (slow zoom) instead of a still image", required=False)
    intro = forms.FileField(label="Intro clip", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": ",".join(CLIP_EXTENSIONS)}))
    outro = forms.FileField(label="Outro clip", required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": ",".join(CLIP_EXTENSIONS)}))
    publish_target = forms.ChoiceField(label="Publish to", choices=PublishTarget.choices,
                                       initial=PublishTarget.LIBRARY, widget=forms.RadioSelect)
    privacy = forms.ChoiceField(label="YouTube privacy", choices=Privacy.choices, initial=Privacy.PRIVATE)
    publish_at = publish_at_field()

    field_order = ["preset", "duration", "custom_duration", "bpm", "musical_key", "seed", "audio_source", "motion",
                   "intro", "outro", "publish_target", "privacy", "publish_at"]

    def __init__(self, *args, previous_seed=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_duration_fields()
        self.previous_seed = previous_seed
        if previous_seed is not None:
            # "Run again": a new seed unless the person asks for the same audio and art.
            self.fields["keep_seed"] = forms.BooleanField(
                label=f"Keep seed {previous_seed} (identical audio and art)", required=False,
                help_text="Unticked: a new seed, so a new mix and new cover with the same settings.")
        self.order_fields(self.field_order[:6] + ["keep_seed"] + self.field_order[6:])
        self.channel_connected = services.channel_connected()
        if not self.channel_connected:
            # Offer only what can work; a posted 'youtube' still gets a clear message in clean_publish_target.
            self.fields["publish_target"].widget.choices = [(PublishTarget.LIBRARY, PublishTarget.LIBRARY.label)]
            # Privacy and publish time only matter for an upload; the page does not show them then.
            self.fields["privacy"].required = False
        clip_mb = settings.PIPELINE_CLIP_MAX_MB
        for name in ("intro", "outro"):
            self.fields[name].help_text = (f"Optional: mp4, mov, webm or mkv, at most {clip_mb} MB. "
                                           "The file is read to check it.")
        self.fields["publish_at"].help_text = (
            f"Optional, for YouTube uploads with privacy Private: YouTube makes the video public then. "
            f"Time zone: {timezone.get_current_timezone_name()}.")

    def clean_privacy(self):
        return self.cleaned_data.get("privacy") or Privacy.PRIVATE

    def _clean_clip(self, name):
        clip = self.cleaned_data.get(name)
        services.check_clip(clip)
        return clip or None

    def clean_intro(self):
        return self._clean_clip("intro")

    def clean_outro(self):
        return self._clean_clip("outro")

    def clean(self):
        cleaned = super().clean()
        self._clean_duration(cleaned)
        if cleaned.get("keep_seed") and cleaned.get("seed") is None:
            cleaned["seed"] = self.previous_seed
        if "publish_target" in cleaned:
            add_publish_errors(self, cleaned, cleaned["publish_target"])
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "preset": data["preset"], "duration_s": data["duration_s"], "seed": data.get("seed"),
            "bpm": data.get("bpm"), "musical_key": data.get("musical_key") or "",
            "audio_source": data["audio_source"], "motion": data.get("motion", False),
            "intro": data.get("intro"), "outro": data.get("outro"),
            "publish_target": data["publish_target"], "privacy": data["privacy"],
            "publish_at": data.get("publish_at"),
        }

    def service_field(self, name):
        """The form field where an error of services' field `name` belongs."""
        return self.duration_error_field if name == "duration_s" else name


class MetadataForm(forms.Form):
    title = forms.CharField(label="Title", max_length=TITLE_MAX_CHARS,
                            help_text=f"At most {TITLE_MAX_CHARS} characters; no < or >.")
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 8}),
                                  help_text=f"At most {DESCRIPTION_MAX_BYTES} bytes.")
    tags = forms.CharField(label="Tags", required=False,
                           help_text=f"Comma-separated, at most {TAGS_MAX_CHARS} characters in total.",
                           widget=forms.TextInput(attrs={"placeholder": "lofi, study, chill beats"}))

    @classmethod
    def for_video(cls, video, **kwargs):
        return cls(initial={"title": video.title, "description": video.description,
                            "tags": ", ".join(video.tags or [])}, **kwargs)

    def clean_tags(self):
        return [tag.strip() for tag in self.cleaned_data["tags"].split(",") if tag.strip()]

    def service_field(self, name):
        return name


class PublishForm(forms.Form):
    """Upload a finished library video to YouTube."""

    privacy = forms.ChoiceField(label="Privacy", choices=Privacy.choices, initial=Privacy.PRIVATE)
    publish_at = publish_at_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["publish_at"].help_text = (
            f"Optional, only with Private. Time zone: {timezone.get_current_timezone_name()}.")

    def clean(self):
        cleaned = super().clean()
        add_publish_errors(self, cleaned, PublishTarget.YOUTUBE)
        return cleaned

    def service_field(self, name):
        return name if name in self.fields else None


class ScheduleForm(DurationFieldsMixin, forms.Form):
    name = forms.CharField(label="Name", max_length=100,
                           widget=forms.TextInput(attrs={"placeholder": "Evening study mix"}))
    cron = forms.CharField(label="When (cron)", max_length=100,
                           help_text="Five fields: minute hour day-of-month month day-of-week. "
                                     "<code>0 18 * * *</code> = every day at 18:00; "
                                     "<code>30 7 * * 1-5</code> = weekdays at 7:30.",
                           widget=forms.TextInput(attrs={"placeholder": "0 18 * * *", "autocomplete": "off",
                                                         "spellcheck": "false"}))
    timezone = forms.CharField(label="Time zone", max_length=64,
                               help_text="An IANA name such as Europe/Paris, America/New_York or UTC.",
                               widget=forms.TextInput(attrs={"list": "timezone-names", "autocomplete": "off",
                                                             "spellcheck": "false"}))
    preset = forms.ChoiceField(label="Preset (mood)", choices=preset_choices)
    audio_source = forms.ChoiceField(label="Audio", choices=AudioSource.choices, initial=AudioSource.PROCEDURAL,
                                     widget=forms.RadioSelect)
    publish_target = forms.ChoiceField(label="Publish to", choices=PublishTarget.choices,
                                       initial=PublishTarget.LIBRARY, widget=forms.RadioSelect)
    privacy = forms.ChoiceField(label="YouTube privacy", choices=Privacy.choices, initial=Privacy.PRIVATE)
    enabled = forms.BooleanField(label="Enabled", required=False, initial=True)

    field_order = ["name", "cron", "timezone", "preset", "duration", "custom_duration", "audio_source",
                   "publish_target", "privacy", "enabled"]

    def __init__(self, *args, instance=None, **kwargs):
        self.instance = instance
        if instance is not None and instance.pk:
            defaults = {
                "name": instance.name, "cron": instance.cron, "timezone": instance.timezone,
                "preset": instance.preset, "audio_source": instance.audio_source,
                "publish_target": instance.publish_target, "privacy": instance.privacy,
                "enabled": instance.enabled,
            }
        else:
            defaults = {"timezone": settings.TIME_ZONE}
        kwargs["initial"] = {**defaults, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self._add_duration_fields(instance.duration_s if instance is not None and instance.pk else None)
        self.order_fields(self.field_order)
        if not services.channel_connected():
            self.fields["publish_target"].help_text = (
                "No YouTube channel is connected now: until one is, runs of this schedule stay in the library "
                "and nothing is uploaded.")

    def clean(self):
        cleaned = super().clean()
        self._clean_duration(cleaned)
        return cleaned

    def clean_timezone(self):
        # A choice from tzdata's names (offered as <datalist> suggestions: 600 <option>s in a
        # <select> are slow to render), matched whatever the case of what was typed.
        zone = canonical_timezone(self.cleaned_data["timezone"])
        if zone is None:
            raise forms.ValidationError(unknown_timezone_message(self.cleaned_data["timezone"]))
        return zone

    def apply_to(self, schedule):
        data = self.cleaned_data
        for name in ("name", "cron", "timezone", "preset", "audio_source", "publish_target", "privacy", "enabled"):
            setattr(schedule, name, data[name].strip() if name == "cron" else data[name])
        schedule.cron = " ".join(schedule.cron.split())
        schedule.duration_s = data["duration_s"]
        return schedule

    def service_field(self, name):
        if name == "duration_s":
            return self.duration_error_field
        return name if name in self.fields else None


class TrackUploadForm(forms.Form):
    file = forms.FileField(label="Audio file", widget=forms.ClearableFileInput(attrs={"accept": "audio/*"}))
    title = forms.CharField(label="Title", required=False, max_length=200,
                            help_text="Optional; the file name is used when blank.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (f"mp3, wav, flac, ogg, m4a, aac or opus, at most "
                                         f"{settings.PIPELINE_TRACK_MAX_MB} MB. The file is decoded to check it.")

    def service_field(self, name):
        return name if name in self.fields else None


class ChannelForm(forms.Form):
    """Connect the YouTube channel. The secrets are write-only: never rendered back."""

    client_id = forms.CharField(label="OAuth client ID", max_length=255,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    client_secret = forms.CharField(label="OAuth client secret", strip=True,
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))
    refresh_token = forms.CharField(label="Refresh token", strip=True,
                                    help_text="From <code>manage.py youtube_connect</code> or Google's OAuth "
                                              "playground, with the youtube.upload scope.",
                                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}))

    def service_field(self, name):
        return name if name in self.fields else None


class ImageUploadForm(forms.Form):
    """One image for a run's artwork; the service types it from its bytes and bounds it."""

    field_name = ""
    label = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.field_name] = forms.FileField(
            label=self.label, widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
            help_text=f"JPEG, PNG or WebP, at least {services.IMAGE_MIN_SIZE[0]}x{services.IMAGE_MIN_SIZE[1]} "
                      f"pixels, at most {settings.PIPELINE_IMAGE_MAX_MB} MB. {self.help_text}")

    def service_field(self, name):
        return name if name in self.fields else None


class ThumbnailUploadForm(ImageUploadForm):
    field_name, label = "thumbnail", "Your own thumbnail"
    help_text = "Fitted to YouTube's 1280x720."


class CoverUploadForm(ImageUploadForm):
    field_name, label = "cover", "Your own cover art"
    help_text = "The video is rendered again with it, and the thumbnail redrawn."


class ChannelOAuthForm(forms.Form):
    """"Connect with Google": the OAuth client; the refresh token comes from Google's consent."""

    client_id = ChannelForm.base_fields["client_id"]
    client_secret = ChannelForm.base_fields["client_secret"]

    def service_field(self, name):
        return name if name in self.fields else None


def apply_service_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors next to their fields, the rest on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = form.service_field(name) if hasattr(form, "service_field") else name
            if field not in form.fields:
                field = None
            for item in errors:
                form.add_error(field, item)
    else:
        form.add_error(None, error)
