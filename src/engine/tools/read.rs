//! `read`: a file's text in UTF-8 (v6's default) or Latin-1, at most one output's worth,
//! with a note of how much more the file holds.

use std::fs;
use std::io::{self, Read};

use super::args::Args;
use super::beneath::Access;
use super::error::ToolError;
use super::limits::OUTPUT_LIMIT;
use super::sandbox::Sandbox;

/// Text shown of one file; leaves room for the note so the output cap never cuts twice.
const READ_LIMIT: usize = OUTPUT_LIMIT - 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Latin1,
}

impl Encoding {
    fn named(name: &str) -> Result<Self, ToolError> {
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Self::Utf8),
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => Ok(Self::Latin1),
            _ => Err(ToolError::Failed(format!(
                "unsupported encoding `{name}`: read supports utf-8 (the default) and latin-1 (iso-8859-1)"
            ))),
        }
    }
}

#[derive(Debug)]
pub struct Request {
    path: String,
    encoding: Encoding,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        let path = args.required_str("path")?;
        let encoding = match args.optional_str("encoding")? {
            Some(name) => Encoding::named(&name)?,
            None => Encoding::Utf8,
        };
        Ok(Self { path, encoding })
    }

    pub fn run(&self, sandbox: &Sandbox) -> Result<String, ToolError> {
        let resolved = sandbox.resolve(&self.path)?;
        let meta = match fs::metadata(&resolved) {
            Ok(meta) => meta,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(ToolError::Failed(format!("File not found: {}", self.path)));
            }
            Err(error) => return Err(ToolError::io(&self.path, error)),
        };
        if meta.is_dir() {
            return Err(ToolError::Failed(format!(
                "{} is a directory, not a file (list_dir shows its contents)",
                self.path
            )));
        }
        // Opening a FIFO or a device could block forever or never end.
        if !meta.is_file() {
            return Err(ToolError::Failed(format!(
                "{} is not a regular file",
                self.path
            )));
        }
        let mut bytes = Vec::new();
        sandbox
            .open(&resolved, Access::Read)
            .map_err(|error| ToolError::open(&self.path, error))?
            .take(READ_LIMIT as u64)
            .read_to_end(&mut bytes)
            .map_err(|error| ToolError::io(&self.path, error))?;
        let total = usize::try_from(meta.len())
            .unwrap_or(usize::MAX)
            .max(bytes.len());
        let (mut text, shown) = match self.encoding {
            Encoding::Utf8 => self.decode_utf8(bytes, total)?,
            Encoding::Latin1 => decode_latin1(&bytes),
        };
        if total == 0 {
            return Ok("(empty file)".to_owned());
        }
        if shown < total {
            text.push_str(&format!("\n[… {} more bytes not shown]", total - shown));
        }
        Ok(text)
    }

    /// The text and how many bytes of the file it shows; a char cut by the read limit is
    /// dropped, any other invalid byte is an error.
    fn decode_utf8(&self, bytes: Vec<u8>, total: usize) -> Result<(String, usize), ToolError> {
        let was_cut = bytes.len() < total;
        match String::from_utf8(bytes) {
            Ok(text) => {
                let shown = text.len();
                Ok((text, shown))
            }
            Err(error) if was_cut && error.utf8_error().error_len().is_none() => {
                let valid = error.utf8_error().valid_up_to();
                let mut bytes = error.into_bytes();
                bytes.truncate(valid);
                let text = String::from_utf8(bytes).map_err(|_| self.not_utf8(total))?;
                Ok((text, valid))
            }
            Err(_) => Err(self.not_utf8(total)),
        }
    }

    fn not_utf8(&self, total: usize) -> ToolError {
        ToolError::Failed(format!(
            "{} is not UTF-8 text; {total} bytes (pass encoding \"latin-1\" to read it byte for byte)",
            self.path
        ))
    }
}

/// Latin-1 maps each byte to the char of the same number; stops before the text outgrows
/// the read limit (bytes above 0x7f take two bytes in UTF-8).
fn decode_latin1(bytes: &[u8]) -> (String, usize) {
    let mut text = String::with_capacity(bytes.len());
    let mut shown = 0;
    for &byte in bytes {
        let c = char::from(byte);
        if text.len() + c.len_utf8() > READ_LIMIT {
            break;
        }
        text.push(c);
        shown += 1;
    }
    (text, shown)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::path::Path;
    use tempfile::TempDir;

    fn workspace() -> (TempDir, Sandbox) {
        let temp = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::new(temp.path(), true);
        (temp, sandbox)
    }

    fn read(sandbox: &Sandbox, args: Value) -> Result<String, String> {
        let args = Args::of("read", &args).map_err(|e| e.to_string())?;
        let request = Request::from_args(&args).map_err(|e| e.to_string())?;
        request.run(sandbox).map_err(|e| e.to_string())
    }

    fn put(dir: &Path, name: &str, bytes: &[u8]) {
        fs::write(dir.join(name), bytes).unwrap();
    }

    #[test]
    fn reads_utf8_text_by_default() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "hello.txt", "héllo\nwörld\n".as_bytes());
        assert_eq!(
            read(&sandbox, json!({"path": "hello.txt"})),
            Ok("héllo\nwörld\n".into())
        );
        assert_eq!(
            read(&sandbox, json!({"path": "hello.txt", "encoding": "UTF8"})),
            Ok("héllo\nwörld\n".into())
        );
    }

    #[test]
    fn reads_latin1_byte_for_byte() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "old.txt", b"caf\xe9");
        for name in ["latin-1", "iso-8859-1", "latin1", "ISO_8859_1"] {
            assert_eq!(
                read(&sandbox, json!({"path": "old.txt", "encoding": name})),
                Ok("café".into()),
                "{name}"
            );
        }
    }

    #[test]
    fn non_utf8_content_is_a_clear_error() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "old.txt", b"caf\xe9");
        assert_eq!(
            read(&sandbox, json!({"path": "old.txt"})),
            Err(
                "old.txt is not UTF-8 text; 4 bytes (pass encoding \"latin-1\" to read it byte for byte)"
                    .into()
            )
        );
    }

    #[test]
    fn other_encodings_name_the_supported_ones() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "a.txt", b"a");
        assert_eq!(
            read(&sandbox, json!({"path": "a.txt", "encoding": "cp1252"})),
            Err("unsupported encoding `cp1252`: read supports utf-8 (the default) and latin-1 (iso-8859-1)".into())
        );
    }

    #[test]
    fn missing_files_use_v6s_message() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            read(&sandbox, json!({"path": "nope/x.txt"})),
            Err("File not found: nope/x.txt".into())
        );
    }

    #[test]
    fn directories_are_refused() {
        let (temp, sandbox) = workspace();
        fs::create_dir(temp.path().join("src")).unwrap();
        assert_eq!(
            read(&sandbox, json!({"path": "src"})),
            Err("src is a directory, not a file (list_dir shows its contents)".into())
        );
    }

    #[test]
    fn paths_outside_the_working_dir_are_refused() {
        let (_temp, sandbox) = workspace();
        let err = read(&sandbox, json!({"path": "../../etc/passwd"})).unwrap_err();
        assert!(err.starts_with("path outside the working directory: ../../etc/passwd"));
    }

    #[test]
    fn empty_files_say_so() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "empty", b"");
        assert_eq!(
            read(&sandbox, json!({"path": "empty"})),
            Ok("(empty file)".into())
        );
    }

    #[test]
    fn large_files_show_the_first_part_and_count_the_rest() {
        let (temp, sandbox) = workspace();
        // Three-byte chars, so the read limit falls inside one.
        let text = "€".repeat(READ_LIMIT);
        put(temp.path(), "big.txt", text.as_bytes());
        let out = read(&sandbox, json!({"path": "big.txt"})).unwrap();
        let (shown, note) = out.split_once("\n[… ").unwrap();
        assert!(shown.chars().all(|c| c == '€'));
        assert!(shown.len() <= READ_LIMIT && shown.len() > READ_LIMIT - 3);
        assert_eq!(
            note,
            format!("{} more bytes not shown]", text.len() - shown.len())
        );
        assert!(out.len() <= OUTPUT_LIMIT);
    }

    #[test]
    fn large_latin1_files_stay_under_the_output_limit() {
        let (temp, sandbox) = workspace();
        put(temp.path(), "big.txt", &vec![0xe9; OUTPUT_LIMIT]);
        let out = read(&sandbox, json!({"path": "big.txt", "encoding": "latin-1"})).unwrap();
        let (shown, note) = out.split_once("\n[… ").unwrap();
        assert_eq!(shown.chars().count(), READ_LIMIT / 2);
        assert_eq!(
            note,
            format!("{} more bytes not shown]", OUTPUT_LIMIT - READ_LIMIT / 2)
        );
    }

    #[test]
    fn a_missing_path_parameter_is_named() {
        let (_temp, sandbox) = workspace();
        assert_eq!(
            read(&sandbox, json!({})),
            Err("missing required parameter `path`".into())
        );
    }
}
