//! The rooms of the crate do not lean on each other (one crate cannot make the compiler keep
//! them apart, so this test does): the engine names no terminal crate and no front end; the TUI
//! and the headless CLI never reach into each other (what both need lives in the engine or in a
//! module of its own, such as `report`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|x| x == "rs") {
            found.push(path);
        }
    }
}

/// Every line under `src/<room>` that names one of `forbidden`, as `file:line: text`.
fn offences(room: &str, forbidden: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(room),
        &mut files,
    );
    assert!(files.len() >= 3, "the files of src/{room} were found");
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            text.lines()
                .enumerate()
                .filter(|(_, line)| forbidden.iter().any(|word| line.contains(word)))
                .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_engine_names_no_terminal_crate_and_no_front_end() {
    let found = offences(
        "engine",
        &[
            "ratatui",
            "crossterm",
            "tui_textarea",
            "crate::tui",
            "crate::cli",
            "tzzr::cli",
            "tzzr::tui",
        ],
    );
    assert!(
        found.is_empty(),
        "the engine reaches past its seam:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_tui_never_reaches_into_the_headless_cli() {
    let found = offences("tui", &["crate::cli", "tzzr::cli", "super::cli"]);
    assert!(
        found.is_empty(),
        "the TUI uses the CLI's code; move what both need to the engine or a shared module:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_headless_cli_never_reaches_into_the_tui() {
    let found = offences(
        "cli",
        &[
            "crate::tui",
            "tzzr::tui",
            "super::tui",
            "ratatui",
            "crossterm",
        ],
    );
    assert!(
        found.is_empty(),
        "the CLI uses the TUI's code; move what both need to the engine or a shared module:\n{}",
        found.join("\n")
    );
}
