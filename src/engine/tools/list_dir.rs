//! `list_dir`: a directory's entries as v6 printed them (`[d] name`, `[f] name`, sorted so
//! directories come first), optionally recursive, hidden entries only on request.

use std::fs;
use std::io;

use ignore::WalkBuilder;
use tokio_util::sync::CancellationToken;

use super::args::Args;
use super::error::ToolError;
use super::sandbox::Sandbox;

/// Entries shown (v6's limit).
const SHOWN_ENTRIES: usize = 200;
/// Entries collected before the walk stops, so a huge tree cannot exhaust memory or time.
const WALK_LIMIT: usize = 50_000;

#[derive(Debug)]
pub struct Request {
    path: String,
    recursive: bool,
    include_hidden: bool,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        Ok(Self {
            // v6's schema marks `path` required, but its code lists "." without one.
            path: args.optional_str("path")?.unwrap_or_else(|| ".".to_owned()),
            recursive: args.flag("recursive")?,
            include_hidden: args.flag("include_hidden")?,
        })
    }

    pub fn run(&self, sandbox: &Sandbox, stop: &CancellationToken) -> Result<String, ToolError> {
        let dir = sandbox.resolve(&self.path)?;
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(ToolError::Failed(format!(
                    "{} is not a directory",
                    self.path
                )));
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ToolError::Failed(format!(
                    "Directory not found: {}",
                    self.path
                )));
            }
            Err(error) => return Err(ToolError::io(&self.path, error)),
        }
        let mut walk = WalkBuilder::new(&dir);
        walk.standard_filters(false)
            .hidden(!self.include_hidden)
            .follow_links(false)
            .max_depth((!self.recursive).then_some(1));
        let mut lines = Vec::new();
        let mut walk_was_cut = false;
        // Unreadable entries are left out, as `ls -R` leaves out what it cannot open.
        for entry in walk.build().flatten() {
            if stop.is_cancelled() {
                return Err(ToolError::Cancelled);
            }
            if entry.depth() == 0 {
                continue;
            }
            let Ok(relative) = entry.path().strip_prefix(&dir) else {
                continue;
            };
            // Like v6, a symlink to a directory counts as a directory.
            let kind = if entry.path().is_dir() { 'd' } else { 'f' };
            lines.push(format!("[{kind}] {}", relative.display()));
            if lines.len() == WALK_LIMIT {
                walk_was_cut = true;
                break;
            }
        }
        if lines.is_empty() {
            return Ok("(empty directory)".to_owned());
        }
        lines.sort();
        let total = lines.len();
        lines.truncate(SHOWN_ENTRIES);
        let mut out = lines.join("\n");
        let more = total - lines.len();
        match (walk_was_cut, more) {
            (true, _) => out.push_str(&format!(
                "\n[… at least {more} more entries not shown; the listing stopped after {WALK_LIMIT}]"
            )),
            (false, 0) => {}
            (false, more) => out.push_str(&format!("\n[… {more} more entries not shown]")),
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
        fs::create_dir_all(root.join("src/engine")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        for file in ["README.md", ".env", "src/main.rs", "src/engine/mod.rs"] {
            fs::write(root.join(file), "x").unwrap();
        }
        let sandbox = Sandbox::new(root, true);
        (temp, sandbox)
    }

    fn list(sandbox: &Sandbox, args: Value) -> Result<String, String> {
        let args = Args::of("list_dir", &args).map_err(|e| e.to_string())?;
        let request = Request::from_args(&args).map_err(|e| e.to_string())?;
        request
            .run(sandbox, &CancellationToken::new())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn lists_the_working_dir_by_default_directories_first() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            list(&sandbox, json!({})),
            Ok("[d] src\n[f] README.md".into())
        );
    }

    #[test]
    fn lists_recursively_with_paths_relative_to_the_listed_dir() {
        let (_temp, sandbox) = workspace();
        let out = list(&sandbox, json!({"path": "src", "recursive": true}));
        assert_eq!(out, Ok("[d] engine\n[f] engine/mod.rs\n[f] main.rs".into()));
    }

    #[test]
    fn hidden_entries_only_on_request() {
        let (_temp, sandbox) = workspace();
        let out = list(&sandbox, json!({"include_hidden": "true"}));
        assert_eq!(out, Ok("[d] .git\n[d] src\n[f] .env\n[f] README.md".into()));
    }

    #[test]
    fn shows_the_first_200_entries_and_counts_the_rest() {
        let (temp, sandbox) = workspace();
        let many = temp.path().join("many");
        fs::create_dir(&many).unwrap();
        for i in 0..250 {
            fs::write(many.join(format!("f{i:03}")), "").unwrap();
        }
        let out = list(&sandbox, json!({"path": "many"})).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 201);
        assert_eq!(lines[0], "[f] f000");
        assert_eq!(lines[199], "[f] f199");
        assert_eq!(lines[200], "[… 50 more entries not shown]");
    }

    #[test]
    fn missing_directories_and_files_are_errors() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            list(&sandbox, json!({"path": "nope"})),
            Err("Directory not found: nope".into())
        );
        assert_eq!(
            list(&sandbox, json!({"path": "README.md"})),
            Err("README.md is not a directory".into())
        );
    }

    #[test]
    fn empty_directories_say_so() {
        let (temp, sandbox) = workspace();
        fs::create_dir(temp.path().join("empty")).unwrap();
        assert_eq!(
            list(&sandbox, json!({"path": "empty"})),
            Ok("(empty directory)".into())
        );
    }

    #[test]
    fn refuses_to_list_outside() {
        let (_temp, sandbox) = workspace();
        let err = list(&sandbox, json!({"path": "/"})).unwrap_err();
        assert!(err.starts_with("path outside the working directory: /"));
    }

    #[test]
    fn a_stopped_call_returns_cancelled() {
        let (_temp, sandbox) = workspace();
        let stop = CancellationToken::new();
        stop.cancel();
        let args = json!({});
        let request = Request::from_args(&Args::of("list_dir", &args).unwrap()).unwrap();
        let result = request.run(&sandbox, &stop);
        assert!(matches!(result, Err(ToolError::Cancelled)), "{result:?}");
    }
}
