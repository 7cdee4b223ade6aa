//! The reference server (`lsconform serve`) against SPEC §1–§7, over real HTTP on loopback.

mod body_cap;
#[path = "../common/mod.rs"]
mod common;
mod durability;
mod faults;
mod process;
mod rules;
mod seats;
mod state;
mod support;
mod variants;
