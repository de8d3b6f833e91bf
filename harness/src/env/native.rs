//! Native environment: tansu and garage started as local processes by
//! `ci/services.sh start` on free loopback ports with a state directory of their own,
//! so a run never collides with services someone else started on the default ports.
//!
//! The services are stopped when the [`NativeEnv`] is dropped (normal end, errors and
//! panics that unwind), and by [`stop_active`] from the harness's signal handler.

use super::Services;
use super::wan::{WanLinks, WanListeners};
use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Ports the services listen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// Kafka API (tansu).
    pub kafka: u16,
    /// S3 API (garage).
    pub s3: u16,
    /// Garage RPC.
    pub garage_rpc: u16,
    /// Garage admin API.
    pub garage_admin: u16,
}

impl Ports {
    /// Four distinct ports that were free on 127.0.0.1 a moment ago (all bound at once,
    /// then released for the services).
    pub fn free() -> Result<Ports> {
        let listeners = (0..4)
            .map(|_| TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1"))
            .collect::<Result<Vec<_>>>()?;
        let port = |i: usize| listeners[i].local_addr().map(|a| a.port());
        Ok(Ports { kafka: port(0)?, s3: port(1)?, garage_rpc: port(2)?, garage_admin: port(3)? })
    }
}

/// State directories of services started by this process and not yet stopped.
static ACTIVE: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

/// Stops every native environment this process started and has not stopped yet; for
/// signal handlers, which cannot rely on destructors running.
pub fn stop_active() {
    let active = std::mem::take(&mut *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for (script, state_dir) in active {
        let _ = run_stop(&script, &state_dir);
        let _ = std::fs::remove_dir_all(&state_dir);
    }
}

fn run_stop(script: &Path, state_dir: &Path) -> Result<()> {
    let status = Command::new("bash")
        .arg(script)
        .arg("stop")
        .env("KBACKUP_SERVICES_DIR", state_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("running {} stop", script.display()))?;
    if !status.success() {
        bail!("{} stop failed ({status})", script.display());
    }
    Ok(())
}

/// tansu and garage started by the harness.
#[derive(Debug)]
pub struct NativeEnv {
    services: Services,
    script: PathBuf,
    state_dir: PathBuf,
    ports: Ports,
    /// Proxies on the broker and S3 links (`network:` scenarios only); boxed, as two
    /// runtimes would dwarf every other environment.
    wan: Option<Box<WanLinks>>,
    /// Stop the services and delete the state directory on drop.
    owned: bool,
    stopped: bool,
}

impl NativeEnv {
    /// Starts the services with a fresh temporary state directory; they are stopped and
    /// the directory removed on drop.
    pub fn start(script: &Path) -> Result<NativeEnv> {
        Self::start_for(script, false)
    }

    /// Like [`NativeEnv::start`]; with `wan`, the broker and the S3 API are reached
    /// through [`WanLinks`] proxies (tansu advertises the Kafka proxy's port).
    pub fn start_for(script: &Path, wan: bool) -> Result<NativeEnv> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let state_dir = std::env::temp_dir().join(format!("kbh-native-{}-{nanos}", std::process::id()));
        let listeners = wan.then(WanListeners::bind).transpose().context("binding the WAN proxy ports")?;
        Self::start_with(script, &state_dir, true, listeners)
    }

    /// Starts the services with `state_dir` (wiped by the script). With `owned`, they are
    /// stopped and the directory removed on drop; without, they keep running (`env up`).
    pub fn start_in(script: &Path, state_dir: &Path, owned: bool) -> Result<NativeEnv> {
        Self::start_with(script, state_dir, owned, None)
    }

    fn start_with(script: &Path, state_dir: &Path, owned: bool, wan: Option<WanListeners>) -> Result<NativeEnv> {
        if !script.is_file() {
            bail!("services script {} not found (run from the repository root)", script.display());
        }
        // Bound while the proxy ports are held, so none of them can coincide.
        let ports = Ports::free()?;
        let advertised = match &wan {
            Some(listeners) => listeners.kafka_port().context("WAN proxy port")?,
            None => ports.kafka,
        };
        // Registered before starting: a start that fails half-way still gets stopped.
        if owned {
            ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).push((script.to_owned(), state_dir.to_owned()));
        }
        let mut env = NativeEnv {
            services: Services {
                bootstrap: String::new(),
                s3_endpoint: None,
                s3_bucket: String::new(),
                s3_region: String::new(),
                access_key_id: None,
                secret_access_key: None,
                tansu: true,
            },
            script: script.to_owned(),
            state_dir: state_dir.to_owned(),
            ports,
            wan: None,
            owned,
            stopped: false,
        };
        let output = Command::new("bash")
            .arg(script)
            .arg("start")
            .env("KBACKUP_SERVICES_DIR", state_dir)
            .env("KBACKUP_KAFKA_PORT", ports.kafka.to_string())
            .env("KBACKUP_KAFKA_ADVERTISED_PORT", advertised.to_string())
            .env("KBACKUP_S3_PORT", ports.s3.to_string())
            .env("KBACKUP_GARAGE_RPC_PORT", ports.garage_rpc.to_string())
            .env("KBACKUP_GARAGE_ADMIN_PORT", ports.garage_admin.to_string())
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        let output = match output {
            Ok(output) => output,
            Err(e) => {
                env.stop_now();
                return Err(e).with_context(|| format!("running {} start", script.display()));
            }
        };
        if !output.status.success() {
            // Stopping is left to drop (owned) or done here (not owned).
            let status = output.status;
            if !owned {
                env.stop_now();
            }
            bail!("{} start failed ({status}); see its messages above", script.display());
        }
        env.services = Services::from_exports(&String::from_utf8_lossy(&output.stdout), true)?;
        if let Some(listeners) = wan {
            let links = listeners.start(ports.kafka, ports.s3).context("starting the WAN proxies")?;
            // KAFKA_BOOTSTRAP already names the advertised (proxy) address.
            env.services.s3_endpoint = Some(links.s3_endpoint());
            env.wan = Some(Box::new(links));
        }
        Ok(env)
    }

    /// Stops services left running by `env up` in `state_dir`.
    pub fn stop_in(script: &Path, state_dir: &Path) -> Result<()> {
        run_stop(script, state_dir)
    }

    /// Connection details.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The WAN proxies, when started with them.
    pub fn wan(&self) -> Option<&WanLinks> {
        self.wan.as_deref()
    }

    /// Ports in use.
    pub fn ports(&self) -> Ports {
        self.ports
    }

    /// State directory of the services.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The `export` lines that connect a shell to these services.
    pub fn export_lines(&self) -> String {
        let s = &self.services;
        let mut out = format!("export KAFKA_BOOTSTRAP={}\n", s.bootstrap);
        if let Some(endpoint) = &s.s3_endpoint {
            out += &format!("export S3_ENDPOINT={endpoint}\n");
        }
        out += &format!("export S3_BUCKET={}\nexport AWS_REGION={}\n", s.s3_bucket, s.s3_region);
        if let Some(id) = &s.access_key_id {
            out += &format!("export AWS_ACCESS_KEY_ID={id}\n");
        }
        if let Some(secret) = &s.secret_access_key {
            out += &format!("export AWS_SECRET_ACCESS_KEY={secret}\n");
        }
        out
    }

    /// Versions of (tansu, garage): the versions `ci/services.sh` pins and installs.
    pub fn versions(&self) -> (Option<String>, Option<String>) {
        let text = std::fs::read_to_string(&self.script).unwrap_or_default();
        (pinned_version(&text, "TANSU_VERSION"), pinned_version(&text, "GARAGE_VERSION"))
    }

    /// Stops the services now (idempotent); errors are reported on stderr.
    pub fn stop_now(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|(_, dir)| dir != &self.state_dir);
        if let Err(e) = run_stop(&self.script, &self.state_dir) {
            eprintln!("warning: stopping the native services: {e:#}");
        }
        if self.owned {
            let _ = std::fs::remove_dir_all(&self.state_dir);
        }
    }
}

impl Drop for NativeEnv {
    fn drop(&mut self) {
        if self.owned {
            self.stop_now();
        }
    }
}

/// `NAME="1.2.3"` from a shell script.
fn pinned_version(script: &str, name: &str) -> Option<String> {
    (script.lines())
        .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix('='))
        .map(|v| v.split('#').next().unwrap_or_default().trim().trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let p = Ports::free().unwrap();
        let mut all = vec![p.kafka, p.s3, p.garage_rpc, p.garage_admin];
        all.dedup();
        assert_eq!(all.len(), 4);
    }

    #[test]
    fn pinned_versions() {
        let script = "TANSU_VERSION=\"0.6.0\"\nTANSU_FEATURES=\"x\"\nGARAGE_VERSION=\"2.5.0\" # pinned\n";
        assert_eq!(pinned_version(script, "TANSU_VERSION").as_deref(), Some("0.6.0"));
        assert_eq!(pinned_version(script, "GARAGE_VERSION").as_deref(), Some("2.5.0"));
        assert_eq!(pinned_version(script, "NOPE"), None);
    }
}
