"""The benchmark corpus is deterministic and phone-like, and the ingest benchmark's reference
script does the same work as Salon's processor (same outputs), so its ratio means something."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image, ImageStat
from salon.defaults.pillow_media import DEFAULT_SPECS, PillowMediaProcessor

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def corpus() -> ModuleType:
    return _load("corpus", BENCH / "corpus.py")


@pytest.fixture(scope="module")
def bench(corpus: ModuleType) -> ModuleType:
    return _load("bench_ingest", BENCH / "ingest" / "bench_ingest.py")


def test_corpus_is_deterministic(corpus: ModuleType, tmp_path: Path) -> None:
    a = corpus.ensure_corpus(2, tmp_path / "a", size=(320, 240), log=False)
    b = corpus.ensure_corpus(2, tmp_path / "b", size=(320, 240), log=False)
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert a[0].read_bytes() != a[1].read_bytes()


def test_corpus_exif_is_phone_like(corpus: ModuleType, tmp_path: Path) -> None:
    paths = corpus.ensure_corpus(4, tmp_path, size=(320, 240), log=False)
    orientations = []
    for path in paths:
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.size == (320, 240)
            exif = im.getexif()
            orientations.append(exif[0x0112])
            assert exif.get_ifd(0x8825)[1] == "N", "GPS present"
            assert exif.get_ifd(0x8769)[0x9003].startswith("2024:06:")
    assert orientations == [1, 6, 8, 3]


def test_corpus_looks_like_a_photo(corpus: ModuleType) -> None:
    # neither flat (too easy for encoders) nor pure noise (too hard): real detail, some grain
    im = corpus.make_photo(0, (400, 300))
    stddev = ImageStat.Stat(im).stddev
    assert all(20 < s < 110 for s in stddev)


def test_reference_does_the_same_work_as_salon(
    corpus: ModuleType, bench: ModuleType, tmp_path: Path
) -> None:
    (path,) = corpus.ensure_corpus(2, tmp_path / "c", size=(1600, 1200), log=False)[1:]
    ref_out, salon_out = tmp_path / "ref", tmp_path / "salon"
    ref_out.mkdir()
    salon_out.mkdir()
    bench.reference_ingest(path, ref_out)
    bench.salon_processor_ingest(path, salon_out)
    result = PillowMediaProcessor().process(path, tmp_path, DEFAULT_SPECS)
    assert result.info.taken_at == dt.datetime(2024, 6, 2, 8, 0, 7, tzinfo=dt.UTC)
    for spec in DEFAULT_SPECS:
        with (
            Image.open(ref_out / f"{spec.name}.webp") as r,
            Image.open(salon_out / f"{spec.name}.webp") as s,
        ):
            assert r.size == s.size, spec.name
            assert r.height > r.width, "orientation 6 applied by both"
        # Salon encodes with less effort (WebP method 2, the reference 4): the pixels differ by
        # encoder noise, but both are as close to the unencoded rendition, within 0.3 dB.
        ideal = bench.ideal_renditions(path)[spec.name]
        ref_db = bench.psnr(ideal, ref_out / f"{spec.name}.webp")
        salon_db = bench.psnr(ideal, salon_out / f"{spec.name}.webp")
        assert ref_db > 25, f"{spec.name}: the reference is {ref_db:.1f} dB from the ideal"
        assert salon_db > ref_db - 0.3, f"{spec.name}: {salon_db:.2f} dB against {ref_db:.2f}"
    report = bench.outputs([path], bench.salon_processor_ingest, tmp_path)
    assert 1.0 < report["bytes_ratio"] < 1.1, report


def test_bench_row_is_machine_readable(bench: ModuleType) -> None:
    r = bench.row("ingest.per_image", 1.1, 1.0, 1.25, "<=", "s/image")
    assert {"name", "value", "reference", "ratio", "target", "ok"} <= set(r)
    assert r["ok"] is True and r["ratio"] == pytest.approx(1.1)
    assert bench.row("x", 1.5, 1.0, 1.8, ">=", "img/s")["ok"] is False
