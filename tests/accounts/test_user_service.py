"""accounts.services.update_user: the one place that changes a user's role and active flag,
with the "nobody demotes or deactivates themselves" rule checked in the same transaction."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import User
from accounts.roles import Role
from accounts.services import update_user


@pytest.mark.parametrize("change", [{"role": Role.VIEWER}, {"role": Role.OPERATOR}, {"is_active": False},
                                    {"email": "ada@new.example.com", "role": Role.VIEWER}])
def test_an_admin_cannot_demote_or_deactivate_themselves_and_nothing_changes(admin_user, change):
    with pytest.raises(ValidationError, match="You cannot demote or deactivate yourself."):
        update_user(admin_user, admin_user, **change)
    fresh = User.objects.get(pk=admin_user.pk)
    assert (fresh.role, fresh.is_active, fresh.is_superuser, fresh.email) == (
        Role.ADMIN, True, True, admin_user.email)


def test_an_admin_changes_another_users_role_groups_and_flag(admin_user, viewer):
    user = update_user(admin_user, viewer, role=Role.ADMIN, first_name="Vera")
    fresh = User.objects.get(pk=viewer.pk)
    assert (fresh.role, fresh.is_staff, fresh.is_superuser, fresh.first_name) == (Role.ADMIN, True, True, "Vera")
    assert list(fresh.groups.values_list("name", flat=True)) == [Role.ADMIN.value] and user.pk == viewer.pk
    update_user(admin_user, viewer, is_active=False)
    assert not User.objects.get(pk=viewer.pk).is_active


def test_an_admin_may_keep_their_own_role_and_edit_their_details(admin_user):
    update_user(admin_user, admin_user, role=Role.ADMIN, email="ada@new.example.com")
    fresh = User.objects.get(pk=admin_user.pk)
    assert (fresh.role, fresh.email) == (Role.ADMIN, "ada@new.example.com")


def test_a_bad_email_is_a_field_error_and_is_not_saved(admin_user, viewer):
    with pytest.raises(ValidationError) as error:
        update_user(admin_user, viewer, email="not an address")
    assert "email" in error.value.message_dict
    assert User.objects.get(pk=viewer.pk).email == viewer.email


def test_an_operator_at_the_shell_sets_any_role(admin_user):
    """No acting user (manage.py users set-role): there is no 'yourself' to protect."""
    update_user(None, admin_user, role=Role.VIEWER)
    assert User.objects.get(pk=admin_user.pk).role == Role.VIEWER
