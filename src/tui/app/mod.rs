//! The application state machine (being written).

pub mod state;
