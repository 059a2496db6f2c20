//! Wrapping styled lines to a width (placeholder; being written).
