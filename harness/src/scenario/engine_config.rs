//! Engine overrides (`engine:` in a scenario, `engine.<key>` matrix axes, `--set KEY=VALUE`)
//! checked and resolved by the engine's own config parser, so the harness holds no copy of
//! kbackup's keys, value ranges, codecs or defaults: a key kbackup does not know, or a value it
//! would refuse, fails here at plan time with kbackup's own message.

use super::error::ErrorKind;
use super::file::Scalar;
use super::plan::EngineOverride;
use serde_json::{Map, Value};

/// Sets `path` (dotted) in a JSON object tree, creating objects on the way.
pub fn set_dotted(root: &mut Map<String, Value>, path: &str, value: Value) {
    // librdkafka property names contain dots themselves: `kafka.properties.session.timeout.ms`
    // is the key `session.timeout.ms` of the map `kafka.properties`.
    let (mut parts, last) = match path.strip_prefix(PROPERTIES) {
        Some(name) => (PROPERTIES.trim_end_matches('.').split('.').collect::<Vec<_>>(), name),
        None => {
            let mut parts: Vec<&str> = path.split('.').collect();
            let last = parts.pop().unwrap_or(path);
            (parts, last)
        }
    };
    parts.retain(|p| !p.is_empty());
    let mut node = root;
    for part in parts {
        let entry = node.entry(part.to_owned()).or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = entry.as_object_mut().expect("just made an object");
    }
    node.insert(last.to_owned(), value);
}

/// The engine config map whose keys are librdkafka property names.
const PROPERTIES: &str = "kafka.properties.";

/// A scenario value as the JSON (= YAML) scalar written into kbackup's config.
pub fn scalar_json(value: &Scalar) -> Value {
    match value {
        Scalar::Bool(b) => Value::Bool(*b),
        Scalar::Int(i) => Value::from(*i),
        Scalar::Float(f) => Value::from(*f),
        Scalar::Str(s) => Value::String(s.clone()),
    }
}

/// What the harness sets for the tansu broker before a point's own overrides (README "Known
/// broker quirks": it holds every fetch for the full wait, and mis-serves fetches from mid-log).
/// The runner writes them into kbackup's config; the WAN ceilings resolve the same plan.
pub fn tansu_overrides() -> Vec<EngineOverride> {
    let set = |key: &str, value: &str| EngineOverride { key: key.to_owned(), value: Scalar::Str(value.to_owned()) };
    vec![set("kafka.fetch_max_wait_ms", "10ms"), set("backup.resume", "rescan")]
}

/// The smallest config kbackup accepts, shaped like the harness's real ones (S3 storage, one
/// topic): overrides are checked against it. The names are placeholders; nothing connects.
fn template() -> Map<String, Value> {
    let mut root = Map::new();
    set_dotted(&mut root, "backup_id", "harness-check".into());
    set_dotted(&mut root, "kafka.bootstrap_servers", "127.0.0.1:9092".into());
    set_dotted(&mut root, "kafka.topics.include", Value::Array(vec!["t".into()]));
    set_dotted(&mut root, "storage.type", "s3".into());
    set_dotted(&mut root, "storage.bucket", "b".into());
    root
}

/// Resolves `overrides` on top of the template with kbackup's parser: the engine's defaults
/// for every key not overridden. Fails with the engine's message.
pub fn resolve(overrides: &[EngineOverride]) -> Result<::engine::config::Plan, ::engine::config::ConfigError> {
    let mut root = template();
    for o in overrides {
        set_dotted(&mut root, &o.key, scalar_json(&o.value));
    }
    let text = Value::Object(root).to_string();
    // No `${VAR}` lookups: a scenario value is taken literally.
    ::engine::config::parse(&text, "engine overrides", |_| None)
}

/// Checks one override the way kbackup will read it: an unknown key or a refused value is an
/// error naming `path` (e.g. `engine.backup.compression`, `matrix.engine.x[1]`, `--set`).
pub fn check_override(key: &str, value: &Scalar, path: &str) -> Result<(), ErrorKind> {
    let single = [EngineOverride { key: key.to_owned(), value: value.clone() }];
    match resolve(&single) {
        Ok(_) => Ok(()),
        Err(::engine::config::ConfigError::Parse { message, .. }) if message.contains("unknown field") => {
            let allowed = format!("a key kbackup's config has; kbackup says: {}", first_line(&message));
            Err(ErrorKind::UnknownKey { path: path.to_owned(), key: key.to_owned(), allowed })
        }
        Err(e) => Err(ErrorKind::Engine { path: path.to_owned(), value: value.to_string(), message: e.to_string() }),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(key: &str, value: Scalar) -> Result<(), String> {
        check_override(key, &value, "--set").map_err(|e| e.to_string())
    }

    #[test]
    fn kbackup_decides_what_is_valid() {
        assert_eq!(check("backup.compression", Scalar::Str("lz4".into())), Ok(()));
        assert_eq!(check("backup.segment_max_bytes", Scalar::Str("64k".into())).map_err(|_| ()), Err(()));
        assert_eq!(check("backup.segment_max_bytes", Scalar::Str("64MiB".into())), Ok(()));
        assert_eq!(check("kafka.fetch_max_wait_ms", Scalar::Str("10ms".into())), Ok(()));

        let e = check("backup.compresion", Scalar::Str("zstd".into())).unwrap_err();
        assert!(
            e.contains("--set") && e.contains("unknown key 'backup.compresion'") && e.contains("compresion"),
            "{e}"
        );
        let e = check("backup.compression_level", Scalar::Int(23)).unwrap_err();
        assert!(e.contains("between 1 and 22") && e.contains("kbackup refuses '23'"), "{e}");
        let e = check("backup.compression", Scalar::Str("brotli".into())).unwrap_err();
        assert!(e.contains("zstd, lz4, none"), "{e}");
        let e = check("storage.part_size", Scalar::Str("1MiB".into())).unwrap_err();
        assert!(e.contains("storage.part_size"), "{e}");
    }

    #[test]
    fn librdkafka_properties_keep_their_dots() {
        let mut root = Map::new();
        set_dotted(&mut root, "kafka.properties.partition.assignment.strategy", "range".into());
        set_dotted(&mut root, "kafka.fetch_max_wait_ms", "10ms".into());
        let kafka = &root["kafka"];
        assert_eq!(kafka["properties"]["partition.assignment.strategy"], "range");
        assert_eq!(kafka["fetch_max_wait_ms"], "10ms");
        assert_eq!(check("kafka.properties.session.timeout.ms", Scalar::Str("10000".into())), Ok(()));
        let plan = resolve(&[EngineOverride {
            key: "kafka.properties.partition.assignment.strategy".into(),
            value: Scalar::Str("range".into()),
        }])
        .unwrap();
        let strategy = plan.kafka.client_properties.get("partition.assignment.strategy");
        assert_eq!(strategy.map(String::as_str), Some("range"));
    }

    #[test]
    fn defaults_come_from_the_engine() {
        let plan = resolve(&[]).unwrap();
        assert_eq!(plan.backup.compression_level, ::engine::config::DEFAULT_ZSTD_LEVEL);
        let plan =
            resolve(&[EngineOverride { key: "storage.part_size".into(), value: Scalar::Str("16MiB".into()) }]).unwrap();
        assert_eq!(plan.storage.part_size, 16 << 20);
    }
}
