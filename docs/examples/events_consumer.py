#!/usr/bin/env python3
"""events_consumer.py - receive bouncer's events from ZeroMQ and print them.

    python3 events_consumer.py [ENDPOINT [COUNT]]

ENDPOINT defaults to tcp://127.0.0.1:5556 ([events] endpoints); COUNT stops
after that many events (default: run until interrupted). Needs pyzmq
(Debian: python3-zmq).

Each event is two frames: the topic, then a JSON object. This prints
"TOPIC JSON" per event and keeps the last seq seen: a seq at or below it is
a duplicate (delivery is at least once) and is skipped; a jump past
last + 1 means events may have been missed, to be fetched with
`bouncerctl events --since LAST`. A real consumer stores the last seq in
the same transaction as the work it did for the event.
"""
import json
import sys

import zmq


def handle(event):
    """Act on one event: stop sending, tell the organisation, ..."""
    if event["type"] == "suppression" and event.get("removed"):
        pass  # the address may be sent to again (in that scope)


def main():
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5556"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    last_seq = 0  # load the stored value here on restart

    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    # Every topic: seq runs across all of them, so only a subscriber to all
    # can tell a missed event from one of a topic it did not ask for.
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    received = 0
    try:
        while count == 0 or received < count:
            frames = sub.recv_multipart()
            if len(frames) != 2:
                print("events_consumer: %d-frame message ignored" % len(frames), file=sys.stderr)
                continue
            topic, body = frames[0].decode(), frames[1].decode()
            event = json.loads(body)
            seq = event["seq"]
            if seq <= last_seq:
                print("events_consumer: duplicate seq %d skipped" % seq, file=sys.stderr)
                continue
            if last_seq and seq > last_seq + 1:
                print("events_consumer: seq %d after %d: run 'bouncerctl events --since %d'"
                      " for what was missed" % (seq, last_seq, last_seq), file=sys.stderr)
            handle(event)
            print(topic, body, flush=True)
            last_seq = seq
            received += 1
    except KeyboardInterrupt:
        pass
    finally:
        sub.close(0)
        ctx.term()


if __name__ == "__main__":
    main()
