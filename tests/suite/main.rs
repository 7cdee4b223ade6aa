//! The conformance suite (`lsconform run`) proven against the reference server, its named faults,
//! and servers that misbehave.

#[path = "../common/mod.rs"]
mod common;
mod faults;
mod fuzz;
mod generated;
mod grammar;
mod hostile;
mod nothing_to_judge;
mod pinned_clock;
mod reports;
mod support;
mod tls;
mod variants;
