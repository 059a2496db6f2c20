//! Cleaning text from models and tools before it is drawn (placeholder; being written).
