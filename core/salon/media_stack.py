"""The media processors of ``SALON_MEDIA`` as one :class:`~salon.providers.MediaProcessor`.

The first processor decodes the upload and makes the ``SALON_RENDITIONS``; each one after it
is a :class:`~salon.providers.StackedMediaProcessor` whose additions (renditions, metadata)
are merged into the result in order. The rest of the core sees one processor, so the media
pool, ``?wait=true`` and ``salon doctor`` need not know about stacking.

A stacked processor that fails or breaks its contract loses only its own additions: the image
is still made (a perceptual hash that could not be computed is no reason to refuse a photo).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from salon.errors import ConfigurationError
from salon.providers import (
    MediaAdditions,
    MediaInfo,
    MediaProbe,
    MediaProcessor,
    ProcessedMedia,
    RenditionSpec,
    StackedMediaProcessor,
)

__all__ = ["MediaStack", "build_media_stack"]

log = logging.getLogger("salon.media.stack")


class MediaStack:
    """``base`` then each of ``layers`` (name, stacked processor): a MediaProcessor."""

    def __init__(
        self, base: MediaProcessor, layers: Sequence[tuple[str, StackedMediaProcessor]]
    ) -> None:
        self.base = base
        self.layers = tuple(layers)
        self.content_types: frozenset[str] = base.content_types

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        result = self.base.process(source, out_dir, specs)
        for name, layer in self.layers:
            result = _stack(name, layer, result, source, out_dir)
        return result


class ProbingMediaStack(MediaStack):
    """A stack whose base can ``probe``: so can the stack (see MediaProbe)."""

    def probe(self, source: Path) -> MediaInfo:
        base = self.base
        assert isinstance(base, MediaProbe)
        return base.probe(source)


def build_media_stack(
    processors: Sequence[tuple[str, object]], renditions: Sequence[RenditionSpec]
) -> tuple[MediaProcessor, tuple[RenditionSpec, ...]]:
    """The processor the core uses for ``processors`` (SALON_MEDIA's, built, in order) and
    every rendition an image gets: ``renditions`` (SALON_RENDITIONS) then each stacked
    processor's. ConfigurationError for a stack that cannot work."""
    (base_name, base), *rest = processors
    if not isinstance(base, MediaProcessor):
        raise ConfigurationError(
            f"SALON_MEDIA: {base_name!r} only adds to another processor's result; put a "
            f"processor that decodes uploads first (SALON_MEDIA=pillow,{base_name})"
        )
    layers: list[tuple[str, StackedMediaProcessor]] = []
    every = list(renditions)
    for name, layer in rest:
        if not isinstance(layer, StackedMediaProcessor):
            raise ConfigurationError(
                f"SALON_MEDIA: {name!r} is not a stacked media processor (it has no add() "
                f"and renditions); only the first in SALON_MEDIA ({base_name!r}) decodes uploads"
            )
        every.extend(_checked_specs(name, layer.renditions, every))
        layers.append((name, layer))
    if not layers:
        return base, tuple(every)
    stack = ProbingMediaStack if isinstance(base, MediaProbe) else MediaStack
    return stack(base, layers), tuple(every)


def _checked_specs(
    name: str, specs: Sequence[RenditionSpec], taken: Sequence[RenditionSpec]
) -> list[RenditionSpec]:
    names = {spec.name for spec in taken}
    for spec in specs:
        try:
            spec.check()
        except ValueError as exc:
            raise ConfigurationError(f"media processor {name!r}: {exc}") from None
        if spec.name in names:
            raise ConfigurationError(
                f"media processor {name!r} adds rendition {spec.name!r}, which SALON_RENDITIONS "
                "or a processor before it already makes; rename one of them"
            )
        names.add(spec.name)
    return list(specs)


def _stack(
    name: str,
    layer: StackedMediaProcessor,
    previous: ProcessedMedia,
    source: Path,
    out_dir: Path,
) -> ProcessedMedia:
    try:
        additions = layer.add(previous, source, out_dir)
        _check(layer, additions, out_dir)
    except Exception:
        log.exception("media processor %r failed: the image is made without its additions", name)
        return previous
    metadata = dict(previous.info.metadata)
    for key, value in additions.metadata.items():
        if key in metadata:
            log.warning("media processor %r: metadata %r is already set; kept as it was", name, key)
        else:
            metadata[key] = value
    return dataclasses.replace(
        previous,
        info=dataclasses.replace(previous.info, metadata=metadata),
        renditions=[*previous.renditions, *additions.renditions],
    )


def _check(layer: StackedMediaProcessor, additions: MediaAdditions, out_dir: Path) -> None:
    """ValueError unless the additions are what the layer declared: its own rendition names,
    each once, as files in ``out_dir``; metadata that JSON can store."""
    declared = {spec.name for spec in layer.renditions}
    names = [rendition.name for rendition in additions.renditions]
    if len(set(names)) != len(names) or not set(names) <= declared:
        raise ValueError(f"renditions {names} are not the declared {sorted(declared)}")
    for rendition in additions.renditions:
        path = Path(rendition.path).resolve()
        if path.parent != out_dir.resolve() or not path.is_file():
            raise ValueError(f"rendition {rendition.name!r} is not a file in out_dir")
    json.dumps(dict(additions.metadata))  # TypeError/ValueError: the database could not keep it
