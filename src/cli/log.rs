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

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{format, Format, FormatEvent, FormatFields, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

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
        .with_ansi(io::stderr().is_terminal())
        .event_format(Plain::new(Utc))
        .init();
    flush
}

/// tracing's full format (`format().with_timer(Utc)`), written by hand for the server's lines
/// (`lsconform::server`, whose fields are strings, numbers and `Display` values) when they are
/// written without colours, spans nor a `message` field, which is how the line a request goes to a
/// file: the same text, without the formatting machinery's cost a field. Any other line is written
/// by tracing's own.
struct Plain<T> {
    full: Format<Full, T>,
    timer: T,
}

impl<T: FormatTime + Clone> Plain<T> {
    fn new(timer: T) -> Plain<T> {
        Plain {
            full: format().with_timer(timer.clone()),
            timer,
        }
    }
}

impl<S, N, T> FormatEvent<S, N> for Plain<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    T: FormatTime,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let meta = event.metadata();
        let plain = !w.has_ansi_escapes()
            && meta.target().starts_with("lsconform::server")
            && ctx.lookup_current().is_none()
            && meta.fields().iter().all(|f| {
                f.name() != "message" && !f.name().starts_with("r#") && !f.name().starts_with("log.")
            });
        if !plain {
            return self.full.format_event(ctx, w, event);
        }
        // As tracing's: a time that cannot be had is said, not fatal.
        if self.timer.format_time(&mut w).is_err() {
            w.write_str("<unknown time>")?;
        }
        w.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        w.write_str(meta.target())?;
        w.write_str(": ")?;
        let mut fields = Fields {
            w: &mut w,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_char('\n')
    }
}

/// Writes `name=value` pairs as tracing's default fields do: a space between, values as `Debug`
/// writes them.
struct Fields<'a, 'w> {
    w: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Fields<'_, '_> {
    fn name(&mut self, field: &Field) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.w.write_char(' ')?;
        }
        self.w.write_str(field.name())?;
        self.w.write_char('=')
    }
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| {
                // What `Debug` writes of a string that needs no escape: the string, quoted.
                if value
                    .bytes()
                    .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
                {
                    self.w.write_char('"')?;
                    self.w.write_str(value)?;
                    self.w.write_char('"')
                } else {
                    write!(self.w, "{value:?}")
                }
            });
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| write!(self.w, "{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self.name(field).and_then(|()| write!(self.w, "{value:?}"));
        }
    }
}

/// The time of a line as tracing's default timer writes it (`2026-11-29T03:59:23.121698Z`, RFC 3339
/// in UTC with microseconds), with the date and time of the current second kept per thread: under
/// load most lines share their second, and only the microseconds are written afresh.
#[derive(Clone, Copy)]
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::FormatTime;
    use tracing_subscriber::fmt::MakeWriter;

    use super::Plain;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[derive(Clone, Copy)]
    struct Fixed;

    impl FormatTime for Fixed {
        fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
            w.write_str("2026-11-29T00:00:00.000001Z")
        }
    }

    /// The lines the server writes, and some it does not, through `emit`.
    fn lines(plain: bool, emit: impl Fn()) -> String {
        let out = Buffer::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(out.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::TRACE);
        if plain {
            tracing::subscriber::with_default(builder.event_format(Plain::new(Fixed)).finish(), emit);
        } else {
            tracing::subscriber::with_default(builder.with_timer(Fixed).finish(), emit);
        }
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_plain_line_is_the_text_tracing_writes() {
        let emit = || {
            let method = "POST";
            for (path, request_id) in [
                ("/api/v4/activate_offline", "-"),
                ("/a \"quoted\" \\ path", "caf\u{e9}\u{1}\u{7f}\u{1b}[31m"),
                ("", "\u{1F600}"),
            ] {
                tracing::info!(target: "lsconform::server::pipeline", %method, path, status = 400u16, code = "missing_headers", latency_us = 12u64, request_id);
                tracing::warn!(target: "lsconform::server::db", attempt = 3i64, ok = false, ratio = 0.5f64, what = ?request_id);
                tracing::error!(target: "lsconform::server", kept = 1u8, "a message {}", path);
            }
            tracing::debug!(target: "lsconform::cli::serve", listening = "somewhere");
            let span = tracing::info_span!("span", n = 1);
            let _in = span.enter();
            tracing::trace!(target: "lsconform::server::pipeline", inside = "a span");
        };
        let theirs = lines(false, emit);
        assert_eq!(lines(true, emit), theirs);
        assert_eq!(theirs.lines().count(), 11, "{theirs}");
    }
}
