//! The contract of kbackup's `--json` output: every document carries `schema_version`, and every
//! reader (kbackup's own tests, the harness) goes through [`from_json`], which refuses a version it
//! does not know with an error naming the document and the versions it understands.
//!
//! The version is added by [`to_json`] around the document's own fields, so the output types
//! ([`crate::summary::RunSummary`], [`crate::probe::ProbeReport`], …) hold only what they measure.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Version of every JSON document `kbackup --json` prints (summaries, reports, progress lines).
///
/// 2: `compression_ratio` is source ÷ stored (it was the codec's ratio); the codec's own ratio is
/// `codec_ratio`; `storage_ratio` is gone; `list` prints `{"backups": [...]}`; every document
/// carries this field.
pub const OUTPUT_SCHEMA_VERSION: u32 = 2;

/// The versions [`from_json`] reads.
pub const READABLE_VERSIONS: &[u32] = &[OUTPUT_SCHEMA_VERSION];

/// A document that cannot be read, naming where it came from.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// Not JSON, or not the document expected.
    #[error("{origin}: not a valid document: {message}")]
    Parse {
        /// File path or a label such as `kbackup backup --json`.
        origin: String,
        /// What the JSON parser said.
        message: String,
    },
    /// No `schema_version` field.
    #[error(
        "{origin}: no schema_version (this reader understands versions {known:?}); was it written by an older tool?"
    )]
    Missing {
        /// File path or label.
        origin: String,
        /// Versions this reader understands.
        known: Vec<u32>,
    },
    /// A version this reader does not know.
    #[error(
        "{origin}: schema_version {found}, but this reader understands versions {known:?}; use tools of the same release, or re-create the file"
    )]
    Unknown {
        /// File path or label.
        origin: String,
        /// The version in the document.
        found: u32,
        /// Versions this reader understands.
        known: Vec<u32>,
    },
}

/// A document with its version in front of its own fields.
#[derive(Serialize, Deserialize)]
struct Versioned<T> {
    schema_version: u32,
    #[serde(flatten)]
    document: T,
}

#[derive(Deserialize)]
struct VersionOnly {
    schema_version: Option<u32>,
}

/// Serializes `document` (a struct) with `schema_version` = [`OUTPUT_SCHEMA_VERSION`] added.
pub fn to_json<T: Serialize>(document: &T, pretty: bool) -> serde_json::Result<String> {
    to_json_versioned(document, OUTPUT_SCHEMA_VERSION, pretty)
}

/// Serializes `document` (a struct) with `schema_version` = `version` in front of its fields: for
/// documents with a version of their own (the harness's plan.json and load lines).
pub fn to_json_versioned<T: Serialize>(document: &T, version: u32, pretty: bool) -> serde_json::Result<String> {
    let versioned = Versioned { schema_version: version, document };
    if pretty { serde_json::to_string_pretty(&versioned) } else { serde_json::to_string(&versioned) }
}

/// Checks the `schema_version` of a JSON document against `known` and returns it.
pub fn check_version(text: &str, origin: &str, known: &[u32]) -> Result<u32, SchemaError> {
    let parse = |e: serde_json::Error| SchemaError::Parse { origin: origin.to_owned(), message: e.to_string() };
    let version: VersionOnly = serde_json::from_str(text).map_err(parse)?;
    match version.schema_version {
        None => Err(SchemaError::Missing { origin: origin.to_owned(), known: known.to_vec() }),
        Some(found) if !known.contains(&found) => {
            Err(SchemaError::Unknown { origin: origin.to_owned(), found, known: known.to_vec() })
        }
        Some(found) => Ok(found),
    }
}

/// Reads a document `kbackup --json` printed, refusing versions outside [`READABLE_VERSIONS`].
pub fn from_json<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, SchemaError> {
    check_version(text, origin, READABLE_VERSIONS)?;
    serde_json::from_str(text).map_err(|e| SchemaError::Parse { origin: origin.to_owned(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Doc {
        records: u64,
        ratio: f64,
    }

    #[test]
    fn round_trip_carries_the_version() {
        let doc = Doc { records: 7, ratio: 2.5 };
        let text = to_json(&doc, false).unwrap();
        assert!(text.starts_with(r#"{"schema_version":2,"#), "{text}");
        assert_eq!(from_json::<Doc>(&text, "t").unwrap(), doc);
        assert_eq!(from_json::<Doc>(&to_json(&doc, true).unwrap(), "t").unwrap(), doc);
    }

    #[test]
    fn unknown_and_missing_versions_name_the_origin_and_the_known_ones() {
        let future = r#"{"schema_version":99,"records":1,"ratio":1.0}"#;
        let e = from_json::<Doc>(future, "out/summary.json").unwrap_err().to_string();
        assert!(e.contains("out/summary.json") && e.contains("99") && e.contains("[2]"), "{e}");
        let old = r#"{"records":1,"ratio":1.0}"#;
        let e = from_json::<Doc>(old, "kbackup backup --json").unwrap_err().to_string();
        assert!(e.contains("kbackup backup --json") && e.contains("no schema_version"), "{e}");
        let e = from_json::<Doc>("not json", "x").unwrap_err();
        assert!(matches!(e, SchemaError::Parse { .. }), "{e}");
    }
}
