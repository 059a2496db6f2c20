//! The engine knows nothing of terminals or front ends (one crate cannot make the compiler keep
//! the seam, so this test does): no terminal crate, no `tui` or `cli` module, in `src/engine`.

use std::path::Path;

const FORBIDDEN: [&str; 6] = [
    "ratatui",
    "crossterm",
    "tui_textarea",
    "crate::tui",
    "crate::cli",
    "tzzr::cli",
];

fn rust_files(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|x| x == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn the_engine_names_no_terminal_crate_and_no_front_end() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"),
        &mut files,
    );
    assert!(files.len() > 20, "the engine's files were found");
    let offences: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            text.lines()
                .enumerate()
                .filter(|(_, line)| FORBIDDEN.iter().any(|word| line.contains(word)))
                .map(|(n, line)| format!("{}:{}: {}", file.display(), n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offences.is_empty(),
        "the engine reaches past its seam:\n{}",
        offences.join("\n")
    );
}
