"""Issue 19.4 experiment: what "decode at reduced scale, cascade from the largest rendition,
encode in parallel" can take off the reference script's CPU time, and what it costs in pixels.

Four pipelines on the ingest corpus (12 MP JPEGs, orientations 1, 6, 8, 3), alternated, per
image the minimum over rounds:

- ``reference``: bench_ingest.reference_ingest (draft covering the lg box: full scale for
  4000x3000, since half scale gives 2000 < 2048 px);
- ``salon``: Salon's PillowMediaProcessor, as bench_ingest runs it;
- ``half``: the reference but decoding at half scale (DCT scaling, 2000x1500) when that is
  within 5 % of the lg edge, so lg is stretched 2.4 %;
- ``half_parallel``: ``half`` with the three WebP encodes in threads (Pillow releases the GIL
  while encoding), the resizes still a cascade;
- ``half_method3``: ``half`` with libwebp's method 3 instead of 4;
- ``full_method2``: the reference (full-scale decode) with libwebp's method 2 instead of 4.

Prints CPU and wall seconds per image, the renditions' bytes against the reference's, and each
rendition's mean pixel difference from the reference's (0-255, the worst channel and image).

    .venv/bin/python benchmarks/ingest/draft_experiment.py [--images 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_ingest as bench
from bench_ingest import PLACEHOLDER_EDGE, SIZES, TRANSPOSE, _fit, corpus

SLACK = 0.05


def _pipeline(
    path: Path, out_dir: Path, *, slack: float = SLACK, parallel: bool = False, method: int = 4
) -> None:
    from salon.defaults.pillow_media import thumbhash_encode

    data = path.read_bytes()
    hashlib.sha256(data).hexdigest()
    im = Image.open(io.BytesIO(data))
    exif = im.getexif()
    orientation = exif.get(0x0112, 1)
    exif.get_ifd(0x8769).get(0x9003)
    w, h = im.size
    im.draft("RGB", _fit(w, h, int(SIZES[0][1] * (1 - slack))))
    im.load()
    transpose = TRANSPOSE.get(orientation)
    current: Image.Image = im if im.mode == "RGB" else im.convert("RGB")
    with ThreadPoolExecutor(max_workers=3 if parallel else 1) as pool:
        encodes = []
        for i, (name, edge) in enumerate(SIZES):
            box = _fit(w, h, edge)
            if current.size != box:
                current = current.resize(box, Image.Resampling.LANCZOS, reducing_gap=2.0)
            if i == 0 and transpose is not None:
                current = current.transpose(transpose)
                w, h = current.size
            target = out_dir / f"{name}.webp"
            save = current.save
            if parallel:
                encodes.append(pool.submit(save, target, "WEBP", quality=80, method=method))
            else:
                save(target, "WEBP", quality=80, method=method)
        thumb = current.resize(_fit(w, h, PLACEHOLDER_EDGE), Image.Resampling.LANCZOS)
        rgba = thumb.convert("RGBA")
        thumbhash_encode(rgba.width, rgba.height, rgba.tobytes())
        for encode in encodes:
            encode.result()


def half(path: Path, out_dir: Path) -> None:
    _pipeline(path, out_dir)


def half_parallel(path: Path, out_dir: Path) -> None:
    _pipeline(path, out_dir, parallel=True)


def half_method3(path: Path, out_dir: Path) -> None:
    _pipeline(path, out_dir, method=3)


def full_method2(path: Path, out_dir: Path) -> None:
    _pipeline(path, out_dir, slack=0.0, method=2)


PIPELINES: dict[str, Callable[[Path, Path], None]] = {
    "reference": bench.reference_ingest,
    "salon": bench.salon_processor_ingest,
    "half": half,
    "half_parallel": half_parallel,
    "half_method3": half_method3,
    "full_method2": full_method2,
}


def _timed(fn: Callable[[Path, Path], None], path: Path, out: Path) -> tuple[float, float]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    c0, w0 = time.process_time(), time.perf_counter()
    fn(path, out)
    return time.process_time() - c0, time.perf_counter() - w0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    images = corpus.ensure_corpus(args.images)
    scratch = Path(tempfile.mkdtemp(prefix="salon-draft-"))
    print(f"load before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    for name, fn in PIPELINES.items():  # warm-up: imports, codec tables
        _timed(fn, images[0], scratch / name)
    best = {name: [[float("inf"), float("inf")] for _ in images] for name in PIPELINES}
    for r in range(args.rounds):
        for i, path in enumerate(images):
            names = list(PIPELINES)[r % len(PIPELINES) :] + list(PIPELINES)[: r % len(PIPELINES)]
            for name in names:
                cpu, wall = _timed(PIPELINES[name], path, scratch / name / str(i))
                best[name][i] = [min(best[name][i][0], cpu), min(best[name][i][1], wall)]
    reference_cpu = statistics.mean(c for c, _ in best["reference"])
    reference_wall = statistics.mean(w for _, w in best["reference"])
    print("pipeline        cpu s/img  ratio   wall s/img  ratio   bytes   mean pixel diff lg/md/sm")
    for name in PIPELINES:
        cpu = statistics.mean(c for c, _ in best[name])
        wall = statistics.mean(w for _, w in best[name])
        diffs = [
            max(_diff(scratch / "reference" / str(i), scratch / name / str(i), rendition))
            for rendition, _ in SIZES
            for i in range(len(images))
        ]
        per_rendition = [max(diffs[k * len(images) : (k + 1) * len(images)]) for k in range(3)]
        size = _bytes(scratch / name) / _bytes(scratch / "reference")
        print(
            f"{name:14}  {cpu:9.3f}  {cpu / reference_cpu:5.2f}   {wall:10.3f}  "
            f"{wall / reference_wall:5.2f}   {size:5.3f}   "
            + " / ".join(f"{d:.2f}" for d in per_rendition)
        )
    print(f"load after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    shutil.rmtree(scratch, ignore_errors=True)


def _bytes(folder: Path) -> int:
    """The renditions' bytes over all images (not the warm-up's, directly in ``folder``)."""
    return sum(p.stat().st_size for p in folder.glob("*/*.webp"))


def _diff(a: Path, b: Path, rendition: str) -> list[float]:
    with Image.open(a / f"{rendition}.webp") as x, Image.open(b / f"{rendition}.webp") as y:
        return list(ImageStat.Stat(ImageChops.difference(x.convert("RGB"), y.convert("RGB"))).mean)


if __name__ == "__main__":
    main()
