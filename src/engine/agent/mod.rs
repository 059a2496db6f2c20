//! One tokio task per agent: it owns the conversation and runs turns.
