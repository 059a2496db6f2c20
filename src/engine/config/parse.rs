//! Reading the text into the raw structs: serde with every unknown key collected (and, when that
//! fails, a syntax pass so that a YAML mistake is reported as one), and YAML merge keys (`<<`) applied as
//! PyYAML applied them.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::Diagnostic;
use super::diagnose::{Report, ignored_key_path, yaml_error};
use super::locate::{KeyPath, key_lines};
use super::raw::{DEFINED_TWICE, RawConfig};

/// The merge key of YAML 1.1 (`<<: *defaults`), which serde_yaml does not apply by itself.
const MERGE_KEY: &str = "<<";

/// The deepest nesting of flow collections (`[[[…]]]`, `{a: {b: …}}`) read. serde_yaml refuses
/// more than 128 levels anyway, but only after its parser has spent time quadratic in the depth
/// (200 KB of `[` took over 30 s): deeper text is refused before it is parsed.
pub const MAX_FLOW_DEPTH: usize = 128;

/// Unknown keys reported one by one; the rest are counted.
const MAX_UNKNOWN_KEYS: usize = 20;

/// The raw config in `report`'s text; unknown keys become warnings in `report`.
pub fn parse(report: &mut Report<'_>) -> Result<RawConfig, Diagnostic> {
    let text = report.text();
    let file = report.file();
    if let Some(line) = too_deep_at(text) {
        return Err(Diagnostic::at(
            file,
            Some(super::locate::Position { line, column: 1 }),
            format!(
                "lists or mappings nest more than {MAX_FLOW_DEPTH} levels deep; a config needs a few"
            ),
        ));
    }
    if is_empty_document(text) {
        // PyYAML reads an empty file as None, which v6 turned into `{}`.
        return Ok(RawConfig::default());
    }
    let mut unknown = Vec::new();
    let parsed: Result<Option<RawConfig>, _> =
        serde_ignored::deserialize(serde_yaml::Deserializer::from_str(text), |path| {
            unknown.push(ignored_key_path(&path));
        });
    let mut raw = match parsed {
        Ok(raw) => raw,
        Err(error) => {
            // Only a failed file pays for the syntax pass that tells a YAML mistake from a
            // wrong value.
            IgnoredAny::deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(|syntax| yaml_error(file, &syntax, true))?;
            let diagnostic = yaml_error(file, &error, false);
            return Err(with_both_lines(text, diagnostic));
        }
    };

    if unknown
        .iter()
        .any(|path| path.last_key() == Some(MERGE_KEY))
    {
        unknown.clear();
        raw = parse_merged(text, file, &mut unknown)?;
    }
    // Each warning searches the text for its key: a file of a hundred thousand unknown keys
    // must not cost a hundred thousand searches.
    for path in unknown.iter().take(MAX_UNKNOWN_KEYS) {
        report.unknown_key(path);
    }
    if unknown.len() > MAX_UNKNOWN_KEYS {
        report.warn_at_key(
            &KeyPath::root(),
            format!(
                "{} more unknown keys not listed; is this a tzzr config?",
                unknown.len() - MAX_UNKNOWN_KEYS
            ),
        );
    }
    Ok(raw.unwrap_or_default())
}

/// Parses again through `serde_yaml::Value` to apply merge keys. Only used when the file has
/// them, because errors found this way carry no position.
fn parse_merged(
    text: &str,
    file: &std::path::Path,
    unknown: &mut Vec<KeyPath>,
) -> Result<Option<RawConfig>, Diagnostic> {
    let mut value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|error| yaml_error(file, &error, true))?;
    value
        .apply_merge()
        .map_err(|error| yaml_error(file, &error, false))?;
    serde_ignored::deserialize(value, |path| unknown.push(ignored_key_path(&path)))
        .map_err(|error| yaml_error(file, &error, false))
}

/// A name given twice in a section, said with the lines of both (serde_yaml only knows the
/// section's).
fn with_both_lines(text: &str, mut diagnostic: Diagnostic) -> Diagnostic {
    let Some((section, rest)) = diagnostic.message.split_once(": `") else {
        return diagnostic;
    };
    let Some((name, _)) = rest
        .split_once("` ")
        .filter(|(_, tail)| *tail == DEFINED_TWICE)
    else {
        return diagnostic;
    };
    let lines = key_lines(text, &KeyPath::root().key(section).key(name));
    if let [first, second, ..] = lines[..] {
        diagnostic.message = format!(
            "{section}: `{name}` is defined twice, at lines {first} and {second}; the second would replace the first: rename or remove one"
        );
        diagnostic.line = second;
        diagnostic.column = 1;
    }
    diagnostic
}

/// The line where flow collections first nest deeper than [`MAX_FLOW_DEPTH`], if they do. A
/// cheap scan, erring towards deeper: a `[` or `{` opens a level where a value starts, and
/// anywhere inside another; quoted text inside a flow collection is skipped.
fn too_deep_at(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut line = 1;
    // The last character that was not a space: `[` and `{` after these start a value.
    let mut before = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            '#' if before == '\n' || depth == 0 && matches!(before, ' ' | '\t') => {
                // A comment, to the end of the line.
                while chars.next_if(|&c| c != '\n').is_some() {}
            }
            '[' | '{' if depth > 0 || matches!(before, '\n' | ':' | '-' | '?' | ',') => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some(line);
                }
            }
            ']' | '}' if depth > 0 => depth -= 1,
            '"' | '\'' if depth > 0 && matches!(before, '[' | '{' | ',' | ':') => {
                // A quoted scalar: brackets inside are text. `\"` and `''` do not end it.
                while let Some(q) = chars.next() {
                    match q {
                        '\n' => line += 1,
                        // The escaped character is taken in the guard, whatever it is.
                        '\\' if c == '"' && chars.next() == Some('\n') => line += 1,
                        q if q == c => {
                            if c == '\'' && chars.next_if_eq(&'\'').is_some() {
                                continue;
                            }
                            break;
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        if c == '\n' {
            before = '\n';
        } else if !matches!(c, ' ' | '\t') {
            before = c;
        }
    }
    None
}

/// Whether the text holds no YAML node at all (only blanks, comments, markers).
fn is_empty_document(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    use super::*;

    fn parse_text(text: &str) -> (Result<RawConfig, Diagnostic>, Vec<Diagnostic>) {
        let mut report = Report::new(text, Path::new("c.yaml"));
        let raw = parse(&mut report);
        let warnings = report.finish().unwrap();
        (raw, warnings)
    }

    #[test]
    fn an_empty_or_comment_only_file_is_an_empty_config() {
        for text in ["", "\n\n", "# nothing here\n", "---\n# x\n"] {
            let (raw, warnings) = parse_text(text);
            let raw = raw.unwrap();
            assert!(raw.agents.is_none() && raw.settings.is_none(), "{text:?}");
            assert!(warnings.is_empty());
        }
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing_at_its_line() {
        let deep = format!(
            "agents:\n  a: {{provider: scripted}}\nx: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let (raw, _) = parse_text(&deep);
        let refused = raw.unwrap_err().to_string();
        assert_eq!(
            refused,
            "c.yaml:3:1: lists or mappings nest more than 128 levels deep; a config needs a few"
        );
        let maps = format!("x: {}1{}\n", "{a: ".repeat(200), "}".repeat(200));
        assert!(parse_text(&maps).0.is_err());
        // One level at a time, on lines of their own, counts the same.
        let lines = format!("x:\n{}", "  [\n".repeat(200));
        assert!(too_deep_at(&lines).is_some());
    }

    #[test]
    fn a_flood_of_unknown_keys_is_counted_not_listed() {
        let text: String = (0..10_000).map(|n| format!("k{n}: 1\n")).collect();
        let (raw, warnings) = parse_text(&text);
        assert!(raw.is_ok());
        assert_eq!(warnings.len(), 21);
        assert_eq!(
            warnings[0].to_string(),
            "c.yaml:1:1: unknown key `k0` at the top level (known keys: settings, servers, mcp_servers, providers, models, agents, tasks)"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.message == "9980 more unknown keys not listed; is this a tzzr config?"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_name_given_twice_is_an_error_naming_both_lines() {
        let text = "agents:\n  a:\n    provider: scripted\n  b: {provider: scripted}\n\n  a:\n    role: second\nmodels:\n  m: {input: 1}\n  m: {input: 2}\n";
        let (raw, _) = parse_text(text);
        assert_eq!(
            raw.unwrap_err().to_string(),
            "c.yaml:6:1: agents: `a` is defined twice, at lines 2 and 6; the second would replace the first: rename or remove one"
        );
        let (raw, _) = parse_text(&text.replace("  a:\n    role", "  c:\n    role"));
        assert_eq!(
            raw.unwrap_err().to_string(),
            "c.yaml:10:1: models: `m` is defined twice, at lines 9 and 10; the second would replace the first: rename or remove one"
        );
        // On one line, the section's place is all there is.
        let (raw, _) = parse_text("agents: {a: {}, a: {}}\n");
        assert!(
            raw.unwrap_err()
                .to_string()
                .contains("agents: `a` is defined twice"),
        );
    }

    #[test]
    fn brackets_in_text_are_not_nesting() {
        let role = format!(
            "agents:\n  a:\n    role: \"{}\"\n    tools: [\"{}\", '{}']\n    model: x # {}\n  b:\n    role: |\n      - [ ] a checklist item\n      - [x] {}\n",
            "[".repeat(300),
            "[".repeat(300),
            "{".repeat(300),
            "[".repeat(300),
            "[".repeat(300) + &"]".repeat(300)
        );
        assert_eq!(too_deep_at(&role), None);
        let (raw, _) = parse_text(&role);
        assert!(raw.is_ok(), "{raw:?}");
        let nested = format!("x: {}{}\n", "[".repeat(128), "]".repeat(128));
        assert_eq!(too_deep_at(&nested), None);
    }

    #[test]
    fn merge_keys_are_applied_like_pyyaml_does() {
        let text = "\
defaults: &defaults
  provider: litellm
  tools: [read]
agents:
  a:
    <<: *defaults
    model: gpt-4o
";
        let (raw, warnings) = parse_text(text);
        let raw = raw.unwrap();
        let agents = raw.agents.unwrap();
        let a = agents["a"].as_ref().unwrap();
        assert_eq!(a.provider.as_deref(), Some("litellm"));
        assert_eq!(a.tools.as_deref(), Some(&["read".to_owned()][..]));
        assert_eq!(a.model.as_deref(), Some("gpt-4o"));
        let messages: Vec<_> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown key `defaults` at the top level (known keys: settings, servers, mcp_servers, providers, models, agents, tasks)"
            ]
        );
    }
}
