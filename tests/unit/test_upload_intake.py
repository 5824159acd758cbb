"""UploadSlots' intake turns on their own: at most ``intake`` uploads taken in at once per
process, the others waiting (the user who used the least intake time first) for at most
``intake_wait`` seconds before a 503 (MediaBusy with Retry-After). The HTTP side (a 503 that
leaves nothing behind) is in tests/integration/test_image_processing.py."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import pytest
from salon.domain.bodies import INTAKE_RETRY_AFTER, UploadSlots
from salon.errors import MediaBusy

ALICE, BOB = uuid.uuid4(), uuid.uuid4()


async def test_past_the_bound_an_upload_waits_then_gets_503_with_retry_after() -> None:
    slots = UploadSlots(4, intake=2, intake_wait=0.2)
    async with AsyncExitStack() as held:
        await held.enter_async_context(slots.intake(ALICE))
        await held.enter_async_context(slots.intake(BOB))
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(MediaBusy, match="taking in 2 uploads") as refused:
            async with slots.intake(uuid.uuid4()):
                pytest.fail("a third upload was taken in beside two")
        assert refused.value.retry_after == INTAKE_RETRY_AFTER
        assert loop.time() - started >= 0.2  # it waited for a turn before refusing
    # Both turns are back: two more go in at once.
    async with slots.intake(ALICE), slots.intake(BOB):
        pass


async def test_a_waiting_upload_goes_in_as_soon_as_a_turn_is_given_back() -> None:
    slots = UploadSlots(4, intake=1, intake_wait=5)
    order: list[str] = []

    async def upload(name: str, user: uuid.UUID) -> None:
        async with slots.turn(user)():
            order.append(name)

    alice = slots.turn(ALICE)  # taken only when entered
    async with alice():
        waiting = asyncio.create_task(upload("bob", BOB))
        await asyncio.sleep(0.05)
        assert order == []  # no turn while Alice's upload is taken in
    await asyncio.wait_for(waiting, 1)
    assert order == ["bob"]


async def test_turns_go_first_to_the_user_who_used_the_least_intake_time() -> None:
    slots = UploadSlots(8, intake=1, intake_wait=5)
    order: list[str] = []

    async def upload(name: str, user: uuid.UUID) -> None:
        async with slots.intake(user):
            order.append(name)
            await asyncio.sleep(0.01)

    async with slots.intake(ALICE):
        # Alice's bulk upload queues first, Bob's one photo after it.
        tasks = [asyncio.create_task(upload(f"alice{n}", ALICE)) for n in range(3)]
        await asyncio.sleep(0.01)
        tasks.append(asyncio.create_task(upload("bob", BOB)))
        await asyncio.sleep(0.02)  # Alice's turn has taken time; Bob has used none
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order[0] == "bob", order


async def test_no_bound_when_the_setting_is_zero() -> None:
    slots = UploadSlots(4, intake=0, intake_wait=0)
    async with AsyncExitStack() as held:
        for _ in range(50):
            await held.enter_async_context(slots.intake(uuid.uuid4()))
