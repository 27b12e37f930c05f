"""What every pipeline page shares: the section mixin, 400 for invalid forms, media kinds."""

MEDIA_KINDS = ("audio", "video", "cover", "thumbnail")


class PipelinePageMixin:
    """`tab` marks the pipeline section in the sub-navigation."""

    tab = "runs"

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab=self.tab, **kwargs)


class FormStatusMixin:
    """Invalid forms answer 400 (bad input is a 4xx), with the errors next to the fields."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response
