//! Where the broker and the object store come from: started by the harness
//! ([`NativeEnv`], tansu and garage as local processes via `ci/services.sh`; or, with the
//! cargo feature `containers`, `ContainersEnv`: Kafka and MinIO on a Docker engine) or
//! already running ([`ExternalEnv`], connection details from flags or the environment).
//!
//! Either way the runner only sees [`Services`]: a bootstrap address, an S3 location and
//! credentials. Everything the runner creates in them (topics, backup ids) carries a
//! unique name, so an external cluster is never written over.

pub mod cli;
#[cfg(feature = "containers")]
pub mod containers;
mod external;
pub mod native;
pub mod wan;

#[cfg(feature = "containers")]
pub use containers::ContainersEnv;
pub use external::{ExternalArgs, ExternalEnv};
pub use native::NativeEnv;
pub use wan::WanLinks;

/// For signal handlers: stops every environment this process started (native services,
/// containers), since destructors do not run when a signal ends the process.
pub fn stop_active() {
    native::stop_active();
    #[cfg(feature = "containers")]
    containers::stop_active();
}

use crate::report::EnvKind;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Connection details of a running broker and object store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Services {
    /// Kafka bootstrap servers, `host:port,…`.
    pub bootstrap: String,
    /// S3 endpoint URL; `None` for AWS S3 itself.
    pub s3_endpoint: Option<String>,
    /// Bucket the backups go to.
    pub s3_bucket: String,
    /// S3 region.
    pub s3_region: String,
    /// Access key id; `None` leaves credentials to the default AWS chain.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Whether the broker is tansu (every fetch is held for `fetch.wait.max.ms`, and
    /// mid-log fetches misbehave): readers use 10 ms waits and the engine `rescan`s.
    pub tansu: bool,
}

impl Services {
    /// Services that nothing listens on, for unit tests that only build configs and plans.
    #[cfg(test)]
    pub(crate) fn placeholder() -> Services {
        Services {
            bootstrap: "127.0.0.1:9".into(),
            s3_endpoint: None,
            s3_bucket: "b".into(),
            s3_region: "r".into(),
            access_key_id: None,
            secret_access_key: None,
            tansu: false,
        }
    }

    /// Services from `export NAME=value` lines as printed by `ci/services.sh start`.
    pub fn from_exports(text: &str, tansu: bool) -> anyhow::Result<Services> {
        let vars = parse_exports(text);
        let get = |name: &str| vars.get(name).cloned();
        let need = |name: &str| get(name).ok_or_else(|| anyhow::anyhow!("services did not report {name}"));
        Ok(Services {
            bootstrap: need("KAFKA_BOOTSTRAP")?,
            s3_endpoint: Some(need("S3_ENDPOINT")?),
            s3_bucket: need("S3_BUCKET")?,
            s3_region: get("AWS_REGION").or_else(|| get("S3_REGION")).unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: get("AWS_ACCESS_KEY_ID"),
            secret_access_key: get("AWS_SECRET_ACCESS_KEY"),
            tansu,
        })
    }

    /// Environment variables for child processes (`kbackup`): the credentials, so they
    /// never have to be written into a config file.
    pub fn child_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("AWS_REGION", self.s3_region.clone())];
        if let Some(id) = &self.access_key_id {
            env.push(("AWS_ACCESS_KEY_ID", id.clone()));
        }
        if let Some(secret) = &self.secret_access_key {
            env.push(("AWS_SECRET_ACCESS_KEY", secret.clone()));
        }
        env
    }
}

/// `export NAME=value` lines (other lines ignored) as a map; surrounding quotes removed.
pub fn parse_exports(text: &str) -> BTreeMap<String, String> {
    (text.lines())
        .filter_map(|line| line.trim().strip_prefix("export "))
        .filter_map(|rest| rest.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned()))
        .collect()
}

/// The services a scenario runs against.
#[derive(Debug)]
pub enum Environment {
    /// Started by the harness, stopped when dropped.
    Native(NativeEnv),
    /// Already running; the harness only connects.
    External(ExternalEnv),
    /// Containers started by the harness, removed when dropped.
    #[cfg(feature = "containers")]
    Containers(ContainersEnv),
}

impl Environment {
    /// Connection details.
    pub fn services(&self) -> &Services {
        match self {
            Environment::Native(env) => env.services(),
            Environment::External(env) => env.services(),
            #[cfg(feature = "containers")]
            Environment::Containers(env) => env.services(),
        }
    }

    /// How the services were provided, for the report.
    pub fn kind(&self) -> EnvKind {
        match self {
            Environment::Native(_) => EnvKind::Native,
            Environment::External(_) => EnvKind::External,
            #[cfg(feature = "containers")]
            Environment::Containers(_) => EnvKind::Containers,
        }
    }

    /// The simulated WAN links, when the environment was started with them.
    pub fn wan(&self) -> Option<&WanLinks> {
        match self {
            Environment::Native(env) => env.wan(),
            Environment::External(_) => None,
            #[cfg(feature = "containers")]
            Environment::Containers(_) => None,
        }
    }

    /// Versions of (broker, store), when known: tansu and garage natively, the images'
    /// `name:tag` in containers.
    pub fn versions(&self) -> (Option<String>, Option<String>) {
        match self {
            Environment::Native(env) => env.versions(),
            Environment::External(_) => (None, None),
            #[cfg(feature = "containers")]
            Environment::Containers(env) => env.versions(),
        }
    }
}

/// The repository's `ci/services.sh`: `./ci/services.sh` when run from the repository
/// root, else next to this crate.
pub fn services_script() -> PathBuf {
    let local = Path::new("ci/services.sh");
    if local.is_file() {
        return local.canonicalize().unwrap_or_else(|_| local.to_owned());
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/services.sh")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_parsed() {
        let text = "export KAFKA_BOOTSTRAP=127.0.0.1:1\nnoise\nexport S3_ENDPOINT=http://127.0.0.1:2\n\
                    export S3_BUCKET=b\nexport AWS_REGION=garage\nexport AWS_ACCESS_KEY_ID='id'\n\
                    export AWS_SECRET_ACCESS_KEY=s\n";
        let services = Services::from_exports(text, true).unwrap();
        assert_eq!(services.bootstrap, "127.0.0.1:1");
        assert_eq!(services.s3_endpoint.as_deref(), Some("http://127.0.0.1:2"));
        assert_eq!(services.s3_region, "garage");
        assert_eq!(services.access_key_id.as_deref(), Some("id"));
        assert!(Services::from_exports("export S3_BUCKET=b", true).is_err());
    }
}
