"""API of Vinted automation (part 3): reposts, under /api/v1/vinted/."""


def register(router) -> None:
    """Add this module's viewsets to the API router (lofisite.api_urls)."""
