"""Contract suite for :class:`salon.providers.StackedMediaProcessor` implementations: media
processors that add renditions or metadata on top of the one before them in ``SALON_MEDIA``.

A stacked processor never decodes untrusted uploads itself (the base processor has checked,
decoded and made upright renditions of them), so it does not face the base suite's bad input.
What the core relies on is checked here instead::

    from salon.testing import StackedMediaProcessorContract

    class TestMyAdditions(StackedMediaProcessorContract):
        @pytest.fixture
        def stacked_processor(self):
            return MyAdditions()

The previous result each test hands to ``add`` is made by the built-in Pillow processor (the
default base) from the base suite's corpus; override the ``base_processor`` fixture to stack
on another. Checked: the declared ``renditions`` are valid and new; ``add`` returns exactly
them as files in ``out_dir``, of their type, upright, no larger than asked (nor than the
image), without EXIF, GPS or XMP; metadata is JSON-able and adds keys rather than replacing
them; the previous renditions are left as they were; calls from several threads at once; and
the processor runs in a real stack, after the base, as the core runs it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from salon.defaults.pillow_media import PillowMediaProcessor
from salon.media_stack import build_media_stack
from salon.providers import (
    MediaAdditions,
    MediaProcessor,
    ProcessedMedia,
    RenditionSpec,
    StackedMediaProcessor,
)
from salon.settings import REQUIRED_RENDITIONS
from salon.testing.contracts.media import (
    CONTRACT_SPECS,
    _expected_size,
    check_metadata,
    check_rendition_file,
    make_cmyk_jpeg,
    make_exif_jpeg,
    make_la_png,
    make_palette_png,
    make_png_16bit_grey,
    make_rgba_png,
    quadrant_image,
)

__all__ = ["StackedMediaProcessorContract"]

Maker = Callable[[Path], Path]


def _make_tiny_png(path: Path) -> Path:
    quadrant_image((40, 30)).save(path, "PNG")
    return path


def _make_panorama_jpeg(path: Path) -> Path:
    quadrant_image((1200, 150)).save(path, "JPEG", quality=90)
    return path


CORPUS: dict[str, Maker] = {
    "exif-jpeg-rotated": make_exif_jpeg,
    "rgba-png": make_rgba_png,
    "palette-png": make_palette_png,
    "grey-alpha-png": make_la_png,
    "grey-16bit-png": make_png_16bit_grey,
    "cmyk-jpeg": make_cmyk_jpeg,
    "tiny-png": _make_tiny_png,
    "panorama-jpeg": _make_panorama_jpeg,
}


class StackedMediaProcessorContract:
    """The behaviour the core relies on from every stacked media processor."""

    base_specs: Sequence[RenditionSpec] = CONTRACT_SPECS

    @pytest.fixture
    def stacked_processor(self) -> StackedMediaProcessor:
        raise NotImplementedError(
            "subclass StackedMediaProcessorContract and define a `stacked_processor` fixture"
        )

    @pytest.fixture
    def base_processor(self) -> MediaProcessor:
        return PillowMediaProcessor()

    @pytest.fixture
    def out_dir(self, tmp_path: Path) -> Path:
        out = tmp_path / "out"
        out.mkdir()
        return out

    # -------------------------------------------------------------- helpers

    def previous(
        self, base: MediaProcessor, maker: Maker, tmp: Path, out_dir: Path
    ) -> ProcessedMedia:
        """The base's result for one corpus image, its renditions in ``out_dir``."""
        return base.process(maker(tmp / "upload"), out_dir, self.base_specs)

    def check_additions(
        self,
        processor: StackedMediaProcessor,
        previous: ProcessedMedia,
        additions: MediaAdditions,
        out_dir: Path,
    ) -> None:
        info = previous.info
        declared = [spec.name for spec in processor.renditions]
        assert [r.name for r in additions.renditions] == declared, "one file per declared spec"
        largest = max(max(r.width, r.height) for r in previous.renditions)
        for spec, rendition in zip(processor.renditions, additions.renditions, strict=True):
            size = check_rendition_file(rendition, out_dir)
            allowed = {
                _expected_size(info.width, info.height, spec.long_edge),
                _expected_size(info.width, info.height, min(spec.long_edge, largest)),
            }
            assert size in allowed, f"{spec.name}: {size}, expected one of {sorted(allowed)}"
        check_metadata(additions.metadata)
        json.dumps(dict(additions.metadata))  # the image row keeps metadata as JSON
        replaced = set(additions.metadata) & set(info.metadata)
        assert not replaced, f"metadata keys {sorted(replaced)} replace the previous ones"

    # -------------------------------------------------------------- declaration

    def test_declares_valid_new_renditions(self, stacked_processor: StackedMediaProcessor) -> None:
        assert isinstance(stacked_processor, StackedMediaProcessor)
        names = [spec.name for spec in stacked_processor.renditions]
        assert len(set(names)) == len(names), "each rendition name once"
        for spec in stacked_processor.renditions:
            assert isinstance(spec, RenditionSpec)
            spec.check()  # ValueError says what is wrong
            assert spec.name not in REQUIRED_RENDITIONS, f"{spec.name} is the base's name"

    # -------------------------------------------------------------- additions

    @pytest.mark.parametrize("maker", list(CORPUS.values()), ids=list(CORPUS))
    def test_adds_what_it_declares(
        self,
        stacked_processor: StackedMediaProcessor,
        base_processor: MediaProcessor,
        tmp_path: Path,
        out_dir: Path,
        maker: Maker,
    ) -> None:
        previous = self.previous(base_processor, maker, tmp_path, out_dir)
        additions = stacked_processor.add(previous, tmp_path / "upload", out_dir)
        self.check_additions(stacked_processor, previous, additions, out_dir)

    def test_leaves_previous_renditions_alone(
        self,
        stacked_processor: StackedMediaProcessor,
        base_processor: MediaProcessor,
        tmp_path: Path,
        out_dir: Path,
    ) -> None:
        previous = self.previous(base_processor, make_exif_jpeg, tmp_path, out_dir)
        before = {r.name: _digest(Path(r.path)) for r in previous.renditions}
        stacked_processor.add(previous, tmp_path / "upload", out_dir)
        after = {r.name: _digest(Path(r.path)) for r in previous.renditions}
        assert after == before, "the previous renditions must not change"

    def test_concurrent_calls(
        self,
        stacked_processor: StackedMediaProcessor,
        base_processor: MediaProcessor,
        tmp_path: Path,
    ) -> None:
        jobs = []
        for i, maker in enumerate(list(CORPUS.values())[:4] * 2):
            work, out = tmp_path / f"w{i}", tmp_path / f"o{i}"
            work.mkdir()
            out.mkdir()
            jobs.append((self.previous(base_processor, maker, work, out), work, out))
        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(
                pool.map(lambda j: stacked_processor.add(j[0], j[1] / "upload", j[2]), jobs)
            )
        for (previous, _, out), additions in zip(jobs, results, strict=True):
            self.check_additions(stacked_processor, previous, additions, out)

    def test_runs_stacked_on_the_base(
        self,
        stacked_processor: StackedMediaProcessor,
        base_processor: MediaProcessor,
        tmp_path: Path,
        out_dir: Path,
    ) -> None:
        """As the core runs it: the base's renditions, then these, metadata merged."""
        stack, every = build_media_stack(
            [("base", base_processor), ("stacked", stacked_processor)], self.base_specs
        )
        source = make_exif_jpeg(tmp_path / "upload")
        result = stack.process(source, out_dir, self.base_specs)
        assert [r.name for r in result.renditions] == [spec.name for spec in every]
        alone = base_processor.process(source, tmp_path, self.base_specs)
        assert set(alone.info.metadata) <= set(result.info.metadata)
        assert result.info.width == alone.info.width and result.placeholder == alone.placeholder


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
