//! Configuration: read a YAML file, expand `${ENV}` references, parse strictly, resolve into a [`Plan`].

mod file;
mod plan;
mod selection;
mod topics;
mod units;

use std::path::Path;

pub use file::ConfigFile;
pub(crate) use plan::validate_backup_id;
pub use plan::{
    BackupMode, BackupPlan, Coordination, DEFAULT_GROUP_CAPTURE_INTERVAL, DEFAULT_METADATA_REFRESH,
    DEFAULT_SEGMENT_MAX_AGE, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_ZSTD_LEVEL, GroupCapturePlan, GroupRestorePlan,
    KafkaPlan, Plan, RestorePlan, Secret, StorageKind, StoragePlan, TopicFilter, ZSTD_LEVELS,
};
pub use selection::{Bounds, RecordSelection, format_timestamp, parse_timestamp};
pub use topics::{ConfigValue, Repartition, TopicConfigMode, TopicSetupPlan};
pub use units::{ByteSize, Millis, human_bytes, parse_duration, parse_size};

/// A config that cannot be used, naming the file or key and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file '{path}': {source}")]
    Read {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The YAML does not match the schema (unknown key, wrong type, bad size).
    #[error("config file '{origin}' is invalid: {message}")]
    Parse {
        /// File path or label.
        origin: String,
        /// Parser message with the location.
        message: String,
    },
    /// A `${VAR}` reference names an unset environment variable.
    #[error(
        "config references environment variable '{name}', which is not set (set it, or write ${{{name}:-default}})"
    )]
    MissingEnv {
        /// Variable name.
        name: String,
    },
    /// A key has a value that is not allowed.
    #[error("config key '{path}': {message}")]
    Invalid {
        /// Dotted key path, e.g. `backup.compression`.
        path: String,
        /// What is wrong and what is allowed.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid { path: path.into(), message: message.into() }
    }
}

/// Reads, expands, parses and resolves a config file.
pub fn load(path: &Path) -> Result<Plan, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    parse(&text, &path.display().to_string(), |name| std::env::var(name).ok())
}

/// Parses config text; `lookup` resolves `${VAR}` references (injected so tests need no process env).
pub fn parse(text: &str, origin: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Plan, ConfigError> {
    let expanded = expand_env(text, lookup)?;
    let file: ConfigFile = serde_saphyr::from_str(&expanded)
        .map_err(|e| ConfigError::Parse { origin: origin.to_string(), message: e.to_string() })?;
    Plan::resolve(file)
}

/// Expands references line by line, leaving YAML comments as written (they may mention `${VAR}`).
// Kept by hand (issue 8): shellexpand expands bare `$NAME`/`$5` too; subst wants `${VAR:default}` and `\` escapes.
fn expand_env(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (content, comment) = line.split_at(comment_start(line));
        out.push_str(&expand_line(content, &lookup)?);
        out.push_str(comment);
    }
    Ok(out)
}

/// Byte index where a YAML comment begins: `#` at the start or after whitespace, outside quotes.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return i,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    line.len()
}

/// Replaces `${NAME}` and `${NAME:-default}`; `$$` escapes a dollar sign.
fn expand_line(text: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{')
            && let Some(end) = body.find('}')
        {
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            let value = lookup(name)
                .or_else(|| default.map(str::to_string))
                .ok_or_else(|| ConfigError::MissingEnv { name: name.to_string() })?;
            out.push_str(&value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests;
