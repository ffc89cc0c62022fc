"""The realtime hub: rooms' changes to their followers, personal ones to one user or staff; slow clients dropped."""

from __future__ import annotations

import asyncio
import threading

from cloud.platform.hub import Audience, Hub


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


def test_personal_messages_reach_their_user_or_staff_whatever_room_they_follow() -> None:
    async def scenario() -> None:
        hub = Hub()
        alice = hub.subscribe("s", "r1", user_id=1)
        alice_phone = hub.subscribe(user_id=1)
        bob = hub.subscribe("s", "r1", user_id=2)
        staff = hub.subscribe("other", "room", user_id=3, is_staff=True)
        hub.send({"to": "alice"}, Audience.of_user(1))
        hub.send({"to": "staff"}, Audience.of_staff())
        hub.send({"to": "room"}, Audience.of_room("s", "r1"))
        assert [await alice.next(), await alice.next()] == [{"to": "alice"}, {"to": "room"}]
        assert [await alice_phone.next(), await alice_phone.next()] == [{"to": "alice"}, {"to": "room"}]
        assert await bob.next() == {"to": "room"}, "neither Alice's message nor staff's"
        assert await staff.next() == {"to": "staff"}
        assert staff.queue.empty(), "staff follow another room"

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


def test_close_all_lets_every_client_go_and_keeps_serving() -> None:
    """A restart without the restart: browser tests use it to prove pages reconnect and resync."""

    async def scenario() -> None:
        hub = Hub()
        clients = [hub.subscribe("s", "r"), hub.subscribe(user_id=1)]
        assert hub.close_all() == 2
        assert [await c.next() for c in clients] == [None, None]
        assert {c.ended for c in clients} == {"restart"} and len(hub) == 0
        again = hub.subscribe("s", "r")  # the page's reconnect
        hub.publish({"n": 1}, site="s", room="r")
        assert await again.next() == {"n": 1}

    asyncio.run(scenario())
