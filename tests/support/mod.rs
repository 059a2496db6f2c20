//! Shared by the integration tests; each test binary uses only part of it.
#![allow(dead_code)]

pub mod harness;
pub mod peers;
