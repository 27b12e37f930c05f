"""Forms of the listing pages: the listing (content and inventory, every field optional: a draft
saves with any subset), mark sold, and the board's bulk actions. The limits are checked by the
services (vinted.validation); their errors are put next to the fields (`apply_service_errors`)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .choices import ListingStatus
from .models import Brand, Category, Colour, Listing, Size
from .services.listings import BULK_ACTIONS, CONTENT_FIELDS, EDITABLE_FIELDS


def apply_service_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the form: field errors next to their fields, the rest on top."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            for item in errors:
                form.add_error(name if name in form.fields else None, item)
    else:
        form.add_error(None, error)


class CatalogueChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.path if isinstance(obj, Category) else str(obj)


class ListingForm(forms.ModelForm):
    hashtags = forms.CharField(required=False, label="Hashtags",
                               help_text="Up to 5 single words, separated by spaces or commas; “#” is optional.")

    class Meta:
        model = Listing
        fields = EDITABLE_FIELDS
        field_classes = {"category": CatalogueChoiceField}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6}),
            "colours": forms.CheckboxSelectMultiple,
            "purchase_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, content_locked=False, **kwargs):
        super().__init__(*args, **kwargs)
        current = self.instance if self.instance.pk else None
        # Active catalogue rows, plus the listing's own even if an admin has since retired it.
        for name, model in (("category", Category), ("brand", Brand), ("size", Size)):
            keep = getattr(current, f"{name}_id", None)
            queryset = model.objects.filter(is_active=True) | model.objects.filter(pk=keep)
            self.fields[name].queryset = queryset.select_related("parent", "parent__parent") \
                if model is Category else queryset
        self.fields["colours"].queryset = Colour.objects.filter(is_active=True)
        self.fields["title"].widget.attrs["maxlength"] = None
        if current is not None:
            self.initial["hashtags"] = " ".join(current.hashtags or [])
        self.fields["price"].widget.attrs.update(step="0.01", inputmode="decimal")
        self.fields["purchase_cost"].widget.attrs.update(step="0.01", inputmode="decimal")
        self.fields["min_price"].widget.attrs.update(step="0.01", inputmode="decimal", min="0")
        for name in ("title", "description"):
            self.fields[name].help_text = ""
        if content_locked:  # past "ready" (publishing, published, sold, archived): only the inventory changes
            for name in CONTENT_FIELDS:
                # ... and the price of a published listing (sent to Vinted; services.listings)
                self.fields[name].disabled = not (name == "price" and self.price_editable)

    @property
    def price_editable(self) -> bool:
        return self.instance.status == ListingStatus.PUBLISHED

    def service_fields(self) -> dict:
        """The form's values as services.listings takes them (only fields the form shows)."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}


class MarkSoldForm(forms.Form):
    sale_price = forms.DecimalField(label="Sold for", min_value=0, max_digits=10, decimal_places=2)
    sale_fees = forms.DecimalField(label="Fees and shipping you paid", required=False, min_value=0,
                                   max_digits=10, decimal_places=2)
    sold_at = forms.DateTimeField(label="Sold at", required=False,
                                  widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                  help_text="Leave empty for now.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("sale_price", "sale_fees"):
            self.fields[name].widget.attrs.update(step="0.01", inputmode="decimal")

    def clean_sold_at(self):
        value = self.cleaned_data.get("sold_at")
        if value and value > timezone.now():
            raise ValidationError("The sale time is in the future.")
        return value


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(name, name.replace("_", " ")) for name in BULK_ACTIONS])
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=(), error_messages={
        "required": "Select at least one listing.",
    })

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any whole number: which ids the user may change is the services' rule (restrict), not the form's.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit() and len(str(value)) < 12
