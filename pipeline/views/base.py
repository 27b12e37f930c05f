"""What every pipeline page shares: the section mixin, 400 for invalid forms, media kinds."""

from lofisite.page_mixins import FormStatusMixin, SectionTabMixin  # noqa: F401  (views import them from here)

MEDIA_KINDS = ("audio", "video", "cover", "thumbnail")


class PipelinePageMixin(SectionTabMixin):
    """`tab` marks the pipeline section in the sub-navigation."""

    tab = "runs"
