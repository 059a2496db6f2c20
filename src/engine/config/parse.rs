//! Reading the text into the raw structs: serde with every unknown key collected (and, when that
//! fails, a syntax pass so that a YAML mistake is reported as one), and YAML merge keys (`<<`) applied as
//! PyYAML applied them.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::Diagnostic;
use super::diagnose::{Report, ignored_key_path, yaml_error};
use super::locate::KeyPath;
use super::raw::RawConfig;

/// The merge key of YAML 1.1 (`<<: *defaults`), which serde_yaml does not apply by itself.
const MERGE_KEY: &str = "<<";

/// The raw config in `report`'s text; unknown keys become warnings in `report`.
pub fn parse(report: &mut Report<'_>) -> Result<RawConfig, Diagnostic> {
    let text = report.text();
    let file = report.file();
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
            return Err(yaml_error(file, &error, false));
        }
    };

    if unknown
        .iter()
        .any(|path| path.last_key() == Some(MERGE_KEY))
    {
        unknown.clear();
        raw = parse_merged(text, file, &mut unknown)?;
    }
    for path in &unknown {
        report.unknown_key(path);
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
