//! Helpers shared by the integration test suites (`mod common;` in each file that uses them).
//! Each suite compiles its own copy and uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod process;
pub mod requests;
pub mod sdk;
pub mod strategies;
