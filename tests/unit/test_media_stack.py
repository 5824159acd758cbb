"""MediaStack (unit): a base processor then stacked ones, merged the way the core relies on;
a stacked processor that fails or breaks its contract loses only its own additions; stacks
that cannot work are start-up errors naming the processor."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest
from salon.errors import ConfigurationError
from salon.media_stack import MediaStack, build_media_stack
from salon.providers import (
    MediaAdditions,
    MediaInfo,
    MediaProbe,
    ProcessedMedia,
    RenditionFile,
    RenditionSpec,
)
from salon.testing import StackedMediaProcessorContract

SPECS = (RenditionSpec("sm", 320), RenditionSpec("md", 1024), RenditionSpec("lg", 2048))


class Base:
    """Writes one small file per spec; what a documented 0.1 MediaProcessor looks like."""

    content_types = frozenset({"image/png"})

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        files = []
        for spec in specs:
            path = out_dir / f"{spec.name}.webp"
            path.write_bytes(b"x")
            files.append(RenditionFile(spec.name, path, 10, 10, "image/webp", 1))
        info = MediaInfo("image/png", 10, 10, metadata={"format": "PNG"})
        return ProcessedMedia(info=info, renditions=files, placeholder="AAAA")


class ProbingBase(Base):
    def probe(self, source: Path) -> MediaInfo:
        return MediaInfo("image/png", 10, 10)


class Adds:
    """Adds one rendition ``name`` and ``metadata``; picklable (module level)."""

    def __init__(self, name: str = "extra", metadata: dict[str, object] | None = None) -> None:
        self.renditions = (RenditionSpec(name, 100, "AVIF"),) if name else ()
        self.metadata = metadata if metadata is not None else {"phash": "00ff"}
        self.seen: list[list[str]] = []

    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions:
        self.seen.append([r.name for r in previous.renditions])
        files = []
        for spec in self.renditions:
            path = out_dir / f"{spec.name}.avif"
            path.write_bytes(b"y")
            files.append(RenditionFile(spec.name, path, 10, 10, "image/avif", 1))
        return MediaAdditions(renditions=files, metadata=self.metadata)


class Raises(Adds):
    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions:
        raise RuntimeError("the hash library is missing")


class Undeclared(Adds):
    def add(self, previous: ProcessedMedia, source: Path, out_dir: Path) -> MediaAdditions:
        added = super().add(previous, source, out_dir)
        renamed = [
            RenditionFile("sneaky", r.path, 10, 10, "image/avif", 1) for r in added.renditions
        ]
        return MediaAdditions(renditions=renamed, metadata=added.metadata)


def test_base_alone_is_used_as_it_is() -> None:
    base = Base()
    media, every = build_media_stack([("base", base)], SPECS)
    assert media is base and every == SPECS


def test_stacked_processors_run_in_order_and_add(tmp_path: Path) -> None:
    first, second = Adds("avif"), Adds("", {"label": "cat"})
    media, every = build_media_stack([("b", Base()), ("one", first), ("two", second)], SPECS)
    assert [s.name for s in every] == ["sm", "md", "lg", "avif"]
    result = media.process(tmp_path / "src", tmp_path, SPECS)
    assert [r.name for r in result.renditions] == ["sm", "md", "lg", "avif"]
    assert second.seen == [["sm", "md", "lg", "avif"]], "each sees the result so far"
    assert dict(result.info.metadata) == {"format": "PNG", "phash": "00ff", "label": "cat"}
    assert result.placeholder == "AAAA"


def test_metadata_is_added_never_replaced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    media, _ = build_media_stack([("b", Base()), ("x", Adds("", {"format": "HACKED"}))], SPECS)
    with caplog.at_level(logging.WARNING, "salon.media.stack"):
        result = media.process(tmp_path / "src", tmp_path, SPECS)
    assert result.info.metadata["format"] == "PNG"
    assert "'x'" in caplog.text and "'format'" in caplog.text


@pytest.mark.parametrize(
    "layer",
    [Raises(), Undeclared(), Adds(metadata={"when": object()})],
    ids=["raises", "undeclared-rendition", "metadata-not-json"],
)
def test_a_failing_stacked_processor_loses_only_its_additions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, layer: Adds
) -> None:
    media, _ = build_media_stack([("b", Base()), ("broken", layer), ("ok", Adds("ok"))], SPECS)
    with caplog.at_level(logging.ERROR, "salon.media.stack"):
        result = media.process(tmp_path / "src", tmp_path, SPECS)
    assert [r.name for r in result.renditions] == ["sm", "md", "lg", "ok"]
    assert "media processor 'broken' failed" in caplog.text


def test_probe_only_when_the_base_probes() -> None:
    plain, _ = build_media_stack([("b", Base()), ("x", Adds())], SPECS)
    probing, _ = build_media_stack([("b", ProbingBase()), ("x", Adds())], SPECS)
    assert not isinstance(plain, MediaProbe)
    assert isinstance(probing, MediaProbe)
    assert probing.probe(Path("x")).width == 10


def test_a_stack_pickles_for_the_worker_processes(tmp_path: Path) -> None:
    media, _ = build_media_stack([("b", Base()), ("x", Adds())], SPECS)
    clone = pickle.loads(pickle.dumps(media))
    assert isinstance(clone, MediaStack)
    assert [r.name for r in clone.process(tmp_path / "s", tmp_path, SPECS).renditions][
        -1
    ] == "extra"


@pytest.mark.parametrize(
    ("processors", "message"),
    [
        ([("x", Adds())], "'x' only adds to another processor's result"),
        ([("b", Base()), ("full", Base())], "'full' is not a stacked media processor"),
        ([("b", Base()), ("x", Adds("md"))], "adds rendition 'md', which SALON_RENDITIONS"),
        ([("b", Base()), ("x", Adds("a")), ("y", Adds("a"))], "'y' adds rendition 'a'"),
        ([("b", Base()), ("x", Adds("Bad Name"))], "media processor 'x': rendition name"),
    ],
    ids=["stacked-first", "full-after-base", "clash-with-setting", "clash-between", "bad-name"],
)
def test_stacks_that_cannot_work_are_startup_errors(
    processors: list[tuple[str, object]], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_media_stack(processors, SPECS)


def test_the_contract_kit_catches_replaced_metadata(tmp_path: Path) -> None:
    """The kit's additions check fails a processor that overwrites the base's keys."""
    previous = Base().process(tmp_path, tmp_path, SPECS)
    layer = Adds("", {"format": "mine"})
    additions = layer.add(previous, tmp_path, tmp_path)
    with pytest.raises(AssertionError, match="replace the previous"):
        StackedMediaProcessorContract().check_additions(layer, previous, additions, tmp_path)


@pytest.mark.parametrize("written", ["webp", "WEBP", " Webp "])
def test_a_rendition_format_in_any_case_is_kept_upper_case(written: str) -> None:
    """Code and the contract suite wrote "WEBP", SALON_RENDITIONS "webp": both are one spec."""
    spec = RenditionSpec("wm", 1024, written)
    assert spec.format == "WEBP" and spec == RenditionSpec("wm", 1024)
    spec.check()
    assert RenditionSpec("x", 64, "jpg").format == "JPEG"
    assert RenditionSpec.parse("xl:4096:Avif:60") == RenditionSpec("xl", 4096, "AVIF", 60)
    with pytest.raises(ValueError, match="format must be one of webp, avif, jpeg, png"):
        RenditionSpec("x", 64, "gif").check()
