//! Live progress of a phase on stderr: a bar (or, without a known total, a spinner) with
//! the bytes done and the MB/s so far, redrawn five times a second.
//!
//! Drawn only when stderr is a terminal; in CI logs and pipes nothing is drawn and each
//! phase stays the one line the runner prints when it ends. The bytes come from live
//! counters — the load generator's [`crate::load::LIVE_BYTES`] or the JSON progress lines
//! of `kbackup --progress-json` ([`crate::runner::engine::LIVE_BYTES`]) — and are for the
//! eye only: results use the figures measured when the phase ends.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Redraw period.
const TICK: Duration = Duration::from_millis(200);

/// The live text after the bar: bytes done, and MB/s (10^6 bytes) over `secs`.
pub fn live_message(bytes: u64, secs: f64) -> String {
    let rate = if secs > 0.0 { bytes as f64 / 1e6 / secs } else { 0.0 };
    format!("{:.1} MB · {rate:.1} MB/s", bytes as f64 / 1e6)
}

/// Where a phase's bytes are counted.
#[derive(Clone, Copy, Debug)]
pub enum Counter {
    /// A process-wide counter; the bar shows what it gained since the phase started.
    Live(&'static AtomicU64),
    /// Nothing to count (e.g. `verify`): a spinner with the elapsed time.
    None,
}

/// The bar of one running phase; [`PhaseProgress::finish`] removes it.
pub struct PhaseProgress {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl PhaseProgress {
    /// Starts the bar for `label` (e.g. `[default 1/3] backup`); `total` is the bytes the
    /// phase is expected to move, when known.
    pub fn start(label: &str, total: Option<u64>, counter: Counter) -> PhaseProgress {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return PhaseProgress { bar: ProgressBar::hidden(), stop, ticker: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() && !matches!(counter, Counter::None) {
            "{prefix} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}"
        } else {
            "{prefix} [{elapsed_precise}] {spinner} {msg}"
        };
        bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
        bar.set_prefix(label.to_owned());
        let ticker = {
            let (bar, stop) = (bar.clone(), Arc::clone(&stop));
            std::thread::spawn(move || tick(&bar, counter, &stop))
        };
        PhaseProgress { bar, stop, ticker: Some(ticker) }
    }

    /// Removes the bar (the runner then prints the phase's result line).
    pub fn finish(mut self) {
        self.stop_ticker();
        self.bar.finish_and_clear();
    }

    fn stop_ticker(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// A phase that ends with an error still takes its bar down.
impl Drop for PhaseProgress {
    fn drop(&mut self) {
        self.stop_ticker();
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

fn tick(bar: &ProgressBar, counter: Counter, stop: &AtomicBool) {
    let started = Instant::now();
    let base = match counter {
        Counter::Live(c) => c.load(Ordering::Relaxed),
        Counter::None => 0,
    };
    while !stop.load(Ordering::SeqCst) {
        match counter {
            Counter::Live(c) => {
                let done = c.load(Ordering::Relaxed).saturating_sub(base);
                bar.set_message(live_message(done, started.elapsed().as_secs_f64()));
                bar.set_position(done);
            }
            Counter::None => bar.tick(),
        }
        std::thread::sleep(TICK);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_rate_is_bytes_over_time() {
        assert_eq!(live_message(50_000_000, 2.0), "50.0 MB · 25.0 MB/s");
        assert_eq!(live_message(0, 0.0), "0.0 MB · 0.0 MB/s");
    }

    #[test]
    fn hidden_without_a_terminal() {
        // Test runs capture stderr, so nothing may be drawn and no ticker may run.
        static C: AtomicU64 = AtomicU64::new(0);
        let p = PhaseProgress::start("x", Some(10), Counter::Live(&C));
        if !std::io::stderr().is_terminal() {
            assert!(p.bar.is_hidden() && p.ticker.is_none());
        }
        p.finish();
    }
}
