//! First-run setup, so that `cargo run --release -p harness -- scenario quick` works on a fresh
//! clone: the `kbackup` binary of the harness's own build profile (built with cargo when the harness
//! runs under `cargo run`, or when a test needs it), and tansu and garage (installed with
//! `ci/services.sh install` when missing: a one-time build of about 40 minutes on 2 cores).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// A setup step that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The command could not be started.
    #[error("could not run `{command}`")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command ran and failed.
    #[error("`{command}` failed ({status})")]
    Failed {
        /// The command line.
        command: String,
        /// Its exit status.
        status: ExitStatus,
    },
    /// The build succeeded but the binary is not where the build directory says.
    #[error("built kbackup, but {0} does not exist (pass --kbackup)")]
    NotBuilt(PathBuf),
}

/// One profile's directory of a cargo target directory (`<target dir>/<profile dir>`), where the
/// binaries of that profile are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildDir {
    /// The directory, e.g. `target/release`.
    pub dir: PathBuf,
    /// The cargo profile that builds into it (`dev` for `debug`).
    pub profile: String,
}

impl BuildDir {
    /// The build directory of an executable: its own directory, or for a test binary
    /// (`<dir>/deps/<test>-<hash>`) the directory above `deps`.
    pub fn of_executable(exe: &Path) -> Option<BuildDir> {
        let mut dir = exe.parent()?;
        if dir.file_name()? == "deps" {
            dir = dir.parent()?;
        }
        let profile = match dir.file_name()?.to_str()? {
            "debug" => "dev",
            other => other,
        };
        Some(BuildDir { dir: dir.to_owned(), profile: profile.to_owned() })
    }

    /// Where this profile's `kbackup` is.
    pub fn kbackup(&self) -> PathBuf {
        self.dir.join("kbackup")
    }

    /// The cargo command that builds this profile's `kbackup` from the workspace: target
    /// directory given explicitly, so it lands here whatever CARGO_TARGET_DIR says.
    pub fn kbackup_build(&self, cargo: &OsStr) -> Command {
        let mut command = Command::new(cargo);
        command.args(["build", "--locked", "--profile", &self.profile, "-p", "engine", "--bin", "kbackup"]);
        if let Some(target_dir) = self.dir.parent() {
            command.arg("--target-dir").arg(target_dir);
        }
        command
    }

    /// Builds (or brings up to date) this profile's `kbackup` from `workspace`; cargo's
    /// progress goes to stderr. The first build compiles the engine's dependencies
    /// (several minutes); an up-to-date one takes about a second.
    pub fn build_kbackup(&self, cargo: &OsStr, workspace: &Path) -> Result<PathBuf, SetupError> {
        let mut command = self.kbackup_build(cargo);
        command.current_dir(workspace).stdin(Stdio::null()).stdout(Stdio::null());
        let line = command_line(&command);
        eprintln!("building kbackup: {line}");
        run(&mut command, &line)?;
        let bin = self.kbackup();
        if !bin.is_file() {
            return Err(SetupError::NotBuilt(bin));
        }
        Ok(bin)
    }
}

/// Installs tansu and garage with `bash <script> install` unless `bash <script> installed`
/// says they are there; says first what it builds and roughly how long that takes. The
/// script's progress lines go to stderr.
pub fn install_services(script: &Path) -> Result<(), SetupError> {
    let mut check = Command::new("bash");
    check.arg(script).arg("installed").stdin(Stdio::null()).stderr(Stdio::inherit());
    let line = command_line(&check);
    let output = check.output().map_err(|source| SetupError::Spawn { command: line.clone(), source })?;
    if output.status.success() {
        return Ok(());
    }
    let missing = String::from_utf8_lossy(&output.stdout);
    eprintln!("first run: building the local broker and store (once; later runs start them in seconds):");
    for tool in missing.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("  {tool}");
    }
    let mut install = Command::new("bash");
    // stdout too goes to stderr: this process's stdout carries only the report directory.
    install.arg(script).arg("install").stdin(Stdio::null()).stdout(std::io::stderr());
    let line = command_line(&install);
    run(&mut install, &line)
}

fn run(command: &mut Command, line: &str) -> Result<(), SetupError> {
    let status = command.status().map_err(|source| SetupError::Spawn { command: line.to_owned(), source })?;
    if !status.success() {
        return Err(SetupError::Failed { command: line.to_owned(), status });
    }
    Ok(())
}

/// `program arg…` for messages.
fn command_line(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_dir(exe: &str) -> Option<(String, String)> {
        BuildDir::of_executable(Path::new(exe)).map(|b| (b.dir.display().to_string(), b.profile))
    }

    #[test]
    fn build_dir_of_binaries_and_test_binaries() {
        let pair = |dir: &str, profile: &str| Some((dir.to_owned(), profile.to_owned()));
        assert_eq!(build_dir("/w/target/release/harness"), pair("/w/target/release", "release"));
        assert_eq!(build_dir("/w/target/debug/harness"), pair("/w/target/debug", "dev"));
        assert_eq!(build_dir("/t/ci/deps/end_to_end-0123abcd"), pair("/t/ci", "ci"));
        assert_eq!(build_dir("/t/x86_64-unknown-linux-gnu/ci/harness"), pair("/t/x86_64-unknown-linux-gnu/ci", "ci"));
        assert_eq!(build_dir("harness"), None);
    }

    #[test]
    fn kbackup_is_built_with_the_same_profile_into_the_same_directory() {
        let build = BuildDir::of_executable(Path::new("/t/ci/harness")).unwrap();
        assert_eq!(build.kbackup(), Path::new("/t/ci/kbackup"));
        assert_eq!(
            command_line(&build.kbackup_build(OsStr::new("cargo"))),
            "cargo build --locked --profile ci -p engine --bin kbackup --target-dir /t"
        );
        let debug = BuildDir::of_executable(Path::new("/t/debug/harness")).unwrap();
        assert!(command_line(&debug.kbackup_build(OsStr::new("cargo"))).contains("--profile dev "));
    }

    #[test]
    fn install_services_reports_a_failing_install() {
        // A stand-in script: `installed` lists a missing tool and fails, `install` fails.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("services.sh");
        std::fs::write(&script, "case $1 in installed) echo 'tansu 0.6.0'; exit 1;; install) exit 3;; esac\n").unwrap();
        let err = install_services(&script).unwrap_err();
        assert!(
            matches!(&err, SetupError::Failed { command, status } if command.ends_with("services.sh install") && status.code() == Some(3)),
            "{err:?}"
        );
        std::fs::write(&script, "case $1 in installed) exit 0;; install) exit 3;; esac\n").unwrap();
        install_services(&script).unwrap();
    }
}
