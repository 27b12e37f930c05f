"""The YouTube channel: connected with verified credentials, disconnected by an admin."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.roles import Action
from monitoring.events import record_event

from .. import youtube, youtube_oauth
from ..models import YouTubeChannel
from .queries import record_quota


def channel_connected() -> bool:
    return YouTubeChannel.objects.exists()


def connect_channel(user, *, client_id, client_secret, refresh_token) -> YouTubeChannel:
    """Verify the credentials with YouTube (outside any transaction: it is network), then store
    them encrypted with the channel's real id and title. A failure saves nothing."""
    if not YouTubeChannel.objects.can_add(user):
        raise PermissionDenied("Only admins connect the YouTube channel.")
    client_id, client_secret, refresh_token = (value.strip() for value in (client_id, client_secret, refresh_token))
    verified = youtube_oauth.verify_credentials(client_id=client_id, client_secret=client_secret,
                                                refresh_token=refresh_token)
    with transaction.atomic():
        record_quota(youtube.QUOTA_BUCKET_DEFAULT, youtube.CHANNELS_LIST_UNITS, "channels.list", None, user)
        YouTubeChannel.objects.all().delete()
        channel = YouTubeChannel.objects.create(client_id=client_id, client_secret=client_secret,
                                                refresh_token=refresh_token, channel_id=verified.channel_id,
                                                channel_title=verified.title, connected_by=user)
    record_event("pipeline", "youtube.connected", "info",
                 f"YouTube channel {verified.title!r} ({verified.channel_id}) connected by {user}", {}, user=user)
    return channel


@transaction.atomic
def disconnect_channel(user) -> None:
    if not YouTubeChannel.objects.model_permits(user, Action.DELETE):
        raise PermissionDenied("Only admins disconnect the YouTube channel.")
    YouTubeChannel.objects.all().delete()
    record_event("pipeline", "youtube.disconnected", "warning", f"YouTube channel disconnected by {user}", {},
                 user=user)
