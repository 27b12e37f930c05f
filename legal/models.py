from django.conf import settings
from django.db import models

from accounts.querysets import AdminManagedQuerySet, PersonalQuerySet


class DocumentKind(models.TextChoices):
    TERMS = "terms", "Terms of service"
    PRIVACY = "privacy", "Privacy policy"
    DISCLAIMER = "disclaimer", "Service disclaimer"
    ACCEPTABLE_USE = "acceptable-use", "Acceptable-use policy"


class LegalDocumentQuerySet(AdminManagedQuerySet):
    """Everyone signed in reads documents; only admins publish them."""

    def current(self):
        """The newest version of each kind."""
        newest = self.filter(kind=models.OuterRef("kind")).order_by("-version").values("pk")[:1]
        return self.filter(pk=models.Subquery(newest)).order_by("kind")


class LegalDocument(models.Model):
    """One published version of a document. Versions are never edited in place."""

    kind = models.CharField(max_length=32, choices=DocumentKind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField(help_text="Markdown. Rendered sanitised.")
    is_required = models.BooleanField(default=True, help_text="Users must accept it before using the app.")
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")

    objects = LegalDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="legal_unique_kind_version")]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"


class LegalAcceptanceQuerySet(PersonalQuerySet):
    """Non-admins read their own acceptances; the record of everyone's is for admins."""


class LegalAcceptance(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="legal_acceptances")
    document = models.ForeignKey(LegalDocument, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField(auto_now_add=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)

    objects = LegalAcceptanceQuerySet.as_manager()

    class Meta:
        ordering = ["-accepted_at"]
        constraints = [models.UniqueConstraint(fields=["user", "document"], name="legal_unique_acceptance")]

    def __str__(self):
        return f"{self.user} accepted {self.document}"
