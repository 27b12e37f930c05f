from django import forms
from django.contrib import admin
from django.utils.safestring import mark_safe

from . import services
from .models import LegalAcceptance, LegalDocument


class LegalDocumentForm(forms.ModelForm):
    class Meta:
        model = LegalDocument
        fields = ["kind", "title", "body", "is_required"]


@admin.register(LegalDocument)
class LegalDocumentAdmin(admin.ModelAdmin):
    """Saving a document always publishes a new version; old versions stay as accepted."""

    form = LegalDocumentForm
    list_display = ("title", "kind", "version", "is_required", "published_at", "acceptance_count")
    list_filter = ("kind",)
    readonly_fields = ("preview",)

    def get_fields(self, request, obj=None):
        return ["kind", "title", "body", "is_required", "preview"] if obj else ["kind", "title", "body",
                                                                                 "is_required"]

    @admin.display(description="Accepted by")
    def acceptance_count(self, obj):
        return obj.acceptances.count()

    @admin.display(description="Preview")
    def preview(self, obj):
        # render_markdown sanitises with nh3, so the HTML is safe to show.
        return mark_safe(services.render_markdown(obj.body)) if obj else ""

    def save_model(self, request, obj, form, change):
        new = services.publish_version(form.cleaned_data["kind"], form.cleaned_data["title"],
                                       form.cleaned_data["body"], published_by=request.user,
                                       is_required=form.cleaned_data["is_required"])
        obj.pk, obj.version = new.pk, new.version

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LegalAcceptance)
class LegalAcceptanceAdmin(admin.ModelAdmin):
    list_display = ("user", "document", "accepted_at", "ip_address")
    list_filter = ("document__kind",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "document", "accepted_at", "ip_address", "user_agent")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
