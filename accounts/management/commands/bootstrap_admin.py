import os

from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.roles import Role
from accounts.services import create_user, generate_password


class Command(BaseCommand):
    help = "Create the first admin with a generated password, shown once. Does nothing if any user exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@localhost")

    def handle(self, *args, username, email, **options):
        if User.objects.exists():
            self.stdout.write("Users already exist; no admin created.")
            return
        password = generate_password()
        create_user(username, email, password, role=Role.ADMIN)
        bar = "=" * 64
        address = os.environ.get("BIND", "127.0.0.1:8000")
        self.stdout.write(self.style.SUCCESS(
            f"{bar}\nFirst admin created. Sign in at http://{address}/accounts/login/\n"
            f"  username: {username}\n  password: {password}\n"
            f"This password is shown only once: store it now and change it after signing in.\n{bar}"
        ))
