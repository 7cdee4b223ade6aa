//! lsconform: a conformance kit for LicenseSpring's offline activation endpoint,
//! `POST /api/v4/activate_offline`.
//!
//! - [`protocol`]: the wire contract as pure functions (no I/O, no clock); everything else builds
//!   on it.
//! - [`server`]: the reference implementation of the endpoint (axum, SQLite).
//! - [`double`]: a programmable fake of the endpoint for client tests, on [`wiremock`].
//! - [`suite`]: the conformance suite, against any server.
//! - [`Clock`]: where the server and the suite read the time (the system clock, or one shifted to a
//!   chosen instant).
#![warn(missing_docs)]

mod clock;
pub mod double;
pub mod protocol;
pub mod server;
pub mod suite;

#[doc(hidden)]
pub mod fuzzing;

pub use clock::Clock;

/// Makes ring the process's rustls crypto provider, unless one is installed already.
///
/// lsconform talks to `https://` targets through reqwest with rustls and builds it without a
/// default provider (ring is the cryptography the project already uses), so every reqwest client in
/// the process needs one installed first. The suite's client and [`double::ActivationDouble`] call
/// this when they start; a test that builds a reqwest client of its own before either does calls
/// it first. Calling it again does nothing.
///
/// ```
/// lsconform::install_crypto_provider();
/// let client = reqwest::Client::new(); // would panic without a provider
/// # drop(client);
/// ```
pub fn install_crypto_provider() {
    // An error means a provider is installed already, which is all that is needed.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The README's Rust examples, compiled and run as doctests so they cannot go stale.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
