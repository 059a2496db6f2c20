//! Turning YAML and validation errors into file:line:column messages, and unknown keys into
//! warnings that name the nearest known key.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::Diagnostic;
use super::locate::{KeyPath, Position, Segment, key_position, value_position};
use super::raw::{
    RawAgent, RawConfig, RawFallback, RawMcpServer, RawModel, RawProvider, RawReply, RawServer,
    RawSettings, RawStep, RawTask, RawToolCall,
};

/// How alike a typo and a known name must be (Jaro-Winkler) to be offered as "did you mean".
const SIMILAR_ENOUGH: f64 = 0.8;

impl Diagnostic {
    /// A message about `file` at `position` (line 0 when unknown).
    pub fn at(file: &Path, position: Option<Position>, message: impl Into<String>) -> Self {
        let Position { line, column } = position.unwrap_or(Position { line: 0, column: 0 });
        Self {
            file: file.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// The errors and warnings found while loading one config text, each placed in that text.
pub struct Report<'t> {
    text: &'t str,
    file: &'t Path,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl<'t> Report<'t> {
    pub fn new(text: &'t str, file: &'t Path) -> Self {
        Self {
            text,
            file,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn text(&self) -> &'t str {
        self.text
    }

    pub fn file(&self) -> &'t Path {
        self.file
    }

    /// An error about the value at `path` (placed where that value is written).
    pub fn error_at_value(&mut self, path: &KeyPath, message: impl Into<String>) {
        let diagnostic = Diagnostic::at(self.file, value_position(self.text, path), message);
        self.errors.push(diagnostic);
    }

    /// An error about the entry at `path` as a whole (placed at its key).
    pub fn error_at_key(&mut self, path: &KeyPath, message: impl Into<String>) {
        let diagnostic = Diagnostic::at(self.file, key_position(self.text, path), message);
        self.errors.push(diagnostic);
    }

    /// A warning about the entry at `path` (placed at its key).
    pub fn warn_at_key(&mut self, path: &KeyPath, message: impl Into<String>) {
        let diagnostic = Diagnostic::at(self.file, key_position(self.text, path), message);
        self.warnings.push(diagnostic);
    }

    /// Warns about a key no struct of the format knows, naming the nearest known key.
    pub fn unknown_key(&mut self, path: &KeyPath) {
        let Some(key) = path.last_key() else { return };
        let parent = path.parent();
        let known = known_keys(&parent);
        let place = if parent.is_root() {
            "at the top level".to_owned()
        } else {
            format!("in {parent}")
        };
        let hint = match nearest(key, known.iter().copied()) {
            Some(near) => format!("; did you mean `{near}`?"),
            None if known.is_empty() => String::new(),
            None => format!(" (known keys: {})", known.join(", ")),
        };
        self.warn_at_key(path, format!("unknown key `{key}` {place}{hint}"));
    }

    /// The first error in file order, or else the warnings in file order.
    pub fn finish(mut self) -> Result<Vec<Diagnostic>, Diagnostic> {
        let in_file_order = |d: &Diagnostic| (d.line == 0, d.line, d.column);
        self.errors.sort_by_key(in_file_order);
        self.warnings.sort_by_key(in_file_order);
        match self.errors.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(self.warnings),
        }
    }
}

/// The keys a mapping at `parent` may hold (empty where any key is a name, like `agents`).
pub fn known_keys(parent: &KeyPath) -> &'static [&'static str] {
    let shape: Vec<Option<&str>> = parent
        .segments()
        .iter()
        .map(|segment| match segment {
            Segment::Key(key) => Some(key.as_str()),
            Segment::Index(_) => None,
        })
        .collect();
    match shape.as_slice() {
        [] => RawConfig::KEYS,
        [Some("settings")] => RawSettings::KEYS,
        [Some("servers"), Some(_)] => RawServer::KEYS,
        [Some("mcp_servers"), Some(_)] => RawMcpServer::KEYS,
        [Some("providers"), Some(_)] => RawProvider::KEYS,
        [Some("models"), Some(_)] => RawModel::KEYS,
        [Some("agents"), Some(_)] => RawAgent::KEYS,
        [Some("agents"), Some(_), Some("script"), None] => RawReply::KEYS,
        [
            Some("agents"),
            Some(_),
            Some("script"),
            None,
            Some("tool_calls"),
            None,
        ] => RawToolCall::KEYS,
        [Some("settings"), Some("fallback"), None]
        | [Some("agents"), Some(_), Some("fallback"), None] => RawFallback::KEYS,
        [Some("tasks"), Some(_)] => RawTask::KEYS,
        [Some("tasks"), Some(_), Some("steps"), None]
        | [
            Some("tasks"),
            Some(_),
            Some("steps"),
            None,
            Some("parallel"),
            None,
        ] => RawStep::KEYS,
        _ => &[],
    }
}

/// The candidate most like `word`, if any is alike enough to be a likely typo.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let score = strsim::jaro_winkler(&word, &candidate.to_lowercase());
            (candidate, score)
        })
        .filter(|(_, score)| *score >= SIMILAR_ENOUGH)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(candidate, _)| candidate)
}

/// "; did you mean `x`?" for the nearest of `candidates`, or nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    nearest(word, candidates)
        .map(|near| format!("; did you mean `{near}`?"))
        .unwrap_or_default()
}

/// The path of an unknown key as `serde_ignored` reports it.
pub fn ignored_key_path(path: &serde_ignored::Path<'_>) -> KeyPath {
    match path {
        serde_ignored::Path::Root => KeyPath::root(),
        serde_ignored::Path::Seq { parent, index } => ignored_key_path(parent).index(*index),
        serde_ignored::Path::Map { parent, key } => ignored_key_path(parent).key(key.as_str()),
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => ignored_key_path(parent),
    }
}

/// A serde_yaml error as one line: its position, and a message without serde_yaml's own
/// " at line N column M" and with serde's "invalid type: X, expected Y" said as
/// "expected Y, found X".
pub fn yaml_error(file: &Path, error: &serde_yaml::Error, is_syntax: bool) -> Diagnostic {
    let position = error.location().filter(|l| l.line() > 0).map(|l| Position {
        line: l.line(),
        column: l.column(),
    });
    let message = without_positions(&error.to_string());
    let message = if is_syntax {
        format!("invalid YAML: {message}")
    } else {
        plain_type_error(&message)
    };
    Diagnostic::at(file, position, message)
}

fn without_positions(message: &str) -> String {
    static POSITION: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r" at (line \d+ column \d+|position \d+)").ok());
    match POSITION.as_ref() {
        Some(position) => position.replace_all(message, "").into_owned(),
        None => message.to_owned(),
    }
}

fn plain_type_error(message: &str) -> String {
    static TYPE_ERROR: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"^(?P<path>.*?: )?invalid (?:type|value): (?P<found>.+?), expected (?P<expected>.+)$",
        )
        .ok()
    });
    let Some(captures) = TYPE_ERROR.as_ref().and_then(|re| re.captures(message)) else {
        return message.to_owned();
    };
    let path = captures.name("path").map_or("", |m| m.as_str());
    let found = match &captures["found"] {
        "sequence" => "a list",
        "map" => "a mapping",
        "unit value" => "nothing (null)",
        other => other,
    };
    let expected = &captures["expected"];
    let expected = if expected.starts_with("struct ") || expected == "a map" {
        "a mapping"
    } else if expected == "a sequence" {
        "a list"
    } else {
        expected
    };
    format!("{path}expected {expected}, found {found}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn nearest_offers_a_likely_typo_and_nothing_for_an_unrelated_word() {
        assert_eq!(
            nearest("tols", RawAgent::KEYS.iter().copied()),
            Some("tools")
        );
        assert_eq!(
            nearest("Tools", RawAgent::KEYS.iter().copied()),
            Some("tools")
        );
        assert_eq!(nearest("bsh", ["bash", "read", "ssh"]), Some("bash"));
        assert_eq!(nearest("zzzz", RawAgent::KEYS.iter().copied()), None);
    }

    #[test]
    fn serde_type_errors_are_said_as_expected_then_found() {
        assert_eq!(
            plain_type_error("agents.a.tools: invalid type: string \"bash\", expected a sequence"),
            "agents.a.tools: expected a list, found string \"bash\""
        );
        assert_eq!(
            plain_type_error("agents.a: invalid type: sequence, expected struct RawAgent"),
            "agents.a: expected a mapping, found a list"
        );
        assert_eq!(plain_type_error("something else"), "something else");
    }

    #[test]
    fn serde_yaml_positions_are_taken_out_of_the_message() {
        assert_eq!(
            without_positions(
                "did not find expected key at line 3 column 1, while parsing a block mapping at line 1 column 1"
            ),
            "did not find expected key, while parsing a block mapping"
        );
    }

    #[test]
    fn every_section_knows_its_keys() {
        let path = KeyPath::root()
            .key("agents")
            .key("x")
            .key("script")
            .index(0);
        assert_eq!(known_keys(&path), RawReply::KEYS);
        assert_eq!(known_keys(&KeyPath::root().key("agents")), &[] as &[&str]);
    }
}
