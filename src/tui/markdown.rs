//! Markdown to styled, wrapped lines (placeholder; being written).
