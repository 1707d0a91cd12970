"""The thread hand-offs: latest-only mailboxes drop and count, lock-step queues never drop."""

from __future__ import annotations

import threading
import time

from livepose.pipeline.mailbox import LatestMailbox, LockstepQueue


def test_latest_mailbox_keeps_newest_and_counts_drops() -> None:
    box: LatestMailbox[int] = LatestMailbox()
    for i in range(5):
        assert box.put(i)
    assert box.get(timeout=0) == 4
    assert box.dropped == 4
    assert box.get(timeout=0) is None


def test_latest_mailbox_close_wakes_a_waiting_consumer() -> None:
    box: LatestMailbox[int] = LatestMailbox()
    got: list = []
    consumer = threading.Thread(target=lambda: got.append(box.get(timeout=10)))
    consumer.start()
    time.sleep(0.05)
    box.close()
    consumer.join(2)
    assert not consumer.is_alive() and got == [None]
    assert not box.put(1)


def test_lockstep_queue_delivers_everything_in_order_under_a_slow_consumer() -> None:
    queue: LockstepQueue[int] = LockstepQueue(capacity=2)
    received: list[int] = []

    def consume() -> None:
        while (item := queue.get(timeout=5)) is not None:
            received.append(item)
            time.sleep(0.001)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(200):
        assert queue.put(i, timeout=5)
    queue.close()
    consumer.join(10)
    assert received == list(range(200))
    assert queue.dropped == 0


def test_lockstep_queue_close_releases_a_blocked_producer() -> None:
    queue: LockstepQueue[int] = LockstepQueue(capacity=1)
    queue.put(0)
    results: list[bool] = []
    producer = threading.Thread(target=lambda: results.append(queue.put(1, timeout=10)))
    producer.start()
    time.sleep(0.05)
    queue.close()
    producer.join(2)
    assert not producer.is_alive() and results == [False]
    assert queue.get(timeout=0) == 0 and queue.get(timeout=0) is None
