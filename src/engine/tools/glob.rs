//! `glob`: files and directories whose path under `base_dir` matches a pattern (`*` stays in
//! one directory, `**` crosses them, as in v6's pathlib), listed relative to the working dir.

use std::fs;
use std::path::Path;

use globset::GlobBuilder;
use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::error::ToolError;
use super::sandbox::Sandbox;
use super::walk::project_walk;

/// Paths shown (v6's limit).
const SHOWN_PATHS: usize = 100;

#[derive(Debug)]
pub struct Request {
    pattern: String,
    base_dir: Option<String>,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        Ok(Self {
            pattern: args.required_str("pattern")?,
            base_dir: args.optional_str("base_dir")?,
        })
    }

    pub fn run(&self, sandbox: &Sandbox, stop: &CancellationToken) -> Result<String, ToolError> {
        let pattern = self.pattern.trim();
        if pattern.is_empty() {
            return Err(ToolError::Failed("Empty pattern".to_owned()));
        }
        if Path::new(pattern).is_absolute() {
            return Err(ToolError::Failed(format!(
                "glob patterns are relative to base_dir; got the absolute pattern {pattern}"
            )));
        }
        let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
        let matcher = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|error| ToolError::Failed(format!("invalid glob pattern: {error}")))?
            .compile_matcher();
        let base = match &self.base_dir {
            Some(base_dir) => {
                let base = sandbox.resolve(base_dir)?;
                if !fs::metadata(&base).is_ok_and(|meta| meta.is_dir()) {
                    return Err(ToolError::Failed(format!(
                        "Directory not found: {base_dir}"
                    )));
                }
                base
            }
            None => sandbox.root().to_path_buf(),
        };
        let mut found = Vec::new();
        for entry in project_walk(&base).flatten() {
            if stop.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            let Ok(relative) = entry.path().strip_prefix(&base) else {
                continue;
            };
            if entry.depth() > 0 && matcher.is_match(relative) {
                found.push(sandbox.display(entry.path()));
            }
        }
        found.sort();
        let total = found.len();
        found.truncate(SHOWN_PATHS);
        let mut out = format!("Found {total} files:\n{}", found.join("\n"));
        if total > found.len() {
            out.push_str(&format!(
                "\n[… {} more files not shown]",
                total - found.len()
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::{Value, json};
    use tempfile::TempDir;

    fn workspace() -> (TempDir, Sandbox) {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path();
        for dir in ["src/engine", "target/debug", ".git", "docs"] {
            fs::create_dir_all(root.join(dir)).unwrap();
        }
        for file in [
            "main.py",
            "src/lib.rs",
            "src/engine/mod.rs",
            "src/.hidden.rs",
            "target/debug/build.rs",
            ".git/config.rs",
            "docs/guide.md",
        ] {
            fs::write(root.join(file), "x").unwrap();
        }
        fs::write(root.join(".gitignore"), "target/\n").unwrap();
        let sandbox = Sandbox::new(root, true);
        (temp, sandbox)
    }

    fn glob(sandbox: &Sandbox, args: Value) -> Result<String, String> {
        let args = Args::of("glob", &args).map_err(|e| e.to_string())?;
        let request = Request::from_args(&args).map_err(|e| e.to_string())?;
        request
            .run(sandbox, &CancellationToken::new())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn double_star_finds_files_at_any_depth_honouring_gitignore_and_skipping_git() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            glob(&sandbox, json!({"pattern": "**/*.rs"})),
            Ok("Found 3 files:\nsrc/.hidden.rs\nsrc/engine/mod.rs\nsrc/lib.rs".into())
        );
    }

    #[test]
    fn single_star_stays_in_one_directory() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            glob(&sandbox, json!({"pattern": "*.py"})),
            Ok("Found 1 files:\nmain.py".into())
        );
        assert_eq!(
            glob(&sandbox, json!({"pattern": "./src/*"})),
            Ok("Found 3 files:\nsrc/.hidden.rs\nsrc/engine\nsrc/lib.rs".into())
        );
    }

    #[test]
    fn base_dir_narrows_the_search_but_paths_stay_relative_to_the_working_dir() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            glob(
                &sandbox,
                json!({"pattern": "*.rs", "base_dir": "src/engine"})
            ),
            Ok("Found 1 files:\nsrc/engine/mod.rs".into())
        );
    }

    #[test]
    fn no_match_is_found_zero() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            glob(&sandbox, json!({"pattern": "**/*.java"})),
            Ok("Found 0 files:\n".into())
        );
    }

    #[test]
    fn shows_the_first_100_and_counts_the_rest() {
        let (temp, sandbox) = workspace();
        let many = temp.path().join("many");
        fs::create_dir(&many).unwrap();
        for i in 0..130 {
            fs::write(many.join(format!("f{i:03}.txt")), "").unwrap();
        }
        let out = glob(&sandbox, json!({"pattern": "many/*.txt"})).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "Found 130 files:");
        assert_eq!(lines[1], "many/f000.txt");
        assert_eq!(lines[100], "many/f099.txt");
        assert_eq!(lines[101], "[… 30 more files not shown]");
        assert_eq!(lines.len(), 102);
    }

    #[test]
    fn patterns_climbing_out_find_nothing_outside() {
        let (temp, sandbox) = workspace();
        let outside = temp.path().parent().unwrap();
        assert!(
            fs::read_dir(outside).unwrap().count() > 1,
            "a sibling to find"
        );
        for pattern in ["../*", "../**/*", "**/../../*", "src/../../*", "./../*"] {
            assert_eq!(
                glob(&sandbox, json!({"pattern": pattern})),
                Ok("Found 0 files:\n".into()),
                "{pattern}"
            );
        }
        let err = glob(&sandbox, json!({"pattern": "*", "base_dir": "src/../.."})).unwrap_err();
        assert!(
            err.starts_with("path outside the working directory"),
            "{err}"
        );
    }

    #[test]
    fn bad_patterns_and_bad_base_dirs_are_errors() {
        let (_temp, sandbox) = workspace();
        let err = glob(&sandbox, json!({"pattern": "src/[a"})).unwrap_err();
        assert!(err.starts_with("invalid glob pattern: "), "{err}");
        assert_eq!(
            glob(&sandbox, json!({"pattern": "*", "base_dir": "nope"})),
            Err("Directory not found: nope".into())
        );
        let err = glob(&sandbox, json!({"pattern": "*", "base_dir": ".."})).unwrap_err();
        assert!(
            err.starts_with("path outside the working directory: .."),
            "{err}"
        );
        let err = glob(&sandbox, json!({"pattern": "/etc/*"})).unwrap_err();
        assert!(err.starts_with("glob patterns are relative"), "{err}");
    }
}
