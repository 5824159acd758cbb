"""CloudFront signed URLs for renditions (canned policy, a trusted key group).

The distribution reads the private bucket through origin access control and refuses any
request without a valid signature, so a rendition of a private photo is no more public through
CloudFront than through a presigned S3 URL: same lifetime, same "whoever holds the URL" rule.
What CloudFront adds is the edge cache: its cache policy ignores the query string, so every
signed URL of one rendition hits the same cached object.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse

from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from salon.errors import ConfigurationError

__all__ = ["CloudFrontUrls"]


def _load_key(pem: str) -> rsa.RSAPrivateKey:
    # Secrets pasted into a console often arrive with literal "\n" instead of line breaks.
    text = pem.replace("\\n", "\n").strip().encode()
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError) as exc:  # the message names no key material
        raise ConfigurationError(
            "SALON_S3_CLOUDFRONT_PRIVATE_KEY is not an unencrypted PEM private key"
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigurationError("SALON_S3_CLOUDFRONT_PRIVATE_KEY must be an RSA key (CloudFront)")
    return key


class CloudFrontUrls:
    """Signs ``https://<domain>/<object key>`` URLs for one CloudFront public key."""

    def __init__(self, domain: str, key_id: str, private_key_pem: str) -> None:
        self.domain = domain
        key = _load_key(private_key_pem)

        def rsa_signer(message: bytes) -> bytes:
            # CloudFront's signed URLs are RSA-SHA1 (PKCS#1 v1.5); the only scheme it accepts.
            return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

        self._signer = CloudFrontSigner(key_id, rsa_signer)

    def url(self, full_key: str, *, expires_in: int, now: dt.datetime | None = None) -> str:
        """A URL for the object at ``full_key`` (prefix included) valid ``expires_in`` s."""
        now = now or dt.datetime.now(dt.UTC)
        plain = f"https://{self.domain}/{urllib.parse.quote(full_key, safe='/')}"
        expires = now + dt.timedelta(seconds=expires_in)
        return str(self._signer.generate_presigned_url(plain, date_less_than=expires))
