//! The headless front end: v6's flags, answers streamed to stdout, progress and errors to stderr,
//! or JSON Lines of the engine's events with `--json`.

pub mod args;
pub mod headless;
pub mod print;
pub mod sessions;
