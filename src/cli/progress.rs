//! A live progress line on stderr (indicatif), for people at a terminal: only when stderr is a
//! terminal, only once the work has lasted [`SHOWN_AFTER`], never with `--quiet`. It is cleared
//! before the report is printed, so it never reaches a pipe, a CI log or a report.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Work shorter than this shows no progress at all (a line that flashes and vanishes says nothing).
pub const SHOWN_AFTER: Duration = Duration::from_secs(2);

/// The line; every method does nothing when it is not shown. Clones draw the same line.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A line in `template` (indicatif's: `{pos}`, `{len}`, `{msg}`, `{elapsed}`, …) over `len`
    /// steps, if any. Hidden when `quiet` or when stderr is not a terminal; drawn from
    /// [`SHOWN_AFTER`] on otherwise.
    pub fn new(quiet: bool, template: &str, len: Option<u64>) -> Progress {
        if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress { bar: None };
        }
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bar = ProgressBar::with_draw_target(len, ProgressDrawTarget::hidden()).with_style(style);
        let later = bar.clone();
        // A thread, not a task: the work may keep the runtime's threads busy.
        std::thread::spawn(move || {
            std::thread::sleep(SHOWN_AFTER);
            if !later.is_finished() {
                later.set_draw_target(ProgressDrawTarget::stderr());
                later.enable_steady_tick(Duration::from_millis(250));
            }
        });
        Progress { bar: Some(bar) }
    }

    /// One more step done, `what` said beside it.
    pub fn step(&self, what: &str) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(what.to_owned());
        }
    }

    /// Says `what` beside the count.
    pub fn say(&self, what: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(what);
        }
    }

    /// Clears the line, for what is printed next.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `1h 02m 03s`, `4m 05s`, `6s`: a duration for the progress line.
pub fn short(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, s) => format!("{h}h {m:02}m {s:02}s"),
    }
}
