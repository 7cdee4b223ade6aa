//! lsconform: a conformance kit for LicenseSpring's offline activation endpoint,
//! `POST /api/v4/activate_offline`.
//!
//! - [`protocol`]: the wire contract as pure functions (no I/O, no clock); everything else builds
//!   on it.
//! - [`server`]: the reference implementation of the endpoint (axum, SQLite).
//! - [`double`]: a programmable fake of the endpoint for client tests, on [`wiremock`].
//! - [`suite`]: the conformance suite, against any server.
#![warn(missing_docs)]

pub mod double;
pub mod protocol;
pub mod server;
pub mod suite;

#[doc(hidden)]
pub mod fuzzing;

/// The README's Rust examples, compiled and run as doctests so they cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
