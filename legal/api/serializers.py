from rest_framework import serializers

from ..models import DocumentKind, LegalAcceptance, LegalDocument
from ..services import render_markdown


class LegalDocumentSerializer(serializers.ModelSerializer):
    html = serializers.SerializerMethodField()
    accepted = serializers.SerializerMethodField()

    class Meta:
        model = LegalDocument
        fields = ["id", "kind", "version", "title", "body", "html", "is_required", "published_at", "accepted"]
        read_only_fields = fields

    def get_html(self, doc) -> str:
        return render_markdown(doc.body)

    def get_accepted(self, doc) -> bool:
        return doc.pk in self.context.get("accepted_ids", set())


class AcceptSerializer(serializers.Serializer):
    documents = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=20,
                                      help_text="Ids of the current documents you accept.")

    def validate_documents(self, ids):
        current = {doc.pk: doc for doc in self.context["current"]}
        unknown = [i for i in ids if i not in current]
        if unknown:
            raise serializers.ValidationError(
                f"Not a current document version: {unknown}. Fetch /api/v1/legal/documents/ again.")
        return [current[i] for i in dict.fromkeys(ids)]


class AcceptResultSerializer(serializers.Serializer):
    """What POST /api/v1/legal/accept/ answers: every current document, and what is still pending."""

    documents = LegalDocumentSerializer(many=True, read_only=True)
    pending = serializers.ListField(child=serializers.ChoiceField(choices=DocumentKind.choices), read_only=True,
                                    help_text="Kinds of the required documents you have not accepted yet.")


class LegalAcceptanceSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    kind = serializers.CharField(source="document.kind", read_only=True)
    version = serializers.IntegerField(source="document.version", read_only=True)

    class Meta:
        model = LegalAcceptance
        fields = ["id", "username", "kind", "version", "accepted_at", "ip_address", "user_agent"]
        read_only_fields = fields
