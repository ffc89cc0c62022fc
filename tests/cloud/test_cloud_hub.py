"""The realtime hub: every client gets its rooms' changes; a slow one is dropped, not waited for."""

from __future__ import annotations

import asyncio
import threading

from cloud.realtime.hub import Hub


def test_a_slow_client_is_dropped_and_the_others_get_everything() -> None:
    async def scenario() -> None:
        hub = Hub(queue_size=8)
        slow = hub.subscribe()
        fast = hub.subscribe()
        received = []
        for n in range(20):
            hub.publish({"n": n}, site="s", room="r")
            received.append(await fast.next())  # the fast client keeps up
        assert received == [{"n": n} for n in range(20)]
        assert await slow.next() is None and slow.ended == "slow"
        assert len(hub) == 1 and hub.dropped_total == 1

    asyncio.run(scenario())


def test_clients_get_only_the_rooms_they_follow() -> None:
    async def scenario() -> None:
        hub = Hub()
        room_one = hub.subscribe("s", "r1")
        whole_site = hub.subscribe("s")
        everything = hub.subscribe()
        hub.publish({"n": 1}, site="s", room="r2")
        hub.publish({"n": 2}, site="other", room="r1")
        hub.publish({"n": 3}, site="s", room="r1")
        assert await room_one.next() == {"n": 3}
        assert [await whole_site.next(), await whole_site.next()] == [{"n": 1}, {"n": 3}]
        assert [await everything.next() for _ in range(3)] == [{"n": 1}, {"n": 2}, {"n": 3}]

    asyncio.run(scenario())


def test_publish_from_another_thread_and_close() -> None:
    async def scenario() -> None:
        hub = Hub()
        client = hub.subscribe()
        worker = threading.Thread(target=hub.publish, args=({"from": "thread"},), kwargs={"site": "s", "room": "r"})
        worker.start()
        assert await asyncio.wait_for(client.next(), 5) == {"from": "thread"}
        worker.join()
        hub.close()
        assert await client.next() is None and client.ended == "shutdown"
        assert len(hub) == 0

    asyncio.run(scenario())
