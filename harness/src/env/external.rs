//! External environment: a broker and an object store someone else runs. The harness
//! reads their addresses from flags or the environment and only ever creates uniquely
//! named topics and backup ids in them.

use super::Services;
use anyhow::{Result, bail};

/// Connection flags (each falls back to the variable `ci/services.sh` exports).
#[derive(Clone, Debug, Default)]
pub struct ExternalArgs {
    /// `KAFKA_BOOTSTRAP`.
    pub bootstrap: Option<String>,
    /// `S3_ENDPOINT` (unset: AWS S3).
    pub s3_endpoint: Option<String>,
    /// `S3_BUCKET`.
    pub s3_bucket: Option<String>,
    /// `AWS_REGION` / `S3_REGION` (default us-east-1).
    pub s3_region: Option<String>,
    /// The broker is tansu (10 ms fetch waits, rescan on resume).
    pub tansu: bool,
}

/// Services that were already running.
#[derive(Debug)]
pub struct ExternalEnv {
    services: Services,
}

impl ExternalEnv {
    /// Connection details from `args`, falling back to the environment.
    pub fn connect(args: ExternalArgs) -> Result<ExternalEnv> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let Some(bootstrap) = args.bootstrap.or_else(|| var("KAFKA_BOOTSTRAP")) else {
            bail!("--env external needs --bootstrap or KAFKA_BOOTSTRAP");
        };
        let Some(s3_bucket) = args.s3_bucket.or_else(|| var("S3_BUCKET")) else {
            bail!("--env external needs --s3-bucket or S3_BUCKET");
        };
        let services = Services {
            bootstrap,
            s3_endpoint: args.s3_endpoint.or_else(|| var("S3_ENDPOINT")),
            s3_bucket,
            s3_region: (args.s3_region.or_else(|| var("AWS_REGION")).or_else(|| var("S3_REGION")))
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            tansu: args.tansu,
        };
        Ok(ExternalEnv { services })
    }

    /// Connection details.
    pub fn services(&self) -> &Services {
        &self.services
    }
}
