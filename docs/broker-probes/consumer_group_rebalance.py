# Probe of tansu consumer groups: two members join, commit, one leaves gracefully (see README "Known broker quirks").
# Usage: start tansu on 127.0.0.1:29092, then: python3 consumer_group_rebalance.py [cooperative-sticky|range]
import time, threading, sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
B="127.0.0.1:29092"
a=AdminClient({"bootstrap.servers":B})
fs=a.create_topics([NewTopic("cg-probe",4,1)])
for t,f in fs.items():
    try: f.result(); print("created",t)
    except Exception as e: print("create",e)
p=Producer({"bootstrap.servers":B})
for i in range(400): p.produce("cg-probe", key=str(i), value=b"x"*100, partition=i%4)
p.flush(); print("produced")
assigned={}
def mk(name, strategy):
    def on_assign(c, parts): assigned.setdefault(name,[]).append(("assign",[p.partition for p in parts])); print(name,"assign",[p.partition for p in parts], flush=True)
    def on_revoke(c, parts): print(name,"revoke",[p.partition for p in parts], flush=True)
    c=Consumer({"bootstrap.servers":B,"group.id":"kbackup.probe","partition.assignment.strategy":strategy,"enable.auto.commit":False,"auto.offset.reset":"earliest","fetch.wait.max.ms":10,"session.timeout.ms":6000,"heartbeat.interval.ms":1000})
    c.subscribe(["cg-probe"], on_assign=on_assign, on_revoke=on_revoke)
    return c
strategy=sys.argv[1] if len(sys.argv)>1 else "cooperative-sticky"
c1=mk("c1",strategy)
n=0; t0=time.time()
while time.time()-t0<8:
    m=c1.poll(0.2)
    if m and not m.error(): n+=1
    elif m: print("err",m.error())
print("c1 consumed",n, flush=True)
c2=mk("c2",strategy)
t0=time.time(); n1=n2=0
while time.time()-t0<15:
    m=c1.poll(0.1); 
    if m and not m.error(): n1+=1
    m=c2.poll(0.1)
    if m and not m.error(): n2+=1
print("after join c1",n1,"c2",n2, "c1 assignment",[p.partition for p in c1.assignment()],"c2",[p.partition for p in c2.assignment()], flush=True)
# commit
try:
    c1.commit(offsets=[TopicPartition("cg-probe",p.partition,50) for p in c1.assignment()], asynchronous=False); print("commit ok")
except Exception as e: print("commit failed",e)
try:
    print("committed", [(tp.partition,tp.offset) for tp in c1.committed([TopicPartition("cg-probe",i) for i in range(4)], timeout=5)])
except Exception as e: print("committed failed", e)
c2.close(); print("c2 closed", flush=True)
t0=time.time()
while time.time()-t0<10:
    c1.poll(0.2)
print("c1 assignment after c2 left",[p.partition for p in c1.assignment()], flush=True)
c1.close()
