//! Restore's topic setup (issue 13 §3–4): which configs created target topics get
//! (`restore.topic_config`, `restore.topic_config_overrides`), and how records find their target
//! partition (`restore.repartition`, `restore.partitions`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use super::ConfigError;
use super::file::RestoreSection;

/// Which configs a created target topic gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicConfigMode {
    /// The backed-up topic's own configs (then the overrides).
    #[default]
    Keep,
    /// The target broker's defaults (then the overrides).
    Defaults,
}

/// How a restored record finds its target partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Repartition {
    /// Partition p is restored to partition p, in offset order.
    #[default]
    None,
    /// Keyed records go where the Java client's default partitioner would put them on the target
    /// (murmur2); null keys round-robin; each key's order is kept.
    ByKey,
}

/// Restore's topic setup, resolved.
#[derive(Debug, Clone, Default)]
pub struct TopicSetupPlan {
    /// `restore.topic_config` (default keep).
    pub config: TopicConfigMode,
    /// `restore.topic_config_overrides`: set on created topics on top of `config`; `None` drops a
    /// backed-up key.
    pub config_overrides: BTreeMap<String, Option<String>>,
    /// `restore.repartition` (default none).
    pub repartition: Repartition,
    /// `restore.partitions`: source topic → partition count of its target topic.
    pub partitions: BTreeMap<String, i32>,
}

impl TopicSetupPlan {
    /// The configs a created target topic gets: the captured ones unless `defaults`, then the overrides.
    pub fn configs_for(&self, captured: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut configs = match self.config {
            TopicConfigMode::Keep => captured.clone(),
            TopicConfigMode::Defaults => BTreeMap::new(),
        };
        for (key, value) in &self.config_overrides {
            match value {
                Some(value) => configs.insert(key.clone(), value.clone()),
                None => configs.remove(key),
            };
        }
        configs
    }
}

/// A topic config value as written in YAML: `604800000`, `0.5`, `true` and `compact` all mean
/// the text Kafka receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigValue(pub String);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Int(i64),
            Float(f64),
            Bool(bool),
            Text(String),
        }
        Ok(ConfigValue(match Scalar::deserialize(deserializer)? {
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Text(t) => t,
        }))
    }
}

/// The most partitions `restore.partitions` accepts (far above any real topic; catches typos).
const MAX_PARTITIONS: i32 = 100_000;

pub(super) fn resolve_topic_setup(raw: &RestoreSection) -> Result<TopicSetupPlan, ConfigError> {
    let config = match raw.topic_config.as_deref() {
        None | Some("keep") => TopicConfigMode::Keep,
        Some("defaults") => TopicConfigMode::Defaults,
        Some(other) => {
            return Err(ConfigError::invalid("restore.topic_config", format!("'{other}' (expected keep or defaults)")));
        }
    };
    let repartition = match raw.repartition.as_deref() {
        None | Some("none") => Repartition::None,
        Some("by-key") => Repartition::ByKey,
        Some(other) => {
            return Err(ConfigError::invalid("restore.repartition", format!("'{other}' (expected none or by-key)")));
        }
    };
    for key in raw.topic_config_overrides.keys() {
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(ConfigError::invalid(
                format!("restore.topic_config_overrides.{key}"),
                "a topic config name has no spaces (e.g. retention.ms)",
            ));
        }
    }
    for (topic, &count) in &raw.partitions {
        if !(1..=MAX_PARTITIONS).contains(&count) {
            return Err(ConfigError::invalid(
                format!("restore.partitions.{topic}"),
                format!("{count} (expected 1 to {MAX_PARTITIONS})"),
            ));
        }
    }
    Ok(TopicSetupPlan {
        config,
        config_overrides: raw.topic_config_overrides.iter().map(|(k, v)| (k.clone(), v.clone().map(|v| v.0))).collect(),
        repartition,
        partitions: raw.partitions.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "backup_id: b\nkafka:\n  bootstrap_servers: x:1\nstorage:\n  type: filesystem\n  base_path: /tmp/kb\nrestore:\n";

    fn parse(restore: &str) -> Result<TopicSetupPlan, String> {
        super::super::parse(&format!("{BASE}{restore}"), "t.yaml", |_| None)
            .map(|plan| plan.restore.topic_setup)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn keys_parse_with_yaml_scalars_as_config_text() {
        let setup = parse(
            "  topic_config: defaults\n  repartition: by-key\n  partitions:\n    orders: 12\n  topic_config_overrides:\n    retention.ms: 86400000\n    min.cleanable.dirty.ratio: 0.5\n    preallocate: true\n    cleanup.policy: compact\n    retention.bytes: null\n",
        )
        .unwrap();
        assert_eq!((setup.config, setup.repartition), (TopicConfigMode::Defaults, Repartition::ByKey));
        assert_eq!(setup.partitions["orders"], 12);
        let overrides = &setup.config_overrides;
        assert_eq!(overrides["retention.ms"].as_deref(), Some("86400000"));
        assert_eq!(overrides["min.cleanable.dirty.ratio"].as_deref(), Some("0.5"));
        assert_eq!(overrides["preallocate"].as_deref(), Some("true"));
        assert_eq!(overrides["cleanup.policy"].as_deref(), Some("compact"));
        assert_eq!(overrides["retention.bytes"], None);
        let defaults = parse("  allow_non_empty: false\n").unwrap();
        assert_eq!((defaults.config, defaults.repartition), (TopicConfigMode::Keep, Repartition::None));
    }

    #[test]
    fn bad_values_name_the_key() {
        let message = parse("  repartition: by-hash\n").unwrap_err();
        assert!(message.contains("restore.repartition") && message.contains("none or by-key"), "{message}");
        let message = parse("  topic_config: original\n").unwrap_err();
        assert!(message.contains("restore.topic_config") && message.contains("keep or defaults"), "{message}");
        let message = parse("  partitions:\n    orders: 0\n").unwrap_err();
        assert!(message.contains("restore.partitions.orders"), "{message}");
        let message = parse("  topic_config_overrides:\n    \"retention ms\": 1\n").unwrap_err();
        assert!(message.contains("restore.topic_config_overrides.retention ms"), "{message}");
    }

    #[test]
    fn overrides_apply_on_top_and_null_drops_a_key() {
        let captured = BTreeMap::from([
            ("cleanup.policy".to_string(), "compact".to_string()),
            ("retention.ms".to_string(), "1000".to_string()),
        ]);
        let mut setup = TopicSetupPlan::default();
        setup.config_overrides.insert("retention.ms".into(), None);
        setup.config_overrides.insert("segment.bytes".into(), Some("1048576".into()));
        let kept = setup.configs_for(&captured);
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["cleanup.policy", "segment.bytes"]);
        setup.config = TopicConfigMode::Defaults;
        assert_eq!(setup.configs_for(&captured).keys().collect::<Vec<_>>(), ["segment.bytes"]);
    }
}
