import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import lockout, tokens, two_factor
from accounts.models import APIToken, User
from accounts.roles import Role
from accounts.services import create_user, update_user


class Command(BaseCommand):
    help = ("Manage users: `users create USERNAME EMAIL --role ROLE`, `users list`, `users set-role USERNAME ROLE`, "
            "`users set-password USERNAME`, `users deactivate USERNAME`, `users reset-2fa USERNAME`, "
            "`users unlock USERNAME`, "
            "`users token create|list|revoke`.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a user (password from a prompt or --password-stdin).")
        create.add_argument("username")
        create.add_argument("email")
        create.add_argument("--role", choices=Role.values, default=Role.VIEWER)
        create.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        sub.add_parser("list", help="List users as a table.")
        set_role = sub.add_parser("set-role", help="Change a user's role.")
        set_role.add_argument("username")
        set_role.add_argument("role", choices=Role.values)
        set_password = sub.add_parser("set-password", help="Set a user's password (revokes their API tokens).")
        set_password.add_argument("username")
        set_password.add_argument("--password-stdin", action="store_true", help="Read it from standard input.")
        deactivate = sub.add_parser("deactivate", help="Deactivate a user (revokes their API tokens).")
        deactivate.add_argument("username")
        reset = sub.add_parser("reset-2fa", help="Remove a user's authenticator and recovery codes.")
        reset.add_argument("username")
        unlock = sub.add_parser("unlock", help="Clear a user's failed sign-ins: a locked-out account signs in again.")
        unlock.add_argument("username")

        token = sub.add_parser("token", help="Personal API tokens.").add_subparsers(dest="token_action", required=True)
        token_create = token.add_parser("create", help="Create a token for USERNAME; it is printed once.")
        token_create.add_argument("username")
        token_create.add_argument("--name", required=True, help="What the token is for.")
        token_create.add_argument("--write", action="store_true", help="Allow writes (default: read-only).")
        token_create.add_argument("--expires-days", type=int, help="Expire after this many days (default: never).")
        token_create.add_argument("--allowed-ips", default="", help="Comma-separated CIDR networks (default: any).")
        token_list = token.add_parser("list", help="List tokens (of USERNAME, or everyone's).")
        token_list.add_argument("username", nargs="?")
        token_revoke = token.add_parser("revoke", help="Revoke a token by id, or all of a user's with --user.")
        token_revoke.add_argument("id", nargs="?", type=int)
        token_revoke.add_argument("--user", dest="revoke_user")

    def handle(self, *args, action, **options):
        getattr(self, "handle_" + action.replace("-", "_"))(**options)

    def handle_create(self, username, email, role, password_stdin, **options):
        if User.objects.filter(username__iexact=username).exists():  # the same rule as the API
            raise CommandError(f"A user named {username!r} already exists.")
        password = self._read_password(password_stdin)
        try:
            user = create_user(username, email, password, role=role)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({user.role_label})."))

    def handle_list(self, **options):
        rows = [("USERNAME", "EMAIL", "ROLE", "ACTIVE", "LAST LOGIN")]
        for user in User.objects.order_by("username"):
            last = user.last_login.strftime("%Y-%m-%d %H:%M") if user.last_login else "never"
            rows.append((user.username, user.email or "-", user.role, "yes" if user.is_active else "no", last))
        self._table(rows)

    def handle_set_role(self, username, role, **options):
        update_user(None, self._user(username), role=role)
        self.stdout.write(self.style.SUCCESS(f"{username} is now {Role(role).label}."))

    def _user(self, username):
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.")

    def handle_set_password(self, username, password_stdin, **options):
        from django.contrib.auth.password_validation import validate_password

        user = self._user(username)
        password = self._read_password(password_stdin)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        user.set_password(password)
        user.save()  # accounts.signals revokes API tokens and refresh tokens
        self.stdout.write(self.style.SUCCESS(f"Password of {username} changed; their API tokens were revoked."))

    def handle_deactivate(self, username, **options):
        user = self._user(username)
        user.is_active = False
        user.save(update_fields=["is_active"])
        self.stdout.write(self.style.SUCCESS(f"{username} is deactivated; their API tokens were revoked."))

    def handle_reset_2fa(self, username, **options):
        removed = two_factor.reset(self._user(username))
        self.stdout.write(self.style.SUCCESS(
            f"Two-factor sign-in of {username} reset ({removed} device(s) removed); they sign in with "
            "their password alone and can set it up again on their profile page."))

    def handle_unlock(self, username, **options):
        user = self._user(username)
        cleared = lockout.unlock(user.username)
        self.stdout.write(self.style.SUCCESS(
            f"Sign-in of {username} unlocked ({cleared} failed-attempt record(s) cleared)." if cleared
            else f"{username} was not locked out (no failed sign-ins on record)."))

    def handle_token(self, token_action, **options):
        getattr(self, "handle_token_" + token_action)(**options)

    def handle_token_create(self, username, name, write, expires_days, allowed_ips, **options):
        from datetime import timedelta

        from django.utils import timezone

        user = self._user(username)
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        networks = [item.strip() for item in allowed_ips.split(",") if item.strip()]
        try:
            issued = tokens.create_token(user, name, write=write, expires_at=expires_at, allowed_ips=networks)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages))
        self.stderr.write(f"Token {issued.token.pk} for {username} ({'read and write' if write else 'read-only'}). "
                          "It is shown only once:")
        self.stdout.write(issued.plaintext)

    def handle_token_list(self, username=None, **options):
        from django.utils import timezone

        now = timezone.now()
        queryset = APIToken.objects.select_related("user").order_by("user__username", "-created_at")
        if username:
            queryset = queryset.filter(user=self._user(username))
        rows = [("ID", "USER", "NAME", "TOKEN", "ACCESS", "EXPIRES", "LAST USED", "STATUS")]
        for token in queryset:
            rows.append((str(token.pk), token.user.username, token.name, token.display,
                         "write" if token.write_enabled else "read",
                         token.expires_at.strftime("%Y-%m-%d") if token.expires_at else "never",
                         token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never",
                         token.status(now)))
        self._table(rows)

    def handle_token_revoke(self, id=None, revoke_user=None, **options):
        if (id is None) == (revoke_user is None):
            raise CommandError("Give a token id, or --user USERNAME to revoke all of a user's tokens.")
        if revoke_user:
            queryset = APIToken.objects.filter(user=self._user(revoke_user))
        else:
            queryset = APIToken.objects.filter(pk=id)
            if not queryset.exists():
                raise CommandError(f"No API token with id {id}.")
        count = tokens.revoke(queryset, APIToken.RevokeReason.ADMIN)
        self.stdout.write(self.style.SUCCESS(f"Revoked {count} token(s)."))

    def _table(self, rows):
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def _read_password(self, from_stdin):
        if from_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif sys.stdin.isatty():
            from getpass import getpass

            password = getpass("Password: ")
            if password != getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        else:
            raise CommandError("No terminal to ask for a password: pass --password-stdin and pipe it in.")
        if not password:
            raise CommandError("The password is empty.")
        return password
