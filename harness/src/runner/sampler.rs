//! Samples a child process from /proc every 100 ms: CPU (utime + stime from
//! `/proc/PID/stat`), memory and threads (`VmRSS`, `VmHWM`, `Threads` from
//! `/proc/PID/status`) and storage I/O (`read_bytes`, `write_bytes` from `/proc/PID/io`).
//!
//! CPU ticks are converted with `getconf CLK_TCK`, read once; when `getconf` is missing
//! the Linux default of 100 ticks per second is assumed.
//!
//! The sampler stops when the process becomes a zombie (it has exited but is not reaped
//! yet, so its final CPU times are still readable) or disappears; the caller must
//! therefore join the sampler *before* waiting for the child.

use crate::report::{EngineMetrics, TimelinePoint};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sampling period.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Clock ticks per second of /proc CPU times.
pub fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// Process state and CPU ticks from the text of `/proc/PID/stat`.
pub fn parse_stat(text: &str) -> Option<(char, u64, u64)> {
    // The command name (field 2) may contain spaces and parentheses: skip to the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Fields 14 and 15 of the file are utime and stime; `fields[0]` is field 3.
    Some((state, fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

/// A `Name:  value kB` field of `/proc/PID/status` in bytes (or the bare number for
/// fields without a unit, such as `Threads`).
pub fn status_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.split(':').next() == Some(name))?;
    let mut parts = line.split(':').nth(1)?.split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    Some(if parts.next() == Some("kB") { value * 1024 } else { value })
}

/// A `name: value` field of `/proc/PID/io`.
pub fn io_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
}

#[derive(Debug, Default)]
struct State {
    peak_rss: u64,
    utime: u64,
    stime: u64,
    read_bytes: u64,
    write_bytes: u64,
    threads_max: u32,
    timeline: Vec<TimelinePoint>,
}

/// A running sampler thread.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    wake: mpsc::Sender<()>,
    handle: JoinHandle<State>,
}

impl Sampler {
    /// Starts sampling process `pid`.
    pub fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, sleeper) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || sample_loop(pid, &flag, &sleeper));
        Sampler { stop, wake, handle }
    }

    /// Waits until the process has exited (or `force` asks to stop now) and returns
    /// what was measured. Engine-specific fields are left empty.
    pub fn finish(self, force: bool) -> EngineMetrics {
        if force {
            self.stop.store(true, Ordering::SeqCst);
            let _ = self.wake.send(());
        }
        let state = self.handle.join().unwrap_or_default();
        let ticks = clock_ticks();
        EngineMetrics {
            peak_rss_bytes: state.peak_rss,
            cpu_user_secs: state.utime as f64 / ticks,
            cpu_sys_secs: state.stime as f64 / ticks,
            read_bytes: state.read_bytes,
            write_bytes: state.write_bytes,
            threads_max: state.threads_max,
            timeline: state.timeline,
            checkpoint_latency_ms: None,
            stored_bytes: None,
            compression_ratio: None,
        }
    }
}

fn sample_loop(pid: u32, stop: &AtomicBool, sleeper: &mpsc::Receiver<()>) -> State {
    let proc_dir = format!("/proc/{pid}");
    let started = Instant::now();
    let ticks = clock_ticks();
    let mut state = State::default();
    let mut last = (0.0f64, 0u64);
    let read_stat = || std::fs::read_to_string(format!("{proc_dir}/stat")).ok().as_deref().and_then(parse_stat);
    while let Some((proc_state, utime, stime)) = read_stat() {
        // CPU times never go backwards; a zombie still reports its final totals.
        state.utime = state.utime.max(utime);
        state.stime = state.stime.max(stime);
        if proc_state == 'Z' || proc_state == 'X' {
            break;
        }
        let t = started.elapsed().as_secs_f64();
        // No VmRSS: the process is tearing down its memory; such a sample is left out.
        let mut rss = None;
        if let Ok(status) = std::fs::read_to_string(format!("{proc_dir}/status")) {
            rss = status_field(&status, "VmRSS");
            let rss = rss.unwrap_or(0);
            let hwm = status_field(&status, "VmHWM").unwrap_or(0);
            state.peak_rss = state.peak_rss.max(rss).max(hwm);
            let threads = status_field(&status, "Threads").unwrap_or(0);
            state.threads_max = state.threads_max.max(u32::try_from(threads).unwrap_or(u32::MAX));
        }
        if let Ok(io) = std::fs::read_to_string(format!("{proc_dir}/io")) {
            state.read_bytes = state.read_bytes.max(io_field(&io, "read_bytes").unwrap_or(0));
            state.write_bytes = state.write_bytes.max(io_field(&io, "write_bytes").unwrap_or(0));
        }
        let cpu = state.utime + state.stime;
        let dt = t - last.0;
        if let Some(rss_bytes) = rss {
            let cpu_percent = if dt > 0.0 { cpu.saturating_sub(last.1) as f64 / ticks / dt * 100.0 } else { 0.0 };
            state.timeline.push(TimelinePoint { t_secs: t, rss_bytes, cpu_percent });
            last = (t, cpu);
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        // Sleeps one interval unless woken up to stop.
        if sleeper.recv_timeout(INTERVAL).is_ok() {
            break;
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed() {
        let stat = "1234 (k b) (x)) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 9 0 100 1000 200";
        assert_eq!(parse_stat(stat), Some(('S', 250, 40)));
        let status = "Name:\tkbackup\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t7\n";
        assert_eq!(status_field(status, "VmRSS"), Some(1024 * 1024));
        assert_eq!(status_field(status, "VmHWM"), Some(2048 * 1024));
        assert_eq!(status_field(status, "Threads"), Some(7));
        let io = "rchar: 5\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(io_field(io, "read_bytes"), Some(4096));
        assert_eq!(io_field(io, "write_bytes"), Some(8192));
    }

    #[test]
    fn samples_a_child_until_it_exits() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"])
            .spawn()
            .unwrap();
        let sampler = Sampler::start(child.id());
        let metrics = sampler.finish(false);
        child.wait().unwrap();
        assert!(!metrics.timeline.is_empty());
        assert!(metrics.peak_rss_bytes > 0);
        assert!(metrics.threads_max >= 1);
    }
}
