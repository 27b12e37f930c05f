"""Backup files: stored through a Django storage, hashed, optionally encrypted at rest, always streamed.

Storage: `settings.STORAGES[BACKUP_STORAGE_ALIAS]` (default alias "backups", a FileSystemStorage in
var/backups; point it at django-storages' S3 backend to keep backups off the machine).

Encryption (BACKUP_ENCRYPTION_KEY, a Fernet key): Fernet encrypts whole messages, so a file is cut
into 1 MiB chunks, each stored as a 4-byte big-endian length and its Fernet token after a magic line;
memory stays bounded whatever the size, and a changed chunk fails its HMAC on decryption.
SHA-256 is taken over the bytes as stored, so a restore refuses a damaged file before reading it.
"""

import hashlib
import shutil
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import storages

MAGIC = b"LOFISITE-BACKUP-FERNET-1\n"
_CHUNK = 1024 * 1024


def storage():
    return storages[settings.BACKUP_STORAGE_ALIAS]


def work_dir() -> Path:
    """A private temp folder on local disk (dumps, decrypted copies); the caller removes it."""
    base = Path(settings.BACKUP_WORK_DIR)
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="backup-", dir=base))


def _fernet() -> Fernet | None:
    key = settings.BACKUP_ENCRYPTION_KEY
    return Fernet(key) if key else None


def encryption_enabled() -> bool:
    return bool(settings.BACKUP_ENCRYPTION_KEY)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _encrypt_file(source: Path, target: Path, fernet: Fernet) -> str:
    """Encrypt chunk by chunk; returns the SHA-256 of what was written (hashed while writing, no re-read)."""
    digest = hashlib.sha256(MAGIC)
    with open(source, "rb") as src, open(target, "wb") as out:
        out.write(MAGIC)
        while chunk := src.read(_CHUNK):
            token = fernet.encrypt(chunk)
            framed = len(token).to_bytes(4, "big") + token
            digest.update(framed)
            out.write(framed)
    return digest.hexdigest()


def _decrypt_file(source: Path, target: Path) -> None:
    fernet = _fernet()
    with open(source, "rb") as src, open(target, "wb") as out:
        if src.read(len(MAGIC)) != MAGIC:
            raise ValidationError("The backup file is not an encrypted lofisite backup.")
        if fernet is None:
            raise ValidationError("The backup file is encrypted and BACKUP_ENCRYPTION_KEY is not set.")
        while header := src.read(4):
            token = src.read(int.from_bytes(header, "big"))
            try:
                out.write(fernet.decrypt(token))
            except InvalidToken as exc:
                raise ValidationError("The backup file cannot be decrypted with BACKUP_ENCRYPTION_KEY "
                                      "(another key, or the file was changed).") from exc


def store(local: Path, name: str, scratch: Path, sha256: str | None = None) -> dict:
    """Encrypt (when on) and save a local file under `name`; returns {"name", "size", "sha256"} as stored.

    `sha256` is the plain file's hash when the caller already has it (taken while it was written);
    otherwise, and for an encrypted file (hashed while encrypting), it is computed here."""
    fernet = _fernet()
    stored_from = local
    if fernet is not None:
        stored_from = scratch / (local.name + ".enc")
        sha = _encrypt_file(local, stored_from, fernet)
        name += ".enc"
    else:
        sha = sha256 or sha256_of(stored_from)
    size = stored_from.stat().st_size
    with open(stored_from, "rb") as handle:
        saved = storage().save(name, _LocalFile(handle, stored_from, name))
    return {"name": saved, "size": size, "sha256": sha}


class _LocalFile(File):
    """A finished local file: FileSystemStorage moves it into place (a rename on the same disk) instead of
    copying it, as it does with Django's temporary uploads; other storages read it like any file."""

    def __init__(self, handle, path: Path, name: str):
        super().__init__(handle, name=name)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)


def fetch(entry: dict, scratch: Path) -> Path:
    """Copy a stored file to local disk, check its SHA-256, decrypt it; returns the plain local path.

    Raises ValidationError (refusing to go on) when the file is missing or its hash does not match.
    """
    local = scratch / Path(entry["name"]).name
    try:
        with storage().open(entry["name"], "rb") as src, open(local, "wb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
    except FileNotFoundError as exc:
        raise ValidationError(f"The backup file {entry['name']} is missing from the backup storage.") from exc
    actual = sha256_of(local)
    if actual != entry["sha256"]:
        raise ValidationError(
            f"The backup file {entry['name']} does not match its SHA-256 (expected {entry['sha256'][:16]}…, "
            f"found {actual[:16]}…): it was changed or damaged; refusing to use it.")
    if not entry["name"].endswith(".enc"):
        return local
    plain = local.with_suffix("")
    _decrypt_file(local, plain)
    local.unlink()
    return plain


def delete(entry: dict) -> None:
    storage().delete(entry["name"])


def open_stored(entry: dict):
    """The stored file (as stored: encrypted when it was), for a download."""
    return storage().open(entry["name"], "rb")
