"""Smoke test of the benchmark scripts: each imports and answers --help. No timing here: the
benchmarks are scripts with targets, not tests with wall-clock asserts."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = [
    "run_all.py",
    "ingest/bench_ingest.py",
    "ingest/draft_experiment.py",
    "intake/bench_intake.py",
    "listing/bench_listing.py",
    "listing/bench_multiuser.py",
    "listing/profile_listing.py",
    "listing/bench_many_users.py",
    "listing/bare_app.py",
    "serving/bench_serving.py",
    "memory/bench_memory.py",
    "startup/bench_startup.py",
    "video/bench_video.py",
    "load/op_costs.py",
]


def _load(relative: str) -> ModuleType:
    path = BENCH / relative
    name = "bench_smoke_" + relative.replace("/", "_").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("relative", SCRIPTS)
def test_script_imports_and_answers_help(relative: str, capsys: pytest.CaptureFixture[str]) -> None:
    module = _load(relative)
    if relative.endswith("bare_app.py"):
        assert len(module.items.fn()["items"]) == 50
        return
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "relative",
    [
        "intake/bench_intake.py",
        "listing/bench_listing.py",
        "listing/bench_multiuser.py",
        "listing/bench_many_users.py",
        "serving/bench_serving.py",
        "memory/bench_memory.py",
    ],
)
def test_short_form_parses(relative: str) -> None:
    args = _load(relative).build_parser().parse_args(["--short"])
    assert args.short is True


def test_ingest_over_http_uploads_the_same_image_in_every_round(tmp_path: Path) -> None:
    """`bench_ingest.py --target http --spawn-server` (benchmarks/ingest/README.md) against a
    real server: each round uploads the same bytes, so the image must be gone for good after
    each (a plain DELETE put it in the trash and the second round was answered 200)."""
    from PIL import Image

    module = _load("ingest/bench_ingest.py")
    photo = tmp_path / "photo.jpg"
    Image.linear_gradient("L").resize((640, 480)).convert("RGB").save(photo, "JPEG")
    with module.spawned_server(1) as url:
        ingest = module.HttpIngest(url, "bench-smoke@example.com", "bench-password-123")
        for _ in range(2):
            ingest(photo, tmp_path)  # raises unless the upload answers 201 and the delete 204


def test_benchmark_servers_take_the_many_users_parallel_log_ins(tmp_path: Path) -> None:
    """Every log-in of bench_many_users.py comes from one address: the server it starts must
    let that address hold as many password checks as it sends at once (the default 2 answered
    429 and the README's command failed)."""
    many_users = _load("listing/bench_many_users.py")
    env = many_users.common.salon_env(tmp_path)
    assert int(env["SALON_PASSWORD_HASH_PER_CLIENT"]) >= many_users.LOGINS_AT_ONCE


def test_page_miss_paths_are_new_in_every_run(tmp_path: Path) -> None:
    bench = _load("listing/bench_listing.py")
    args = bench.build_parser().parse_args(["--short", "--page-misses", "--sizes", "10000"])
    assert args.page_misses and args.sizes == [10000]
    warm, run = (bench.miss_script(tmp_path, name, count=50) for name in ("warm", "run"))
    paths = [(tmp_path / f"miss-paths-{name}.txt").read_text().split() for name in ("warm", "run")]
    assert len(set(paths[0] + paths[1])) == 100  # no page the warm-up cached is asked again
    assert all(p.startswith("/api/images?limit=50&cursor=") for p in paths[0])
    assert str(tmp_path / "miss-paths-run.txt") in run.read_text() and warm != run
    with pytest.raises(RuntimeError, match="reused"):
        bench.check_misses(bench.common.WrkResult(50, 1.0, 50.0, 1.0, 2.0, 0, 0), count=50)


def test_run_all_knows_every_benchmark_and_its_short_form() -> None:
    run_all = _load("run_all.py")
    assert set(run_all.BENCHMARKS) == {
        "ingest",
        "intake",
        "listing",
        "listing_misses",
        "multiuser",
        "many_users",
        "serving",
        "memory",
        "startup",
        "video",
    }
    for script, args in run_all.BENCHMARKS.values():
        assert (BENCH / script).is_file(), script
        assert "--short" in args


def test_table_marks_failed_targets() -> None:
    common = _load("common.py")
    ok = common.row("x.ratio", 8.0, 10.0, 0.8, ">=", "req/s")
    low = common.row("y.ratio", 7.0, 10.0, 0.8, ">=", "req/s")
    absolute = common.row("z.p99", 60.0, 5.0, 50.0, "<", "ms", on="value")
    assert (ok["ok"], low["ok"], absolute["ok"]) == (True, False, False)
    assert ok["ratio"] == 0.8
    text = _load("run_all.py").table([ok, low, absolute])
    assert "value < 50.0" in text and "NO" in text


def test_load_test_counts_the_web_process_cpu_apart_from_the_niced_media_workers() -> None:
    load_test = _load("load/load_test.py")
    spent = load_test.tree_cpu_seconds(os.getpid())
    assert spent["web"] > 0 and spent["media"] == 0  # this test process, not niced
    reads = {"requests_per_second": 100.0, "reads_per_web_cpu_second": 500.0}
    reads["latency_ms"] = {"list": {"p99": 100.0}, "image": {"p99": 200.0}}
    mixed = {"requests": 2400, "seconds": 30.0, "by_operation": {"upload": 300}}
    mixed |= {"reads_per_web_cpu_second": 300.0}
    mixed["latency_ms"] = {"list": {"p99": 150.0}, "image": {"p99": 500.0}}
    report = load_test.targets(reads, mixed)
    assert report["reads_throughput_share"] == 0.7
    assert report["reads_per_web_cpu_share"] == 0.6
    assert report["list_p99_ratio"] == 1.5 and report["image_p99_ratio"] == 2.5
    assert report["met"] is False  # the image p99 is over 2x


def test_op_costs_short_run_reports_every_kind(capsys: pytest.CaptureFixture[str]) -> None:
    """`op_costs.py` (benchmarks/load/README.md) against a real server, in short: every kind
    of request answers 200 and costs the web process some CPU."""
    op_costs = _load("load/op_costs.py")
    assert op_costs.main(["--images", "3", "--requests", "30"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    costs = report["web_cpu_ms_per_request"]
    assert set(costs) == {"list", "image", "rendition", "original", "me", "health"}
    assert sum(costs.values()) > 0  # the counter moved: it reads the server, not this process
