"""salon-avif-phash: a media processor stacked on the one that decodes uploads (``pillow``).

Select it after the base, ``SALON_MEDIA=pillow,avif_phash``: every image then also gets an
``avif`` rendition (made from the base's largest rendition, not from the upload) and a
``phash`` in its metadata, a 64-bit perceptual hash for finding near-duplicates. It uses only
public API: the ``register_media_processors`` hook and ``salon.providers``.
"""

from __future__ import annotations

from salon import hookimpl
from salon.providers import RegisterMediaProcessor, RegisterSettings

from salon_avif_phash.processor import AvifPhash, AvifPhashSettings, hamming, phash

__all__ = ["AvifPhash", "AvifPhashSettings", "hamming", "phash"]
__version__ = "0.1.0"


@hookimpl
def register_settings(register: RegisterSettings) -> None:
    register("AVIF_PHASH", AvifPhashSettings)  # SALON_AVIF_PHASH_LONG_EDGE, ...


@hookimpl
def register_media_processors(register: RegisterMediaProcessor) -> None:
    register("avif_phash", AvifPhash.from_context)
