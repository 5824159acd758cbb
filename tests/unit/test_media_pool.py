"""MediaPool admission on its own: a bounded number of images, 503 (MediaBusy) past it, and
waiting callers let in as places free up. The processes themselves are exercised by
tests/integration/test_image_processing.py."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from PIL import Image
from salon.defaults.local_storage import LocalStorage
from salon.defaults.pillow_media import PillowMediaProcessor
from salon.domain.images.placement import LocalPlacement
from salon.domain.images.pool import FairTurns, MediaPool, default_workers
from salon.errors import MediaBusy, UnsupportedMedia
from salon.providers import DEFAULT_RENDITIONS


def test_default_workers_leave_a_core() -> None:
    assert default_workers() >= 1
    assert MediaPool(PillowMediaProcessor()).workers == default_workers()


async def test_admission_is_bounded_and_released() -> None:
    pool = MediaPool(PillowMediaProcessor(), workers=1, queue=1)
    assert pool.uses_processes  # the Pillow processor pickles into the child processes
    first, second = pool.try_reserve(), pool.try_reserve()
    with pytest.raises(MediaBusy) as refused:
        pool.try_reserve()
    assert refused.value.retry_after > 0
    waiting = asyncio.create_task(pool.reserve())
    await asyncio.sleep(0)
    assert not waiting.done()
    first.release()
    first.release()  # idempotent: one place freed, not two
    third = await asyncio.wait_for(waiting, 5)
    assert pool.admitted == 2
    second.release()
    third.release()
    assert pool.admitted == 0


class _Unpicklable(PillowMediaProcessor):
    def __reduce__(self) -> object:
        raise TypeError("holds a client")


def test_unpicklable_processor_falls_back_to_threads() -> None:
    assert not MediaPool(_Unpicklable(), workers=1).uses_processes


async def test_one_owner_cannot_take_every_place() -> None:
    pool = MediaPool(PillowMediaProcessor(), workers=1, queue=3, per_owner=2)
    mine = [pool.try_reserve("a"), pool.try_reserve("a")]
    with pytest.raises(MediaBusy) as refused:
        pool.try_reserve("a")
    assert "2 of your images" in str(refused.value)
    others = [pool.try_reserve("b"), pool.try_reserve("c")]  # the others still get in
    with pytest.raises(MediaBusy, match="4 images are waiting"):
        pool.try_reserve("d")  # the pool itself is full
    # "a" waits for one of its own to finish, not for anyone else's.
    waiting = asyncio.create_task(pool.reserve("a", patience=5))
    others[0].release()
    await asyncio.sleep(0.01)
    assert not waiting.done()
    mine[0].release()
    assert (await asyncio.wait_for(waiting, 5)).owner == "a"
    with pytest.raises(MediaBusy):
        await pool.reserve("a", patience=0.05)


async def test_turns_go_to_the_owner_who_used_the_least_time() -> None:
    """One worker, a backlog of slow images of one owner and single quick ones of two others:
    each quick one runs as soon as the worker is free, not after the backlog; the backlog's
    owner gets the worker whenever nobody else waits."""
    turns = FairTurns(1)
    started: list[str] = []
    gate = asyncio.Event()

    async def job(owner: str, name: str, seconds: float) -> None:
        await turns.acquire(owner)
        started.append(name)
        await gate.wait()
        turns.release(owner, seconds)

    tasks = [asyncio.create_task(job("bomber", f"b{n}", 3.0)) for n in range(4)]
    await asyncio.sleep(0.01)
    tasks.append(asyncio.create_task(job("honest", "h1", 0.01)))
    tasks.append(asyncio.create_task(job("other", "o1", 0.01)))
    await asyncio.sleep(0.01)
    assert started == ["b0"]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert started == ["b0", "h1", "o1", "b1", "b2", "b3"]
    # Back after a pause, the bomber still has its time counted; a newcomer starts from the
    # least time of those already there (no head start over them, no debt either).
    gate.clear()
    order: list[str] = []

    async def again(owner: str) -> None:
        await turns.acquire(owner)
        order.append(owner)
        await gate.wait()
        turns.release(owner, 1.0)

    later = [asyncio.create_task(again(o)) for o in ("honest", "honest", "bomber", "new")]
    await asyncio.sleep(0.01)
    gate.set()
    await asyncio.wait_for(asyncio.gather(*later), 5)
    assert order[0] == "honest" and order.index("new") < order.index("bomber")


async def test_a_cancelled_wait_gives_its_turn_on() -> None:
    turns = FairTurns(1)
    await turns.acquire("a")
    cancelled = asyncio.create_task(turns.acquire("b"))
    after = asyncio.create_task(turns.acquire("c"))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    await asyncio.sleep(0.01)
    turns.release("a", 1.0)
    await asyncio.wait_for(after, 5)
    turns.release("c", 1.0)
    await asyncio.wait_for(turns.acquire("d"), 5)  # the place came back


async def test_light_work_keeps_a_place_heavy_work_cannot_take() -> None:
    """Two places, one of them for light work only: heavy images queue for the other, a light
    one runs at once beside the heavy one under way, and once no heavy place is free a light
    image waiting behind heavy ones still goes first."""
    turns = FairTurns(2, heavy_slots=1)
    await turns.acquire("bomber", True)
    second_bomb = asyncio.create_task(turns.acquire("bomber", True))
    await asyncio.sleep(0.01)
    assert not second_bomb.done()  # the other place is not for heavy work
    await asyncio.wait_for(turns.acquire("honest", False), 1)
    late = asyncio.create_task(turns.acquire("other", False))
    await asyncio.sleep(0.01)
    assert not late.done()  # both places taken
    turns.release("honest", 0.1, False)
    await asyncio.wait_for(late, 1)  # the freed light place: the light image, not the bomb
    assert not second_bomb.done()
    turns.release("bomber", 3.0, True)
    await asyncio.wait_for(second_bomb, 1)


def test_light_pixels_add_a_worker_process() -> None:
    assert MediaPool(PillowMediaProcessor(), workers=1).processes == 1
    pool = MediaPool(PillowMediaProcessor(), workers=1, light_pixels=25_000_000)
    assert (pool.processes, pool.capacity) == (2, 1 + 64)


def _jpeg(path: Path) -> Path:
    Image.new("RGB", (320, 240), (200, 80, 40)).save(path, "JPEG")
    return path


def _not_an_image(path: Path) -> Path:
    path.write_bytes(b"not an image at all")
    return path


@pytest.mark.parametrize(
    "processor", [PillowMediaProcessor(), _Unpicklable()], ids=["child", "thread"]
)
async def test_render_places_the_files_and_leaves_no_scratch(
    tmp_path: Path, processor: PillowMediaProcessor
) -> None:
    # A refused source (UnsupportedMedia, raised in the worker) is cleaned up too.
    # The worker (a child process, or a thread for an unpicklable processor) makes its own
    # scratch folder, puts the files into local storage, and removes the folder and source.
    tmp, storage = tmp_path / "tmp", LocalStorage(tmp_path / "media")
    tmp.mkdir()
    source = _jpeg(tmp / "render-1")
    owner, sha = uuid.uuid4(), "ab" * 32
    pool = MediaPool(processor, workers=1)
    try:
        placed = await pool.render(
            source, tmp, DEFAULT_RENDITIONS, LocalPlacement(storage, owner, sha), drop_source=True
        )
        with pytest.raises(UnsupportedMedia):
            await pool.render(
                _not_an_image(tmp / "render-2"),
                tmp,
                DEFAULT_RENDITIONS,
                LocalPlacement(storage, owner, sha),
                drop_source=True,
            )
    finally:
        await pool.aclose()
    assert placed.processed.renditions == () and placed.processed.info.width == 320
    assert set(placed.renditions) == {spec.name for spec in DEFAULT_RENDITIONS}
    for entry in placed.renditions.values():
        assert (await storage.stat(entry["key"])).size == entry["size"] > 0
        assert entry["key"].startswith(f"renditions/{owner}/ab/{sha}/")
    assert list(tmp.iterdir()) == []  # both scratch folders and both sources are gone
