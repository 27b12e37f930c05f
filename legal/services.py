"""Publishing documents and recording acceptance."""

from pathlib import Path

import markdown
import nh3
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import Max

from .models import DocumentKind, LegalAcceptance, LegalDocument

SEED_DIR = Path(__file__).resolve().parent / "documents"
_ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "a", "code", "pre",
                 "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td"}


def render_markdown(text: str) -> str:
    """Markdown to HTML with only harmless tags left (admins write it, users read it)."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"])
    return nh3.clean(html, tags=_ALLOWED_TAGS, link_rel="noopener noreferrer nofollow")


def current_documents():
    return list(LegalDocument.objects.current())


def pending_documents(user):
    """Current required documents the user has not accepted yet."""
    if not user.is_authenticated:
        return []
    accepted = set(LegalAcceptance.objects.filter(user=user).values_list("document_id", flat=True))
    return [doc for doc in current_documents() if doc.is_required and doc.pk not in accepted]


def has_accepted_all(user) -> bool:
    return not pending_documents(user)


@transaction.atomic
def accept(user, documents, ip_address=None, user_agent=""):
    """Record acceptance of the given documents (idempotent per document version)."""
    created = []
    for doc in documents:
        acceptance, made = LegalAcceptance.objects.get_or_create(
            user=user, document=doc, defaults={"ip_address": ip_address, "user_agent": user_agent[:512]}
        )
        if made:
            created.append(acceptance)
    return created


def publish_version(kind: str, title: str, body: str, published_by=None, is_required=True) -> LegalDocument:
    """Publish a new version of a document; every user must accept it again."""
    kind = DocumentKind(kind)
    for _ in range(3):  # two admins publishing at once: retry on the unique constraint
        try:
            with transaction.atomic():
                latest = LegalDocument.objects.filter(kind=kind).aggregate(v=Max("version"))["v"] or 0
                return LegalDocument.objects.create(kind=kind, version=latest + 1, title=title, body=body,
                                                    is_required=is_required, published_by=published_by)
        except IntegrityError:
            continue
    raise IntegrityError(f"Could not publish a new version of {kind.label}; try again.")


def seed_documents(document_model=LegalDocument, using=DEFAULT_DB_ALIAS):
    """Version 1 of each document from legal/documents/*.md (used by a migration, in the database
    it migrates)."""
    documents = document_model.objects.using(using)
    for kind in DocumentKind:
        if documents.filter(kind=kind.value).exists():
            continue
        text = (SEED_DIR / f"{kind.value}.md").read_text(encoding="utf-8")
        title, _, body = text.partition("\n")
        documents.create(kind=kind.value, version=1, title=title.lstrip("# ").strip(),
                                      body=body.strip(), is_required=True)
