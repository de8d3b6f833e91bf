# Probe of tansu consumer groups with three members (see README "Known broker quirks"). Usage: start
# tansu on 127.0.0.1:29092, then: python3 consumer_group_three_members.py [cooperative-sticky|range]
# Probe: three members of one group join one after another (cooperative-sticky); print every
# assign/revoke with a timestamp and flag a partition held by two members at once.
import time, sys, threading
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic
B = "127.0.0.1:29092"
T = "cg3-probe-" + str(int(time.time()))
strategy = sys.argv[1] if len(sys.argv) > 1 else "cooperative-sticky"
admin = AdminClient({"bootstrap.servers": B}); admin.create_topics([NewTopic(T, 12, 1)])[T].result()
t0 = time.time()
held = {}
lock = threading.Lock()
def log(name, what, parts):
    with lock:
        ps = sorted(p.partition for p in parts)
        if what == "assign":
            for p in ps:
                others = [n for n, s in held.items() if n != name and p in s]
                if others:
                    print(f"  OVERLAP: partition {p} assigned to {name} while held by {others}")
            held.setdefault(name, set()).update(ps)
        else:
            held.setdefault(name, set()).difference_update(ps)
        print(f"{time.time()-t0:6.2f}s {name} {what} {ps} -> now {sorted(held[name])}", flush=True)
def mk(name):
    c = Consumer({"bootstrap.servers": B, "group.id": T, "partition.assignment.strategy": strategy,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest", "fetch.wait.max.ms": 10})
    c.subscribe([T], on_assign=lambda c, p: log(name, "assign", p), on_revoke=lambda c, p: log(name, "revoke", p))
    return c
members = []
def run_for(secs):
    end = time.time() + secs
    while time.time() < end:
        for c in members:
            c.poll(0.05)
for i in range(3):
    members.append(mk(f"m{i+1}"))
    run_for(20)
with lock:
    print("final:", {n: sorted(s) for n, s in held.items()})
for c in members:
    c.close()
