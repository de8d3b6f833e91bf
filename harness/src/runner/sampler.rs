//! Samples a child process from /proc every 100 ms, through `procfs`: CPU (utime + stime from
//! `/proc/PID/stat`), memory and threads (`VmRSS`, `VmHWM`, `Threads` from
//! `/proc/PID/status`) and storage I/O (`read_bytes`, `write_bytes` from `/proc/PID/io`).
//!
//! CPU ticks are converted with the kernel's tick rate, `sysconf(_SC_CLK_TCK)`.
//!
//! The sampler stops when the process becomes a zombie (it has exited but is not reaped
//! yet, so its final CPU times are still readable) or disappears; the caller must
//! therefore join the sampler *before* waiting for the child.

use crate::report::{EngineMetrics, TimelinePoint};
use procfs::process::{Process, Stat, Status};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sampling period.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// Clock ticks per second of /proc CPU times.
fn clock_ticks() -> f64 {
    procfs::ticks_per_second() as f64
}

/// `(VmRSS, VmHWM, Threads)` in bytes and threads; `/proc/PID/status` counts memory in KiB.
/// No VmRSS means the process is tearing down its memory.
fn memory(status: &Status) -> (Option<u64>, u64, u64) {
    let bytes = |kib: u64| kib * 1024;
    (status.vmrss.map(bytes), status.vmhwm.map_or(0, bytes), status.threads)
}

/// Whether `/proc/PID/stat` says the process has exited (zombie) or is being torn down.
fn exited(stat: &Stat) -> bool {
    stat.state == 'Z' || stat.state == 'X'
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
    // The handle holds /proc/PID open: once the process is reaped, reads fail instead of
    // reaching a new process that reused the pid.
    let mut state = State::default();
    let Some(process) = i32::try_from(pid).ok().and_then(|pid| Process::new(pid).ok()) else { return state };
    let started = Instant::now();
    let ticks = clock_ticks();
    let mut last = (0.0f64, 0u64);
    while let Ok(stat) = process.stat() {
        // CPU times never go backwards; a zombie still reports its final totals.
        state.utime = state.utime.max(stat.utime);
        state.stime = state.stime.max(stat.stime);
        if exited(&stat) {
            break;
        }
        let t = started.elapsed().as_secs_f64();
        // No VmRSS: the process is tearing down its memory; such a sample is left out.
        let mut rss = None;
        if let Ok(status) = process.status() {
            let (vm_rss, hwm, threads) = memory(&status);
            rss = vm_rss;
            state.peak_rss = state.peak_rss.max(vm_rss.unwrap_or(0)).max(hwm);
            state.threads_max = state.threads_max.max(u32::try_from(threads).unwrap_or(u32::MAX));
        }
        if let Ok(io) = process.io() {
            state.read_bytes = state.read_bytes.max(io.read_bytes);
            state.write_bytes = state.write_bytes.max(io.write_bytes);
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
        use procfs::FromRead;
        // The command name may hold spaces and parentheses: only the last ')' ends it.
        let stat = "1234 (k b) (x)) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 9 0 100 1000 200 \
                    18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let stat = Stat::from_read(stat.as_bytes()).unwrap();
        assert_eq!((stat.comm.as_str(), stat.state, stat.utime, stat.stime), ("k b) (x)", 'S', 250, 40));
        assert!(!exited(&stat));
        let status = Status::from_read(include_str!("../../tests/fixtures/proc-status.txt").as_bytes()).unwrap();
        assert_eq!(memory(&status), (Some(1024 * 1024), 2048 * 1024, 7));
        let io =
            "rchar: 5\nwchar: 0\nsyscr: 1\nsyscw: 0\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        let io = procfs::process::Io::from_read(io.as_bytes()).unwrap();
        assert_eq!((io.read_bytes, io.write_bytes), (4096, 8192));
    }

    #[test]
    fn samples_a_child_until_it_exits() {
        // Alive for several sampling intervals even on a loaded machine (a busy loop of a fixed
        // length could end before the first sample when the cores are shared).
        let mut child = std::process::Command::new("sh").args(["-c", "sleep 0.6; exit 0"]).spawn().unwrap();
        let sampler = Sampler::start(child.id());
        let metrics = sampler.finish(false);
        child.wait().unwrap();
        assert!(!metrics.timeline.is_empty());
        // A shell's resident set is a few MiB: this catches KiB read as bytes, or the reverse.
        assert!((100 << 10..1 << 30).contains(&metrics.peak_rss_bytes), "{}", metrics.peak_rss_bytes);
        assert!(metrics.threads_max >= 1);
    }
}
