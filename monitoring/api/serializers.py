from rest_framework import serializers

from ..models import AIUsage, CircuitBreaker, Event


class EventSerializer(serializers.ModelSerializer):
    """`payload` is null for whoever may not see operational detail (Event.objects.payload_visible_to)."""

    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    payload = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "created_at", "source", "kind", "status", "message", "payload", "user"]
        read_only_fields = fields

    def get_payload(self, event) -> dict | None:
        request = self.context.get("request")
        return event.payload if request and Event.objects.payload_visible_to(request.user) else None


class CircuitBreakerSerializer(serializers.ModelSerializer):
    failure_threshold = serializers.SerializerMethodField()
    success_threshold = serializers.SerializerMethodField()
    recovery_timeout = serializers.SerializerMethodField()
    call_timeout = serializers.SerializerMethodField()
    retry_after_seconds = serializers.SerializerMethodField(help_text="Seconds until an open breaker lets a trial "
                                                                      "call through; null unless open.")
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True,
                                           help_text="Last change of state; null until the breaker first changes.")

    class Meta:
        model = CircuitBreaker
        fields = ["name", "state", "failure_count", "success_count", "failure_threshold", "success_threshold",
                  "recovery_timeout", "call_timeout", "retry_after_seconds", "opened_at", "last_failure_at",
                  "last_error", "updated_at"]
        read_only_fields = fields

    def get_failure_threshold(self, row) -> int:
        return row.config["failure_threshold"]

    def get_success_threshold(self, row) -> int:
        return row.config["success_threshold"]

    def get_recovery_timeout(self, row) -> float:
        return row.config["recovery_timeout"]

    def get_call_timeout(self, row) -> float:
        return row.config["call_timeout"]

    def get_retry_after_seconds(self, row) -> int | None:
        return row.retry_after_seconds


class AIUsageSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=6, read_only=True)

    class Meta:
        model = AIUsage
        fields = ["id", "created_at", "user", "request_type", "model", "prompt_tokens", "completion_tokens",
                  "images", "cost_usd", "latency_ms", "success", "error"]
        read_only_fields = fields


class AIBudgetSerializer(serializers.Serializer):
    month = serializers.CharField()
    spent_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
    budget_usd = serializers.DecimalField(max_digits=12, decimal_places=2)
    remaining_usd = serializers.DecimalField(max_digits=12, decimal_places=6)
    ai_enabled = serializers.BooleanField()
