//! The activation double (`lsconform::double`) tested as a client would use it: a small client
//! (reqwest and the protocol's request builder) against a double on loopback.

mod admin;
mod answers;
#[path = "../common/mod.rs"]
mod common;
mod expectations;
mod faults;
mod journal;
mod memory;
mod parity;
mod standalone;
mod suite;
mod support;
