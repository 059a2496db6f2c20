//! The directory walk `glob` and `grep` share: like ripgrep's, it honours `.gitignore` (even
//! outside a git repository) and skips `.git`, but shows hidden files, in a stable order.

use std::path::Path;

use ignore::{Walk, WalkBuilder};

/// Every entry under `dir`, `dir` itself first, without following symlinks.
pub fn project_walk(dir: &Path) -> Walk {
    let mut builder = WalkBuilder::new(dir);
    builder
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(|entry| entry.file_name() != ".git");
    builder.build()
}
