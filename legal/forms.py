from django import forms


class AcceptanceForm(forms.Form):
    """One required checkbox per pending document."""

    def __init__(self, *args, documents, **kwargs):
        super().__init__(*args, **kwargs)
        self.documents = documents
        for doc in documents:
            self.fields[f"doc_{doc.pk}"] = forms.BooleanField(
                required=True,
                label=f"I have read and accept the {doc.title} (version {doc.version})",
                error_messages={"required": f"You must accept the {doc.title} to continue."},
            )
