"""`manage.py youtube_connect`: connect the YouTube channel (OAuth client + refresh token).

Two ways to get the refresh token:

- `--refresh-token-stdin`: you already have one (e.g. from another machine); it is
  read from standard input after the client secret.
- otherwise the installed-app loopback flow with PKCE: the command listens on
  http://127.0.0.1:PORT/, prints Google's consent URL, you open it in a browser
  (on this machine, or forward the port with `ssh -L PORT:127.0.0.1:PORT`), and
  Google redirects back with a code that is exchanged for a refresh token.

Secrets are read from standard input or a prompt, never from the command line
(they would land in the shell history and `ps`), and are stored encrypted by
`services.connect_channel` (lofisite.crypto). They are never printed.
"""

import getpass
import html
import secrets
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from pipeline import services, youtube_oauth
from pipeline.models import YouTubeChannel

from ._shared import resolve_user


class _RedirectHandler(BaseHTTPRequestHandler):
    server: "LoopbackServer"

    def log_message(self, format, *args):
        """Quiet: the command reports what matters."""

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path != "/":
            self._page(404, "Not found.")  # e.g. the browser asking for /favicon.ico
            return
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        if not secrets.compare_digest(query.get("state", ""), self.server.state):
            self.server.failure = ("The redirect's state did not match this request (a stale browser tab or a "
                                   "forged request); nothing was saved. Run the command again.")
            self._page(400, "This sign-in link does not belong to the running command. Nothing was saved.")
        elif "error" in query:
            self.server.failure = f"Google answered {query['error']!r}: the consent was not given. Nothing was saved."
            self._page(400, f"Consent not given ({query['error']}). You can close this tab.")
        elif not query.get("code"):
            self._page(400, "No authorization code in this request.")
            return
        else:
            self.server.code = query["code"]
            self._page(200, "lofisite received the authorization. You can close this tab and return to the terminal.")

    def _page(self, status, text):
        body = (f"<!doctype html><meta charset=utf-8><title>lofisite</title><p>{html.escape(text)}</p>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer(HTTPServer):
    """Waits on 127.0.0.1 for the one OAuth redirect that carries our state."""

    def __init__(self, port: int, state: str):
        super().__init__(("127.0.0.1", port), _RedirectHandler)
        self.state = state
        self.code: str | None = None
        self.failure: str | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/"

    def wait_for_code(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while self.code is None and self.failure is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CommandError(f"No answer from the browser within {timeout:.0f} s; nothing was saved. Run the "
                                   "command again and open the URL it prints (or pass --timeout).")
            self.timeout = min(remaining, 1.0)
            self.handle_request()
        if self.failure:
            raise CommandError(self.failure)
        return self.code


class Command(BaseCommand):
    help = ("Connect the YouTube channel: store the OAuth client id, client secret and a refresh token "
            "(encrypted). Without --refresh-token-stdin, runs the browser consent flow on a local port.")
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--client-id", required=True, help="OAuth client id (a 'Desktop app' client).")
        parser.add_argument("--client-secret-stdin", action="store_true",
                            help="Read the client secret from the first line of standard input (default: prompt).")
        parser.add_argument("--refresh-token-stdin", action="store_true",
                            help="Read an existing refresh token from standard input (after the secret) and skip "
                                 "the browser consent.")
        parser.add_argument("--port", type=int, default=8765,
                            help="Local port for Google's redirect (default 8765; 0 picks a free port).")
        parser.add_argument("--timeout", type=float, default=300,
                            help="Seconds to wait for the browser (default 300).")
        parser.add_argument("--user", help="The admin who connects the channel (default: the first admin).")

    def handle(self, *args, client_id, client_secret_stdin, refresh_token_stdin, port, timeout, user,
               **options):
        stdin = options.get("stdin") or sys.stdin
        actor = resolve_user(user)
        if not YouTubeChannel.objects.can_add(actor):
            raise CommandError(f"{actor.username} is not an admin: only admins connect the YouTube channel.")
        client_id = client_id.strip()
        if not client_id:
            raise CommandError("--client-id is empty.")
        client_secret = self._secret(stdin, client_secret_stdin, "Client secret", "--client-secret-stdin")
        if refresh_token_stdin:
            refresh_token = self._secret(stdin, True, "Refresh token", "--refresh-token-stdin")
        else:
            refresh_token = self.authorize(client_id, client_secret, port, timeout)
        try:
            channel = services.connect_channel(actor, client_id=client_id, client_secret=client_secret,
                                               refresh_token=refresh_token)
        except PermissionDenied as exc:
            raise CommandError(str(exc))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
        self.stdout.write(self.style.SUCCESS(
            f"YouTube channel connected by {actor.username}: {channel.channel_title!r} ({channel.channel_id}, "
            f"client id {channel.client_id}). The client secret and "
            "refresh token are stored encrypted; runs can now publish to YouTube."))

    def _secret(self, stdin, from_stdin: bool, label: str, option: str) -> str:
        if from_stdin:
            value = stdin.readline().strip()
            if not value:
                raise CommandError(f"{option}: standard input had no {label.lower()} line.")
            return value
        if not stdin.isatty():
            raise CommandError(f"No terminal to ask for the {label.lower()}: pipe it in and pass {option}.")
        value = getpass.getpass(f"{label}: ").strip()
        if not value:
            raise CommandError(f"No {label.lower()} given.")
        return value

    def authorize(self, client_id: str, client_secret: str, port: int, timeout: float) -> str:
        """The loopback consent flow; returns the refresh token."""
        verifier, challenge = youtube_oauth.pkce_pair()
        state = secrets.token_urlsafe(24)
        try:
            server = LoopbackServer(port, state)
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); pass another --port.")
        with server:
            self.stdout.write("Open this URL in a browser on this machine and allow access to the channel:\n\n"
                              f"  {youtube_oauth.consent_url(client_id, server.redirect_uri, state, challenge)}\n\n"
                              f"Waiting up to {timeout:.0f} s for the redirect to {server.redirect_uri} ...")
            self.stdout.flush()
            code = server.wait_for_code(timeout)
        self.stdout.write("Authorization received; exchanging it for a refresh token.")
        try:
            return youtube_oauth.exchange_code(client_id=client_id, client_secret=client_secret, code=code,
                                               redirect_uri=server.redirect_uri, verifier=verifier)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages))
