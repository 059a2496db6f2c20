//! Following an agent's log file as it grows (placeholder; being written).
