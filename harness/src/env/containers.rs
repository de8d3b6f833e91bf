//! Containers environment (cargo feature `containers`): Apache Kafka (the `apache/kafka`
//! JVM image, KRaft mode, one combined broker and controller) and MinIO, started through
//! testcontainers on a local Docker engine, with the bucket created inside MinIO.
//!
//! Both containers are removed when the [`ContainersEnv`] is dropped (normal end, errors
//! and panics that unwind), by [`stop_active`] from the harness's signal handler, and when
//! starting fails half-way. Without a reachable Docker engine, starting fails with a
//! message that says so and what to use instead.

use super::Services;
use anyhow::{Context, Result, anyhow, bail};
use std::sync::Mutex;
use testcontainers_modules::kafka::apache::{self, Kafka};
use testcontainers_modules::minio::MinIO;
use testcontainers_modules::testcontainers::core::{CmdWaitFor, ExecCommand};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, Image};

/// MinIO's S3 port inside its container.
const MINIO_S3_PORT: u16 = 9000;
/// MinIO's built-in root credentials (the image's defaults; the container is reachable
/// from this machine only, through a port Docker maps to 127.0.0.1).
const MINIO_USER: &str = "minioadmin";
const MINIO_PASSWORD: &str = "minioadmin";
/// The bucket the backups go to.
const BUCKET: &str = "kbackup-bench";

/// The running containers; shared with the signal handler, which cannot run destructors.
struct Containers {
    runtime: tokio::runtime::Runtime,
    kafka: Option<ContainerAsync<Kafka>>,
    minio: Option<ContainerAsync<MinIO>>,
}

static ACTIVE: Mutex<Option<Containers>> = Mutex::new(None);

/// Removes the containers this process started and has not removed yet; for the signal
/// handler. Errors are reported on stderr.
pub fn stop_active() {
    let taken = ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(containers) = taken {
        remove(containers);
    }
}

fn remove(containers: Containers) {
    let Containers { runtime, kafka, minio } = containers;
    runtime.block_on(async {
        if let Some(kafka) = kafka
            && let Err(e) = kafka.rm().await
        {
            eprintln!("warning: removing the Kafka container: {e}");
        }
        if let Some(minio) = minio
            && let Err(e) = minio.rm().await
        {
            eprintln!("warning: removing the MinIO container: {e}");
        }
    });
}

/// Kafka and MinIO in containers started by the harness.
#[derive(Debug)]
pub struct ContainersEnv {
    services: Services,
    versions: (String, String),
}

impl ContainersEnv {
    /// Starts both containers and creates the bucket; on any failure, whatever was
    /// started is removed before the error is returned.
    pub fn start() -> Result<ContainersEnv> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .context("starting the async runtime for testcontainers")?;
        {
            let mut active = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
            if active.is_some() {
                bail!("a containers environment is already running in this process");
            }
            *active = Some(Containers { runtime, kafka: None, minio: None });
        }
        let started = start_containers();
        match started {
            Ok(env) => Ok(env),
            Err(e) => {
                stop_active();
                Err(e)
            }
        }
    }

    /// Connection details.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Images of (Kafka, MinIO), `name:tag`.
    pub fn versions(&self) -> (Option<String>, Option<String>) {
        (Some(self.versions.0.clone()), Some(self.versions.1.clone()))
    }

    /// Removes both containers now (idempotent).
    pub fn stop_now(&mut self) {
        stop_active();
    }
}

impl Drop for ContainersEnv {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Runs `f` on the registered runtime with the registered containers.
fn with_active<T>(f: impl FnOnce(&mut Containers) -> Result<T>) -> Result<T> {
    let mut guard = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let containers = guard.as_mut().ok_or_else(|| anyhow!("the containers were stopped (interrupted?)"))?;
    f(containers)
}

fn start_containers() -> Result<ContainersEnv> {
    let kafka_image = Kafka::default().with_jvm_image();
    let versions = (format!("{}:{}", kafka_image.name(), kafka_image.tag()), {
        let minio = MinIO::default();
        format!("{}:{}", minio.name(), minio.tag())
    });
    eprintln!("[containers] starting {} (KRaft) and {}; the first run pulls the images", versions.0, versions.1);
    let bootstrap = with_active(|c| {
        let kafka = c.runtime.block_on(kafka_image.start()).map_err(docker_hint)?;
        let port = c.runtime.block_on(kafka.get_host_port_ipv4(apache::KAFKA_PORT));
        c.kafka = Some(kafka);
        Ok(format!("127.0.0.1:{}", port.context("reading Kafka's mapped port")?))
    })?;
    eprintln!("[containers] kafka: {bootstrap}");
    let endpoint = with_active(|c| {
        let minio = c.runtime.block_on(MinIO::default().start()).map_err(docker_hint)?;
        let port = c.runtime.block_on(minio.get_host_port_ipv4(MINIO_S3_PORT));
        c.minio = Some(minio);
        Ok(format!("http://127.0.0.1:{}", port.context("reading MinIO's mapped port")?))
    })?;
    with_active(|c| {
        let minio = c.minio.as_ref().ok_or_else(|| anyhow!("MinIO container missing"))?;
        c.runtime.block_on(create_bucket(minio))
    })?;
    eprintln!("[containers] s3: bucket '{BUCKET}' on {endpoint}");
    let services = Services {
        bootstrap,
        s3_endpoint: Some(endpoint),
        s3_bucket: BUCKET.to_owned(),
        s3_region: "us-east-1".to_owned(),
        access_key_id: Some(MINIO_USER.to_owned()),
        secret_access_key: Some(MINIO_PASSWORD.to_owned()),
        tansu: false,
    };
    Ok(ContainersEnv { services, versions })
}

/// Creates the bucket with the `mc` client that ships in the MinIO image.
async fn create_bucket(minio: &ContainerAsync<MinIO>) -> Result<()> {
    let script = format!(
        "mc alias set local http://127.0.0.1:{MINIO_S3_PORT} {MINIO_USER} {MINIO_PASSWORD} >/dev/null && \
         mc mb --ignore-existing local/{BUCKET}"
    );
    let command = ExecCommand::new(["sh", "-c", &script]).with_cmd_ready_condition(CmdWaitFor::exit());
    let mut result = minio.exec(command).await.context("running mc in the MinIO container")?;
    let code = result.exit_code().await.context("reading mc's exit code")?;
    if code != Some(0) {
        let stderr = result.stderr_to_vec().await.unwrap_or_default();
        bail!("creating bucket '{BUCKET}' in MinIO failed ({code:?}): {}", String::from_utf8_lossy(&stderr).trim());
    }
    Ok(())
}

/// Start-up errors name what is most likely missing: a reachable Docker engine.
fn docker_hint(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!(
        "--env containers needs a running Docker engine that this user can reach (the default \
         socket, or DOCKER_HOST): testcontainers failed with: {e}. Start Docker, or use \
         `--env native` (tansu and garage as local processes, no Docker needed)"
    )
}
