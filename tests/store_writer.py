"""Child process for the store's durability and concurrency tests (run with sys.executable).

store_writer.py churn STORE RUN SEED      # writes forever, printing "ACK kind key run seq" after each
store_writer.py distinct STORE PREFIX N GO  # waits for file GO, then N collection puts + N log puts
"""

from __future__ import annotations

import os
import random
import sys
import time

from store import Store

CHURN_COLLECTION = "people"
CHURN_SHARDED = "links"  # a collection with its own shard files
CHURN_SHARDS = 16
CHURN_LOG = "answers"
CHURN_PERIOD = "2026-01"
SEEDED_PEOPLE = 4000  # keys p0.. and a0.. are created by the test before any churn
SEEDED_ANSWERS = 8000
PAD = "x" * 120  # keeps records realistic in size, so a write takes long enough to be interrupted

SHARED_COLLECTION = "shared"
SHARED_SHARDED = "shared_own"
SHARED_LOG = "events"
SHARED_PERIOD = "2026-02"


def churn(path: str, run: int, seed: int) -> None:
    """Mix inserts, updates of seeded keys, batched updates and log puts until killed."""
    rng = random.Random(seed)
    with Store(path) as store:
        people = store.collection(CHURN_COLLECTION)
        answers = store.log(CHURN_LOG)
        links = store.collection(CHURN_SHARDED, shards=CHURN_SHARDS)
        print("READY", flush=True)
        seq = 0
        while True:
            seq += 1
            doc = {"run": run, "seq": seq, "pad": PAD}
            roll = rng.random()
            if roll < 0.25:
                keys = [f"new-{run}-{seq}"]
                people.put(keys[0], doc)
                kind = "c"
            elif roll < 0.5:
                keys = [f"p{rng.randrange(SEEDED_PEOPLE)}"]
                people.put(keys[0], doc)
                kind = "c"
            elif roll < 0.6:
                keys = [f"p{rng.randrange(SEEDED_PEOPLE)}" for _ in range(5)]
                people.put_many(dict.fromkeys(keys, doc))
                kind = "c"
            elif roll < 0.7:
                keys = [f"p{rng.randrange(SEEDED_PEOPLE)}" for _ in range(40)]
                links.put_many(dict.fromkeys(keys, doc))  # a batch over many shards
                kind = "s"
            elif roll < 0.8:
                keys = [f"a{rng.randrange(SEEDED_ANSWERS)}"]
                answers.put(CHURN_PERIOD, keys[0], doc)
                kind = "l"
            else:
                keys = [f"anew-{run}-{seq}"]
                answers.put(CHURN_PERIOD, keys[0], doc)
                kind = "l"
            # One write per line: the parent only trusts complete lines.
            sys.stdout.write("".join(f"ACK {kind} {key} {run} {seq}\n" for key in keys))
            sys.stdout.flush()


def distinct(path: str, prefix: str, count: int, go_file: str) -> None:
    """Write `count` distinct keys to a shared collection and a shared log, racing another process."""
    with Store(path) as store:
        shared = store.collection(SHARED_COLLECTION)
        events = store.log(SHARED_LOG)
        own = store.collection(SHARED_SHARDED, shards=8)
        print("READY", flush=True)
        while not os.path.exists(go_file):
            time.sleep(0.005)
        for i in range(count):
            shared.put(f"{prefix}-{i}", {"by": prefix, "i": i})
            events.put(SHARED_PERIOD, f"{prefix}-{i}", {"by": prefix, "i": i})
            own.put(f"{prefix}-{i}", {"by": prefix, "i": i})


if __name__ == "__main__":
    mode, store_path, *rest = sys.argv[1:]
    if mode == "churn":
        churn(store_path, int(rest[0]), int(rest[1]))
    else:
        distinct(store_path, rest[0], int(rest[1]), rest[2])
