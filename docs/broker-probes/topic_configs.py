# Probe of topic configuration on a broker (see README "Known broker quirks", issue 13 §3):
# what DescribeConfigs answers for a topic created with and without configs (names, values,
# sources), whether CreateTopics applies and validates configs, and whether
# IncrementalAlterConfigs and AlterConfigs change them.
# Usage: start the broker, then: python3 topic_configs.py [bootstrap, default 127.0.0.1:29092]
import sys, time, uuid
from confluent_kafka.admin import (AdminClient, NewTopic, ConfigResource, ConfigEntry,
                                   AlterConfigOpType, ResourceType)

B = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:29092"
a = AdminClient({"bootstrap.servers": B})
tag = uuid.uuid4().hex[:6]

def create(name, config):
    try:
        a.create_topics([NewTopic(name, 2, 1, config=config)])[name].result()
        print(f"create {name} {config}: ok")
        return True
    except Exception as e:
        print(f"create {name} {config}: REFUSED {e}")
        return False

def describe(name):
    time.sleep(0.5)
    try:
        res = a.describe_configs([ConfigResource(ResourceType.TOPIC, name)])
        entries = list(res.values())[0].result()
    except Exception as e:
        print(f"describe {name}: ERROR {e}")
        return
    print(f"describe {name}: {len(entries)} entries")
    for k, e in sorted(entries.items()):
        print(f"   {k}={e.value} source={e.source} default={e.is_default} ro={e.is_read_only} sensitive={e.is_sensitive}")

plain = f"probe-plain-{tag}"
create(plain, {})
describe(plain)

configured = f"probe-configured-{tag}"
create(configured, {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "2097152"})
describe(configured)

print("-- validation at CreateTopics")
create(f"probe-unknown-key-{tag}", {"no.such.config": "1"})
create(f"probe-bad-value-{tag}", {"retention.ms": "not-a-number"})
validate = f"probe-validate-only-{tag}"
try:
    a.create_topics([NewTopic(validate, 1, 1)], validate_only=True)[validate].result()
    print("validate_only create: ok")
except Exception as e:
    print(f"validate_only create: {e}")
time.sleep(0.5)
print("validate_only topic exists afterwards:", validate in a.list_topics(timeout=10).topics)

print("-- IncrementalAlterConfigs (set segment.bytes, delete retention.ms)")
res = ConfigResource(ResourceType.TOPIC, configured, incremental_configs=[
    ConfigEntry("segment.bytes", "1048576", incremental_operation=AlterConfigOpType.SET),
    ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
try:
    list(a.incremental_alter_configs([res]).values())[0].result(); print("incremental alter: ok")
except Exception as e:
    print(f"incremental alter: ERROR {e}")
describe(configured)

print("-- AlterConfigs (legacy, replaces the whole set)")
try:
    res = ConfigResource(ResourceType.TOPIC, plain, set_config={"retention.ms": "7200000"})
    list(a.alter_configs([res]).values())[0].result(); print("alter: ok")
except Exception as e:
    print(f"alter: ERROR {e}")
describe(plain)

print("-- a topic that does not exist")
describe(f"probe-missing-{tag}")
