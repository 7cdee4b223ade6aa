//! The logs of the long-running commands: `lsconform serve`'s line a request on stderr,
//! `lsconform proxy`'s line an exchange on stdout.
//!
//! Under load, the line's cost is mostly in getting it out, not in formatting it: a writer
//! thread fed line by line (a copy and a wake-up a request) cost the error path about a fifth of
//! its rate. Here each line is formatted once, straight into a shared buffer (no allocation a
//! line, no other thread woken), and the buffer goes out when it fills and at least every
//! [`FLUSH_EVERY`], and when the command ends. On a terminal each line goes out at once.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer: what someone following the log sees at worst.
pub const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// How much is gathered before it is written.
const CAPACITY: usize = 64 * 1024;

/// A log's output (stderr, stdout) behind a buffer that a background thread flushes every
/// [`FLUSH_EVERY`] (unbuffered on a terminal). Lines are never dropped: a full buffer is written
/// by the thread that fills it.
#[derive(Clone)]
pub struct LogWriter {
    out: Arc<Mutex<BufWriter<Box<dyn Write + Send>>>>,
}

/// Flushes what is left when dropped (at the end of the command).
pub struct Flush(LogWriter);

impl LogWriter {
    /// The log on stderr, and the guard that flushes it at the end.
    pub fn stderr() -> (LogWriter, Flush) {
        LogWriter::over(Box::new(io::stderr()), io::stderr().is_terminal())
    }

    /// The log on stdout (`lsconform proxy`'s line an exchange), and the guard that flushes it.
    pub fn stdout() -> (LogWriter, Flush) {
        LogWriter::over(Box::new(io::stdout()), io::stdout().is_terminal())
    }

    fn over(out: Box<dyn Write + Send>, terminal: bool) -> (LogWriter, Flush) {
        let capacity = if terminal { 0 } else { CAPACITY };
        let writer = LogWriter {
            out: Arc::new(Mutex::new(BufWriter::with_capacity(capacity, out))),
        };
        if !terminal {
            let weak = Arc::downgrade(&writer.out);
            std::thread::Builder::new()
                .name("log-flush".into())
                .spawn(move || loop {
                    std::thread::sleep(FLUSH_EVERY);
                    let Some(out) = weak.upgrade() else { return };
                    let _ = out.lock().unwrap_or_else(PoisonError::into_inner).flush();
                })
                .ok();
        }
        (writer.clone(), Flush(writer))
    }

    /// The buffer, locked while one line is written into it (lines stay whole).
    pub fn line(&self) -> Line<'_> {
        Line(self.out.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        let _ = self.0.line().flush();
    }
}

/// One line's writer: the buffer, locked.
pub struct Line<'a>(MutexGuard<'a, BufWriter<Box<dyn Write + Send>>>);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        self.line()
    }
}

/// Sets up the log: `RUST_LOG` (default `info`), colours on a terminal, through a [`LogWriter`].
/// Keep the returned guard until the command ends.
pub fn init() -> Flush {
    let (writer, flush) = LogWriter::stderr();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(writer)
        .with_timer(Utc)
        .with_ansi(io::stderr().is_terminal())
        .init();
    flush
}

/// The time of a line as tracing's default timer writes it (`2026-11-29T03:59:23.121698Z`, RFC 3339
/// in UTC with microseconds), with the date and time of the current second kept per thread: under
/// load most lines share their second, and only the microseconds are written afresh.
struct Utc;

impl FormatTime for Utc {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        thread_local! {
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let since = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let secs = since.as_secs();
        SECOND.with_borrow_mut(|(second, text)| {
            if *second != secs {
                let t = time::OffsetDateTime::from_unix_timestamp(secs as i64)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                text.clear();
                use fmt::Write as _;
                let _ = write!(
                    text,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                );
                *second = secs;
            }
            write!(w, "{text}.{:06}Z", since.subsec_micros())
        })
    }
}
