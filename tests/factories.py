import factory

from accounts.models import User
from accounts.roles import Role
from accounts.services import assign_role
from legal import services as legal_services

PASSWORD = "correct-horse-battery-staple-42"


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
