import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.roles import Role
from accounts.services import create_user, update_user


class Command(BaseCommand):
    help = "Manage users: `users create USERNAME EMAIL --role ROLE`, `users list`, `users set-role USERNAME ROLE`."

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
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def handle_set_role(self, username, role, **options):
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.")
        update_user(None, user, role=role)
        self.stdout.write(self.style.SUCCESS(f"{username} is now {Role(role).label}."))

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
