//! `write`: creates or overwrites a file (or appends to it), making its parent directories.

use std::fs;
use std::io::Write as _;

use super::args::Args;
use super::beneath::Access;
use super::error::ToolError;
use super::sandbox::Sandbox;

#[derive(Debug)]
pub struct Request {
    path: String,
    content: String,
    append: bool,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        Ok(Self {
            path: args.required_str("path")?,
            content: args.required_str("content")?,
            append: args.flag("append")?,
        })
    }

    pub fn run(&self, sandbox: &Sandbox) -> Result<String, ToolError> {
        let resolved = sandbox.resolve(&self.path)?;
        if let Ok(meta) = fs::metadata(&resolved) {
            if meta.is_dir() {
                return Err(ToolError::Failed(format!(
                    "{} is a directory; give the path of a file",
                    self.path
                )));
            }
            // Opening a FIFO for writing blocks until someone reads it.
            if !meta.is_file() {
                return Err(ToolError::Failed(format!(
                    "{} is not a regular file",
                    self.path
                )));
            }
        }
        sandbox
            .open(
                &resolved,
                Access::Write {
                    append: self.append,
                },
            )
            .map_err(|error| ToolError::open(&self.path, error))?
            .write_all(self.content.as_bytes())
            .map_err(|error| ToolError::io(&self.path, error))?;
        let name = resolved
            .file_name()
            .map_or_else(|| self.path.clone(), |n| n.to_string_lossy().into_owned());
        let verb = if self.append { "Appended" } else { "Wrote" };
        Ok(format!("{verb} {} bytes to {name}", self.content.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use tempfile::TempDir;

    fn workspace() -> (TempDir, Sandbox) {
        let temp = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(temp.path(), true);
        (temp, sandbox)
    }

    fn write(sandbox: &Sandbox, args: Value) -> Result<String, String> {
        let args = Args::of("write", &args).map_err(|e| e.to_string())?;
        let request = Request::from_args(&args).map_err(|e| e.to_string())?;
        request.run(sandbox).map_err(|e| e.to_string())
    }

    #[test]
    fn writes_a_new_file_in_new_directories() {
        let (temp, sandbox) = workspace();
        let out = write(
            &sandbox,
            json!({"path": "a/b/notes.md", "content": "héllo"}),
        );
        assert_eq!(out, Ok("Wrote 6 bytes to notes.md".into()));
        let written = fs::read_to_string(temp.path().join("a/b/notes.md")).unwrap();
        assert_eq!(written, "héllo");
    }

    #[test]
    fn overwrites_by_default_and_appends_on_request() {
        let (temp, sandbox) = workspace();
        let file = temp.path().join("log.txt");
        fs::write(&file, "old\n").unwrap();
        write(&sandbox, json!({"path": "log.txt", "content": "one\n"})).unwrap();
        let out = write(
            &sandbox,
            json!({"path": "log.txt", "content": "two\n", "append": "true"}),
        );
        assert_eq!(out, Ok("Appended 4 bytes to log.txt".into()));
        assert_eq!(fs::read_to_string(&file).unwrap(), "one\ntwo\n");
    }

    #[test]
    fn refuses_paths_outside_the_working_dir() {
        let (_temp, sandbox) = workspace();
        let err = write(&sandbox, json!({"path": "../escape.txt", "content": "x"})).unwrap_err();
        assert!(err.starts_with("path outside the working directory: ../escape.txt"));
    }

    #[test]
    fn a_directory_swapped_for_a_symlink_mid_write_never_lets_a_write_out() {
        let (temp, sandbox) = workspace();
        let root = temp.path().canonicalize().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = root.join("d");
        let parked = root.join("d.real");
        fs::create_dir(&dir).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let target = outside.path().to_path_buf();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = fs::rename(&dir, &parked);
                    let _ = std::os::unix::fs::symlink(&target, &dir);
                    let _ = fs::remove_file(&dir);
                    let _ = fs::rename(&parked, &dir);
                }
            })
        };
        let mut written = 0;
        let mut tried = 0;
        // On a busy machine the swapper may win every race for a while: go on (within reason)
        // until some writes got through, so the race really ran through the write path.
        while tried < 6_000 || (written == 0 && tried < 200_000) {
            let path = format!("d/f{tried}.txt");
            if write(&sandbox, json!({"path": path, "content": "x"})).is_ok() {
                written += 1;
            }
            tried += 1;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        let escaped = fs::read_dir(outside.path()).unwrap().count();
        assert_eq!(escaped, 0, "{escaped} of {tried} writes landed outside");
        assert!(written > 0, "no write got through at all");
    }

    #[test]
    fn refuses_a_directory() {
        let (temp, sandbox) = workspace();
        fs::create_dir(temp.path().join("src")).unwrap();
        assert_eq!(
            write(&sandbox, json!({"path": "src", "content": "x"})),
            Err("src is a directory; give the path of a file".into())
        );
    }

    #[test]
    fn content_is_required_and_must_be_text() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            write(&sandbox, json!({"path": "a.txt"})),
            Err("missing required parameter `content`".into())
        );
        assert_eq!(
            write(&sandbox, json!({"path": "a.txt", "content": 42})),
            Err("parameter `content` must be a string".into())
        );
    }
}
