"""Hash-based certificate revocation lists (1609.2 clause 7.3, reduced).

A revocation list is the HashedId8 of every revoked certificate, carried as the unsecured
payload of an envelope signed under PSID 0x100 by the CRL signer (``MAGIC`` then 8 bytes per
certificate; 1609.2's CrlContents structure is not in the compact ASN.1 module).
"""
from __future__ import annotations

from collections.abc import Iterable

MAGIC = b"CRL1"
DIGEST_BYTES = 8


class RevocationListError(ValueError):
    """Bytes that are not a revocation list."""


def encode_revocation_list(digests: Iterable[bytes]) -> bytes:
    """The payload listing ``digests`` (HashedId8 each; ValueError for another length)."""
    items = [bytes(d) for d in digests]
    if any(len(d) != DIGEST_BYTES for d in items):
        raise ValueError("every revoked certificate is named by its 8-byte HashedId8")
    return MAGIC + b"".join(items)


def decode_revocation_list(payload: bytes) -> tuple[bytes, ...]:
    """The revoked HashedId8s of a payload; raises RevocationListError when malformed."""
    body = bytes(payload)
    if not body.startswith(MAGIC) or (len(body) - len(MAGIC)) % DIGEST_BYTES:
        raise RevocationListError("not a revocation list")
    return tuple(body[i:i + DIGEST_BYTES] for i in range(len(MAGIC), len(body), DIGEST_BYTES))
