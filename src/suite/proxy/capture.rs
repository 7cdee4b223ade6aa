//! A body that streams through unchanged while the proxy keeps a bounded copy of it for judging.
//!
//! Every frame is passed on as it comes (nothing waits for the whole body); the first `keep` bytes
//! are copied. When the body ends, fails, stalls or is dropped, the copy goes to whoever judges
//! the exchange, with how it ended.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

/// Errors of a forwarded body.
pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How a body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum End {
    /// Every byte went through.
    Complete,
    /// The sender's stream broke.
    Failed(String),
    /// No byte came for the idle timeout: the body was cut.
    Stalled(Duration),
    /// The receiver stopped reading before the end (it answered early, or went away).
    Dropped,
}

/// What was kept of a body.
#[derive(Debug)]
pub(super) struct Captured {
    /// The first bytes, at most the cap.
    pub(super) bytes: Vec<u8>,
    /// How many bytes went through in all.
    pub(super) total: u64,
    /// How it ended.
    pub(super) end: End,
    /// When it ended.
    pub(super) at: Instant,
}

/// Where the copy goes when the body has ended (called once, on the task that saw the end).
pub(super) type Delivery = Box<dyn FnOnce(Captured) + Send + Sync>;

/// A body passed through unchanged, its first `keep` bytes copied.
pub(super) struct Tee<B: Body> {
    inner: B,
    kept: Vec<u8>,
    keep: usize,
    total: u64,
    idle: Duration,
    stall: Pin<Box<tokio::time::Sleep>>,
    done: Option<Delivery>,
}

impl<B: Body> Tee<B> {
    /// `inner` streamed through; at most `keep` bytes copied; a gap of `idle` between frames cuts
    /// the body (never a hang). The copy goes to `done` when the body ends.
    pub(super) fn new(inner: B, keep: usize, idle: Duration, done: Delivery) -> Tee<B> {
        Tee {
            inner,
            kept: Vec::new(),
            keep,
            total: 0,
            idle,
            stall: Box::pin(tokio::time::sleep(idle)),
            done: Some(done),
        }
    }

    fn finish(&mut self, end: End) {
        if let Some(done) = self.done.take() {
            done(Captured {
                bytes: std::mem::take(&mut self.kept),
                total: self.total,
                end,
                at: Instant::now(),
            });
        }
    }
}

impl<B> Body for Tee<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.total += data.len() as u64;
                    let room = this.keep.saturating_sub(this.kept.len());
                    this.kept.extend_from_slice(&data[..data.len().min(room)]);
                }
                let next = tokio::time::Instant::now() + this.idle;
                this.stall.as_mut().reset(next);
                // The receiver may never ask again once the body says it has ended.
                if this.inner.is_end_stream() {
                    this.finish(End::Complete);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                let e: BoxError = e.into();
                this.finish(End::Failed(e.to_string()));
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.finish(End::Complete);
                Poll::Ready(None)
            }
            Poll::Pending => match this.stall.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.finish(End::Stalled(this.idle));
                    let e = format!("no byte of the body for {:?}", this.idle);
                    Poll::Ready(Some(Err(e.into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<B: Body> Drop for Tee<B> {
    fn drop(&mut self) {
        // A body that has ended may be dropped unpolled (an empty one, or after its last frame).
        let end = match self.inner.is_end_stream() {
            true => End::Complete,
            false => End::Dropped,
        };
        self.finish(end);
    }
}
