"""Rotating the key of the secrets at rest (lofisite.crypto): the old key keeps opening what is stored
until `manage.py rotate_encryption_key` has re-encrypted it with the new one."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection

from lofisite import crypto
from vinted.models import VintedAccount

pytestmark = pytest.mark.django_db
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def stored_cookies(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cookies FROM vinted_vintedaccount WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_a_rotation_keeps_every_secret_readable_and_ends_on_the_new_key(settings, operator):
    settings.FIELD_ENCRYPTION_KEY = OLD
    account = VintedAccount.objects.create(owner=operator, label="Shop", cookies='{"access_token_web": "abc"}',
                                           user_agent="Mozilla/5.0")
    settings.FIELD_ENCRYPTION_KEY, settings.FIELD_ENCRYPTION_OLD_KEYS = NEW, [OLD]
    assert VintedAccount.objects.get(pk=account.pk).cookies == '{"access_token_web": "abc"}'  # still readable

    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert "vinted.VintedAccount.cookies" in out.getvalue() and "FIELD_ENCRYPTION_OLD_KEYS can now be emptied" \
        in out.getvalue()
    Fernet(NEW.encode()).decrypt(stored_cookies(account.pk).encode())  # the column holds the new key's ciphertext

    settings.FIELD_ENCRYPTION_OLD_KEYS = []
    account = VintedAccount.objects.get(pk=account.pk)
    assert (account.cookies, account.user_agent) == ('{"access_token_web": "abc"}', "Mozilla/5.0")


def test_without_the_old_key_the_command_changes_nothing_and_says_what_to_do(settings, operator):
    settings.FIELD_ENCRYPTION_KEY = OLD
    account = VintedAccount.objects.create(owner=operator, label="Shop", cookies='{"access_token_web": "abc"}')
    before = stored_cookies(account.pk)
    settings.FIELD_ENCRYPTION_KEY = NEW
    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_OLD_KEYS"):
        call_command("rotate_encryption_key", stdout=io.StringIO())
    assert stored_cookies(account.pk) == before


def test_moving_from_the_key_derived_from_secret_key_to_a_key_of_its_own(settings):
    settings.FIELD_ENCRYPTION_KEY = ""
    token = crypto.encrypt("refresh-token")
    settings.FIELD_ENCRYPTION_KEY = NEW
    with pytest.raises(ValueError):
        crypto.decrypt(token)
    settings.FIELD_ENCRYPTION_OLD_KEYS = ["SECRET_KEY"]
    assert crypto.decrypt(token) == "refresh-token"
    Fernet(NEW.encode()).decrypt(crypto.rotate(token).encode())
