# Probe of tansu consumer groups: a member is SIGKILLed; does the survivor get its partitions?
# Usage: start tansu on 127.0.0.1:29092 with a 4-partition topic cg-probe, then: STRAT=cooperative-sticky python3 consumer_group_member_killed.py parent
import time, sys, os, signal, subprocess
from confluent_kafka import Consumer
B="127.0.0.1:29092"
def mk(name):
    def on_assign(c, parts): print(name,"assign",[p.partition for p in parts], round(time.time()-T,1), flush=True)
    def on_revoke(c, parts): print(name,"revoke",[p.partition for p in parts], round(time.time()-T,1), flush=True)
    c=Consumer({"bootstrap.servers":B,"group.id":"kbackup.probe2","partition.assignment.strategy":os.environ.get("STRAT","range"),"enable.auto.commit":False,"auto.offset.reset":"earliest","fetch.wait.max.ms":10,"session.timeout.ms":6000,"heartbeat.interval.ms":1000})
    c.subscribe(["cg-probe"], on_assign=on_assign, on_revoke=on_revoke); return c
T=time.time()
if sys.argv[1]=="child":
    c=mk("child")
    while True: c.poll(0.2)
else:
    child=subprocess.Popen([sys.executable, __file__, "child"])
    time.sleep(8)
    c=mk("parent")
    t0=time.time()
    while time.time()-t0<12: c.poll(0.2)
    print("parent before kill",[p.partition for p in c.assignment()], flush=True)
    child.send_signal(signal.SIGKILL); T=time.time()
    t0=time.time()
    while time.time()-t0<60:
        c.poll(0.2)
        if int(time.time()-t0)%10==0 and time.time()-t0-int(time.time()-t0)<0.2: print("t",round(time.time()-T),[p.partition for p in c.assignment()],flush=True)
    print("parent after kill",[p.partition for p in c.assignment()], flush=True)
    c.close()
