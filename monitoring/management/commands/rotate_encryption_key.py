"""`manage.py rotate_encryption_key`: re-encrypt every stored secret (Vinted sessions, the YouTube
tokens) with the current FIELD_ENCRYPTION_KEY; see lofisite.crypto for the three steps of a rotation."""

from django.core.management.base import CommandError
from django.db import transaction

from lofisite import crypto
from lofisite.commands import BaseCommand, table


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with the current FIELD_ENCRYPTION_KEY (old keys must still be listed)."

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                rewritten = crypto.rotate_all()
        except ValueError as exc:
            raise CommandError(f"{exc}: nothing was changed. List the key they were encrypted with in "
                               "FIELD_ENCRYPTION_OLD_KEYS and run this again.") from exc
        rows = [("secret", "rows re-encrypted"), *rewritten.items()]
        self.stdout.write("\n".join(table(rows)))
        self.stdout.write("Done: FIELD_ENCRYPTION_OLD_KEYS can now be emptied.")
