//! The `kbackup backup --continuous` instances of a continuous phase: each started with its own
//! `--metrics-listen` port and `-v` (so its log says what the group assigned and revoked),
//! scraped once per sample together with its CPU time and resident set from /proc, and stopped
//! with SIGTERM (graceful: flush, checkpoint, leave the group) or killed with SIGKILL (a crash).

use crate::report::{InstanceRun, InstanceTick};
use crate::runner::engine::{self, EngineJob, EngineRun, RunningKbackup};
use crate::runner::group_log::Holdings;
use crate::runner::scrape::{self, Scrape};
use anyhow::{Context, Result};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one scrape may take before the instance counts as not answering.
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(900);

/// One instance.
pub struct Instance {
    /// 1 = the first started.
    pub id: u32,
    addr: SocketAddr,
    process: Option<RunningKbackup>,
    /// What its log says it holds.
    pub holdings: Holdings,
    /// Its newest successful scrape.
    pub last_scrape: Option<Scrape>,
    /// How it ended, once it did.
    pub ended: Option<Ended>,
}

/// How an instance ended.
pub struct Ended {
    /// The process's run (exit, log, /proc figures, stdout).
    pub run: EngineRun,
    /// It was killed on purpose.
    pub killed: bool,
    /// It had to be killed because a SIGTERM did not stop it in time.
    pub stop_timed_out: bool,
}

/// The log's path from the report directory (`runs/<point>-r<n>/backup-1.log`), so a report
/// copied elsewhere still names it.
fn relative_log(log: &Path) -> String {
    let parts: Vec<String> = log.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    parts[parts.len().saturating_sub(3)..].join("/")
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?)
}

impl Instance {
    /// Starts instance `id` of `config`; its log is `backup-<id>.log` in the run directory.
    pub fn start(job: &EngineJob<'_>, config: &Path, id: u32) -> Result<Instance> {
        let addr = free_addr()?;
        let holdings = Holdings::default();
        let hook_holdings = holdings.clone();
        let listen = addr.to_string();
        let args = ["backup", "--continuous", "--metrics-listen", listen.as_str(), "-v"];
        let hook: engine::LineHook = Box::new(move |line| hook_holdings.apply(line));
        let process = engine::spawn_kbackup(job, config, &format!("backup-{id}"), &args, Some(hook))?;
        Ok(Instance { id, addr, process: Some(process), holdings, last_scrape: None, ended: None })
    }

    /// Whether the process is still running.
    pub fn running(&self) -> bool {
        self.process.as_ref().is_some_and(|p| !p.exited())
    }

    /// Scrapes `/metrics` and reads the process's CPU time and resident set.
    pub fn sample(&mut self) -> InstanceTick {
        let mut tick = InstanceTick { instance: self.id, partitions: self.holdings.now(), ..InstanceTick::default() };
        if let Some(process) = &self.process
            && let Ok(p) = procfs::process::Process::new(process.pid() as i32)
        {
            if let Ok(stat) = p.stat() {
                tick.cpu_secs = (stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64;
            }
            tick.rss_bytes = p.status().ok().and_then(|s| s.vmrss).map_or(0, |kib| kib * 1024);
        }
        if let Ok(body) = scrape::fetch(self.addr, SCRAPE_TIMEOUT) {
            let s = scrape::parse(&body);
            tick.scraped = true;
            tick.records_total = s.records_total;
            tick.bytes_total = s.bytes_total;
            tick.lag_bytes = s.lag_bytes.values().sum();
            tick.lag_records = s.lag_records.values().sum();
            tick.assigned = s.assigned;
            self.last_scrape = Some(s);
        }
        tick
    }

    /// SIGKILL: a crash. Waits for the process to be gone.
    pub fn kill(&mut self) -> Result<()> {
        let Some(process) = self.process.take() else { return Ok(()) };
        process.signal("KILL")?;
        self.holdings.clear();
        self.ended = Some(Ended { run: process.wait()?, killed: true, stop_timed_out: false });
        Ok(())
    }

    /// Sends SIGTERM (a graceful stop); [`Instance::finish_stop`] waits for it.
    pub fn request_stop(&self) -> Result<()> {
        self.process.as_ref().map_or(Ok(()), |p| p.signal("TERM"))
    }

    /// Waits up to `deadline` for a requested stop, then kills the process (recorded).
    pub fn finish_stop(&mut self, deadline: Instant) -> Result<()> {
        let Some(process) = self.process.take() else { return Ok(()) };
        while !process.exited() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let stop_timed_out = !process.exited();
        if stop_timed_out {
            process.signal("KILL")?;
        }
        self.holdings.clear();
        self.ended = Some(Ended { run: process.wait()?, killed: false, stop_timed_out });
        Ok(())
    }

    /// What the report keeps about the instance.
    pub fn record(&self) -> InstanceRun {
        let Some(ended) = &self.ended else {
            return InstanceRun { instance: self.id, exit: "still running".into(), ..InstanceRun::default() };
        };
        let run = &ended.run;
        let exit = match (ended.killed, ended.stop_timed_out) {
            (true, _) => "killed (SIGKILL)".to_owned(),
            (false, true) => "did not stop in time after SIGTERM; killed".to_owned(),
            (false, false) => run.exit(),
        };
        let summary: Option<engine::RunSummary> = (run.code == Some(0)).then(|| run.parse("backup").ok()).flatten();
        InstanceRun {
            instance: self.id,
            exit,
            log: relative_log(&run.log),
            peak_rss_bytes: run.metrics.peak_rss_bytes,
            cpu_secs: run.metrics.cpu_user_secs + run.metrics.cpu_sys_secs,
            records: summary.map(|s| s.records),
        }
    }
}
