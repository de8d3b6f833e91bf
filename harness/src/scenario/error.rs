//! Scenario errors: every variant names the key path that is wrong and what is allowed,
//! so a user can fix the file without reading the harness source.

use std::path::PathBuf;

/// Result alias for scenario loading.
pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;

/// A scenario file could not be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
#[error("scenario '{scenario}': {kind}")]
pub struct ScenarioError {
    /// Scenario name (from `name:` when the file got that far, else its origin).
    pub scenario: String,
    /// What went wrong and where.
    pub kind: ErrorKind,
}

/// What went wrong, with the dotted key path (e.g. `workload.payload`, `matrix.codec[2]`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The YAML is malformed or does not fit the schema (unknown key, wrong type).
    #[error("{}{message} (line {line}, column {column})", path_prefix(path))]
    Syntax {
        /// Key path serde had reached, `.` for the top level.
        path: String,
        /// The parser's description, e.g. "unknown field `foo`, expected one of ...".
        message: String,
        /// 1-based line of the problem (0 when unknown).
        line: usize,
        /// 1-based column of the problem (0 when unknown).
        column: usize,
    },
    /// A value is not one of a fixed set of names.
    #[error("{path}: unknown value '{value}' (expected one of {allowed})")]
    UnknownValue {
        /// Key path of the value.
        path: String,
        /// The value as written.
        value: String,
        /// Comma-separated allowed values.
        allowed: String,
    },
    /// A key inside a free-form mapping (matrix, targets, gate, engine) is not known.
    #[error("{path}: unknown key '{key}' (expected one of {allowed})")]
    UnknownKey {
        /// Path of the mapping holding the key.
        path: String,
        /// The key as written.
        key: String,
        /// What keys are allowed.
        allowed: String,
    },
    /// A value has the wrong shape or is out of range.
    #[error("{path}: invalid value '{value}' (expected {expected})")]
    InvalidValue {
        /// Key path of the value.
        path: String,
        /// The value as written.
        value: String,
        /// What would be accepted.
        expected: String,
    },
    /// kbackup's own config parser refuses an engine override.
    #[error("{path}: kbackup refuses '{value}': {message}")]
    Engine {
        /// Key path of the override, e.g. `engine.backup.compression` or `--set KEY=VALUE`.
        path: String,
        /// The value as written.
        value: String,
        /// kbackup's message, naming its config key and what it accepts.
        message: String,
    },
    /// A required value is not set anywhere.
    #[error("{path}: missing (expected {expected})")]
    Missing {
        /// Key path that must be set.
        path: String,
        /// What to set, and where else it could come from.
        expected: String,
    },
    /// Values are individually fine but contradict each other.
    #[error("{path}: {problem}")]
    Conflict {
        /// Key path of the later of the conflicting values.
        path: String,
        /// What contradicts what, and how to resolve it.
        problem: String,
    },
    /// A scenario file or directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn path_prefix(path: &str) -> String {
    match path {
        "" | "." => String::new(),
        _ => format!("{path}: "),
    }
}

impl ErrorKind {
    /// The key path the error is about (empty for I/O errors and top-level syntax).
    pub fn path(&self) -> &str {
        match self {
            ErrorKind::Syntax { path, .. }
            | ErrorKind::UnknownValue { path, .. }
            | ErrorKind::UnknownKey { path, .. }
            | ErrorKind::InvalidValue { path, .. }
            | ErrorKind::Engine { path, .. }
            | ErrorKind::Missing { path, .. }
            | ErrorKind::Conflict { path, .. } => path,
            ErrorKind::Io { .. } => "",
        }
    }

    pub(crate) fn invalid(path: &str, value: impl ToString, expected: impl ToString) -> Self {
        ErrorKind::InvalidValue { path: path.to_owned(), value: value.to_string(), expected: expected.to_string() }
    }

    pub(crate) fn unknown_value(path: &str, value: impl ToString, allowed: &[&str]) -> Self {
        ErrorKind::UnknownValue { path: path.to_owned(), value: value.to_string(), allowed: allowed.join(", ") }
    }

    pub(crate) fn conflict(path: &str, problem: impl ToString) -> Self {
        ErrorKind::Conflict { path: path.to_owned(), problem: problem.to_string() }
    }

    pub(crate) fn missing(path: &str, expected: impl ToString) -> Self {
        ErrorKind::Missing { path: path.to_owned(), expected: expected.to_string() }
    }
}
