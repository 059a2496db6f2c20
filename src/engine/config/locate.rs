//! Finds where a key or a value sits in the config text, for the messages serde_yaml gives no
//! position for (unknown keys, validation errors). Best effort, by indentation: block mappings,
//! block lists and one-line flow collections; `None` when it cannot tell. Never panics.

use std::fmt;

/// One step of a path into the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A path into the document, like `agents.coder.tools[1]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Segment>);

impl KeyPath {
    pub fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        Self(segments)
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path without its last step (the root stays the root).
    pub fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        Self(segments)
    }

    /// The last step's key, if it is a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            Some(Segment::Index(_)) | None => None,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where the last key of `path` is written (for an index: where the item starts).
pub fn key_position(text: &str, path: &KeyPath) -> Option<Position> {
    walk(text, path).map(|found| found.at)
}

/// Where the value at `path` starts; the key's position when the value is empty.
pub fn value_position(text: &str, path: &KeyPath) -> Option<Position> {
    walk(text, path).map(|found| found.value.first().map_or(found.at, Line::position))
}

/// Every line where the last key of `path` is written in its block mapping, in order: more than
/// one when a name is given twice. Empty when the place cannot be told.
pub fn key_lines(text: &str, path: &KeyPath) -> Vec<usize> {
    let Some(key) = path.last_key() else {
        return Vec::new();
    };
    let Some(parent) = walk(text, &path.parent()) else {
        return Vec::new();
    };
    let Some(indent) = parent.value.first().map(|line| line.column) else {
        return Vec::new();
    };
    parent
        .value
        .iter()
        .filter(|line| line.column == indent && key_end(line.text, key).is_some())
        .map(|line| line.number)
        .collect()
}

/// A line of content (not blank, not a comment), or the rest of a line after `key:` or `- `.
#[derive(Clone, Copy, Debug)]
struct Line<'t> {
    /// 1-based.
    number: usize,
    /// 0-based, in characters: where `text` starts.
    column: usize,
    text: &'t str,
}

impl Line<'_> {
    fn position(&self) -> Position {
        Position {
            line: self.number,
            column: self.column + 1,
        }
    }

    fn is_list_item(&self) -> bool {
        self.text == "-" || self.text.starts_with("- ")
    }
}

/// What a step of the walk found: where its key (or item) is, and the lines of its value.
struct Found<'t> {
    at: Position,
    value: Vec<Line<'t>>,
}

fn walk<'t>(text: &'t str, path: &KeyPath) -> Option<Found<'t>> {
    let mut found = Found {
        at: Position { line: 1, column: 1 },
        value: content_lines(text),
    };
    for segment in path.segments() {
        found = match segment {
            Segment::Key(key) => find_key(&found.value, key)?,
            Segment::Index(index) => find_item(&found.value, *index)?,
        };
    }
    Some(found)
}

fn content_lines(text: &str) -> Vec<Line<'_>> {
    text.lines()
        .enumerate()
        .filter_map(|(i, raw)| {
            let text = raw.trim_start_matches(' ').trim_end();
            let column = raw.len() - raw.trim_start_matches(' ').len();
            let is_marker = column == 0
                && (text.starts_with("---") || text.starts_with("...") || text.starts_with('%'));
            let is_noise = text.is_empty() || text.starts_with('#') || is_marker;
            (!is_noise).then_some(Line {
                number: i + 1,
                column,
                text,
            })
        })
        .collect()
}

/// The entry `key` of the mapping made of `lines` (block or one-line flow).
fn find_key<'t>(lines: &[Line<'t>], key: &str) -> Option<Found<'t>> {
    let first = lines.first()?;
    if first.text.starts_with('{') {
        return find_flow_key(first, key);
    }
    let indent = first.column;
    let (i, line, rest_offset) = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.column == indent)
        .find_map(|(i, line)| key_end(line.text, key).map(|offset| (i, line, offset)))?;
    let mut value = Vec::new();
    if let Some(inline) = inline_value(line, rest_offset) {
        value.push(inline);
    }
    // A list may sit at the key's own indentation (`tools:\n- bash`).
    let may_hold_own_list = value.is_empty();
    value.extend(lines[i + 1..].iter().take_while(|next| {
        next.column > indent || (may_hold_own_list && next.column == indent && next.is_list_item())
    }));
    Some(Found {
        at: line.position(),
        value,
    })
}

/// The item `index` of the list made of `lines` (block or one-line flow).
fn find_item<'t>(lines: &[Line<'t>], index: usize) -> Option<Found<'t>> {
    let first = lines.first()?;
    if first.text.starts_with('[') {
        return find_flow_item(first, index);
    }
    let indent = first.column;
    let (i, line) = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.column == indent && line.is_list_item())
        .nth(index)?;
    let mut value = Vec::new();
    let after_dash = &line.text[1..];
    let content = after_dash.trim_start_matches(' ');
    if !content.is_empty() && !content.starts_with('#') {
        value.push(Line {
            number: line.number,
            column: line.column + 1 + (after_dash.len() - content.len()),
            text: content,
        });
    }
    value.extend(
        lines[i + 1..]
            .iter()
            .take_while(|next| next.column > indent),
    );
    Some(Found {
        at: line.position(),
        value,
    })
}

/// The byte offset just past `key:` when `text` starts with that key (plain or quoted).
fn key_end(text: &str, key: &str) -> Option<usize> {
    [key.to_owned(), format!("\"{key}\""), format!("'{key}'")]
        .iter()
        .find_map(|written| {
            let rest = text.strip_prefix(written.as_str())?;
            let after_spaces = rest.trim_start_matches(' ');
            let after_colon = after_spaces.strip_prefix(':')?;
            let is_key = after_colon.is_empty() || after_colon.starts_with([' ', '\t']);
            is_key.then(|| text.len() - after_colon.len())
        })
}

/// The value written on the key's own line, if any (an anchor or tag alone does not count).
fn inline_value<'t>(line: &Line<'t>, offset: usize) -> Option<Line<'t>> {
    let rest = line.text.get(offset..)?;
    let mut content = rest.trim_start();
    if content.starts_with(['&', '!']) {
        let token_end = content.find([' ', '\t']).unwrap_or(content.len());
        let after_token = content[token_end..].trim_start();
        if after_token.is_empty() || after_token.starts_with('#') {
            return None;
        }
        content = after_token;
    }
    if content.is_empty() || content.starts_with('#') {
        return None;
    }
    let skipped = line.text.len() - content.len();
    Some(Line {
        number: line.number,
        column: line.column + line.text[..skipped].chars().count(),
        text: content,
    })
}

/// The entries of a one-line flow collection (`[a, b]` or `{k: v}`): each entry's start offset
/// (bytes, after leading spaces) and text.
fn flow_entries(text: &str) -> Vec<(usize, &str)> {
    let mut entries = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut start = 1;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    entries.push((start, &text[start..i]));
                    break;
                }
            }
            (None, ',') if depth == 1 => {
                entries.push((start, &text[start..i]));
                start = i + 1;
            }
            (None, _) => {}
        }
    }
    entries
        .into_iter()
        .map(|(start, entry)| {
            let trimmed = entry.trim_start();
            (start + entry.len() - trimmed.len(), trimmed.trim_end())
        })
        .filter(|(_, entry)| !entry.is_empty())
        .collect()
}

fn flow_line<'t>(line: &Line<'t>, offset: usize, text: &'t str) -> Line<'t> {
    Line {
        number: line.number,
        column: line.column + line.text.get(..offset).map_or(0, |s| s.chars().count()),
        text,
    }
}

fn find_flow_item<'t>(line: &Line<'t>, index: usize) -> Option<Found<'t>> {
    let (offset, entry) = flow_entries(line.text).into_iter().nth(index)?;
    let item = flow_line(line, offset, entry);
    Some(Found {
        at: item.position(),
        value: vec![item],
    })
}

fn find_flow_key<'t>(line: &Line<'t>, key: &str) -> Option<Found<'t>> {
    flow_entries(line.text)
        .into_iter()
        .find_map(|(offset, entry)| {
            let end = key_end(entry, key)?;
            let at = flow_line(line, offset, entry);
            let value = inline_value(&at, end).into_iter().collect();
            Some(Found {
                at: at.position(),
                value,
            })
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn path(text: &str) -> KeyPath {
        let mut path = KeyPath::root();
        for part in text.split('.') {
            path = match part.parse::<usize>() {
                Ok(index) => path.index(index),
                Err(_) => path.key(part),
            };
        }
        path
    }

    fn at(line: usize, column: usize) -> Option<Position> {
        Some(Position { line, column })
    }

    const DOC: &str = "\
# comment
settings:
  timeout: 300   # seconds

agents:
  coder:
    role: |
      tools: not a key, part of the role
    tools:
      - read
      - bsh
    servers: [prod, 'stage']
  other: &base
    tools:
    - write
tasks:
  deploy:
    steps:
      - agent: coder
        prompt: go
      - {agent: ghost, prompt: \"x\"}
";

    #[test]
    fn keys_are_found_under_their_parent_only() {
        assert_eq!(key_position(DOC, &path("settings.timeout")), at(3, 3));
        assert_eq!(key_position(DOC, &path("agents.coder.tools")), at(9, 5));
        assert_eq!(key_position(DOC, &path("agents.other.tools")), at(14, 5));
        assert_eq!(key_position(DOC, &path("agents.coder.model")), None);
    }

    #[test]
    fn values_are_found_inline_in_block_lists_and_in_flow_lists() {
        assert_eq!(value_position(DOC, &path("settings.timeout")), at(3, 12));
        assert_eq!(
            value_position(DOC, &path("agents.coder.tools.1")),
            at(11, 9)
        );
        assert_eq!(
            value_position(DOC, &path("agents.coder.servers.1")),
            at(12, 21)
        );
        assert_eq!(
            value_position(DOC, &path("agents.other.tools.0")),
            at(15, 7)
        );
    }

    #[test]
    fn keys_inside_list_items_and_flow_mappings_are_found() {
        assert_eq!(
            value_position(DOC, &path("tasks.deploy.steps.0.agent")),
            at(19, 16)
        );
        assert_eq!(
            value_position(DOC, &path("tasks.deploy.steps.1.agent")),
            at(21, 17)
        );
        assert_eq!(
            value_position(DOC, &path("tasks.deploy.steps.1.prompt")),
            at(21, 32)
        );
    }

    #[test]
    fn odd_input_gives_no_position_rather_than_a_panic() {
        for text in [
            "",
            "-",
            "a:",
            "a: [",
            "a: {b",
            "\t- x",
            "é: [ü, \"ß",
            "- - -\n  - :",
        ] {
            let _ = key_position(text, &path("a.b.0.c"));
            let _ = value_position(text, &path("a.0.0"));
        }
        assert_eq!(value_position("é: [ü, ß]", &path("é.1")), at(1, 8));
    }

    #[test]
    fn paths_print_like_serde_yaml_paths() {
        assert_eq!(
            path("agents.coder.script.0.text").to_string(),
            "agents.coder.script[0].text"
        );
    }
}
