//! v6's text tool protocol for models without native tool calling: the instructions that go into
//! the system prompt, and a robust parser for the ```tool blocks the model answers with.

use pulldown_cmark::{CodeBlockKind, Event, Parser, Tag, TagEnd};
use serde_json::{Map, Value};

use crate::engine::conversation::{ToolCall, ToolResult};
use crate::engine::protocol::CallId;
use crate::engine::tools::ToolSpec;
use crate::engine::tools::schema::parameter_names;

/// Keys a model may put a call's arguments under, in order of preference.
const ARGUMENT_KEYS: [&str; 4] = ["params", "parameters", "arguments", "input"];

/// Fence languages whose body may hold a call; v6 read ```tool and ```json blocks.
const CALL_LANGUAGES: [&str; 3] = ["tool", "json", ""];

const HEADER: &str = r#"## Available Tools

You can use the following tools. To use them, respond with a JSON block like this:

```tool
{
    "tool": "tool_name",
    "params": {
        "param1": "value1"
    }
}
```

Tools:

"#;

const FOOTER: &str = "\n\nAfter using a tool, you'll receive the result and can continue. You can use multiple tools in sequence for complex tasks.\n";

/// The system-prompt section that teaches the model the ```tool block format (v6's wording).
pub fn instructions(specs: &[ToolSpec]) -> String {
    if specs.is_empty() {
        return String::new();
    }
    let mut prompt = HEADER.to_owned();
    for spec in specs {
        prompt.push_str(&format!(
            "### {}\n{}\nParameters:\n",
            spec.name, spec.description
        ));
        let properties = spec.parameters.get("properties");
        let required = spec.parameters.get("required").and_then(Value::as_array);
        for name in parameter_names(spec) {
            let is_required = required.is_some_and(|list| list.iter().any(|r| r == &name));
            let marker = if is_required {
                "(required)"
            } else {
                "(optional)"
            };
            let description = properties
                .and_then(|p| p.get(&name))
                .and_then(|p| p.get("description"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            prompt.push_str(&format!("  - {name} {marker}: {description}\n"));
        }
        prompt.push('\n');
    }
    prompt.push_str(FOOTER);
    prompt
}

/// Every tool call in a model's text, in order, with ids `text-1`, `text-2`, ….
pub fn parse_calls(text: &str) -> Vec<ToolCall> {
    let mut found = Vec::new();
    let mut block: Option<String> = None;
    for event in Parser::new(text) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let language = info.split_whitespace().next().unwrap_or_default();
                let language = language.to_ascii_lowercase();
                block = CALL_LANGUAGES
                    .contains(&language.as_str())
                    .then(String::new);
            }
            Event::Text(chunk) => {
                if let Some(body) = block.as_mut() {
                    body.push_str(&chunk);
                }
            }
            // An unclosed fence (a model cut off mid-answer) still ends here, at the end of
            // the document, so its body is parsed like any other.
            Event::End(TagEnd::CodeBlock) => {
                if let Some(body) = block.take() {
                    found.extend(calls_in_json(&body));
                }
            }
            // A one-line ```tool {...}``` is a code span, not a fence; v6's regex took it.
            Event::Code(span) => {
                if let Some(body) = span
                    .strip_prefix("tool")
                    .or_else(|| span.strip_prefix("json"))
                {
                    found.extend(calls_in_json(body));
                }
            }
            _ => {}
        }
    }
    found
        .into_iter()
        .enumerate()
        .map(|(index, (tool, args))| ToolCall {
            id: CallId(format!("text-{}", index + 1)),
            tool,
            args,
        })
        .collect()
}

/// The user message that carries tool results back to the model (v6's format).
pub fn results_message(results: &[ToolResult]) -> String {
    let parts: Vec<String> = results
        .iter()
        .map(|result| {
            let status = if result.ok { "✅" } else { "❌" };
            format!("**{}** {status}\n{}", result.tool, result.output)
        })
        .collect();
    format!("Tool results:\n\n{}\n\nContinue.", parts.join("\n\n"))
}

/// The calls in one block's body: one or more JSON values, each an object or an array of them.
/// Parsing stops at the first invalid value, keeping the calls before it.
fn calls_in_json(body: &str) -> Vec<(String, Value)> {
    let repaired = without_trailing_commas(body.trim());
    let mut calls = Vec::new();
    for value in serde_json::Deserializer::from_str(&repaired).into_iter::<Value>() {
        let Ok(value) = value else { break };
        match value {
            Value::Object(object) => calls.extend(call_from(object)),
            Value::Array(items) => calls.extend(items.into_iter().filter_map(|item| match item {
                Value::Object(object) => call_from(object),
                _ => None,
            })),
            _ => {}
        }
    }
    calls
}

/// `{"tool": name, "params": {...}}` (or `parameters`, `arguments`, `input`, or the arguments
/// flattened beside `tool`), or the native-call shape `{"name": name, "arguments": {...}}`.
fn call_from(mut object: Map<String, Value>) -> Option<(String, Value)> {
    let argument_key = ARGUMENT_KEYS.iter().find(|key| object.contains_key(**key));
    if let Some(Value::String(tool)) = object.get("tool") {
        let tool = tool.clone();
        let args = match argument_key {
            Some(key) => object.remove(*key).unwrap_or_default(),
            None => {
                object.remove("tool");
                Value::Object(object)
            }
        };
        return Some((tool, normalize_args(args)));
    }
    match (object.get("name"), argument_key) {
        (Some(Value::String(tool)), Some(key)) => {
            let tool = tool.clone();
            let args = object.remove(*key).unwrap_or_default();
            Some((tool, normalize_args(args)))
        }
        _ => None,
    }
}

/// Arguments as an object: a string holding JSON is parsed; one that is not an object stays
/// as `{"_raw": text}` so the tool can tell the model what was wrong.
fn normalize_args(args: Value) -> Value {
    match args {
        Value::Null => Value::Object(Map::new()),
        Value::String(text) => match serde_json::from_str(&without_trailing_commas(text.trim())) {
            Ok(Value::Object(object)) => Value::Object(object),
            _ => {
                let mut raw = Map::new();
                raw.insert("_raw".to_owned(), Value::String(text));
                Value::Object(raw)
            }
        },
        other => other,
    }
}

/// Drops commas that directly precede `}` or `]` outside strings, a slip models often make.
/// Valid JSON never has one, so this never changes valid input.
fn without_trailing_commas(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for (index, c) in json.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                (false, _) => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = json[index + 1..].trim_start().chars().next();
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tools::spec;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn calls(text: &str) -> Vec<(String, String, Value)> {
        parse_calls(text)
            .into_iter()
            .map(|call| (call.id.0, call.tool, call.args))
            .collect()
    }

    fn call(id: &str, tool: &str, args: Value) -> (String, String, Value) {
        (id.to_owned(), tool.to_owned(), args)
    }

    #[test]
    fn instructions_follow_v6s_prompt() {
        let specs: Vec<ToolSpec> = ["read", "list_dir"].into_iter().filter_map(spec).collect();
        let expected = r#"## Available Tools

You can use the following tools. To use them, respond with a JSON block like this:

```tool
{
    "tool": "tool_name",
    "params": {
        "param1": "value1"
    }
}
```

Tools:

### read
Read the contents of a file. Returns the text content.
Parameters:
  - path (required): Path to the file to read
  - encoding (optional): File encoding (default: utf-8)

### list_dir
List the contents of a directory.
Parameters:
  - path (required): Path to the directory
  - recursive (optional): List recursively
  - include_hidden (optional): Include hidden files



After using a tool, you'll receive the result and can continue. You can use multiple tools in sequence for complex tasks.
"#;
        assert_eq!(instructions(&specs), expected);
        assert_eq!(instructions(&[]), "");
    }

    #[test]
    fn two_blocks_with_prose_around_parse_in_order() {
        let text = r#"First I'll look around.

```tool
{"tool": "list_dir", "params": {"path": "."}}
```

Then read the file:

```tool
{
    "tool": "read",
    "params": {"path": "src/main.rs"}
}
```
Done."#;
        assert_eq!(
            calls(text),
            vec![
                call("text-1", "list_dir", json!({"path": "."})),
                call("text-2", "read", json!({"path": "src/main.rs"})),
            ]
        );
    }

    #[test]
    fn json_and_bare_fences_count_but_other_languages_do_not() {
        let text = "```json\n{\"tool\": \"glob\", \"params\": {\"pattern\": \"*.rs\"}}\n```\n\
                    ```\n{\"tool\": \"read\", \"params\": {\"path\": \"a\"}}\n```\n\
                    ```python\n{\"tool\": \"write\", \"params\": {}}\n```\n";
        assert_eq!(
            calls(text),
            vec![
                call("text-1", "glob", json!({"pattern": "*.rs"})),
                call("text-2", "read", json!({"path": "a"})),
            ]
        );
    }

    #[test]
    fn an_unclosed_final_fence_parses_if_its_json_is_complete() {
        let complete =
            "Reading now.\n```tool\n{\"tool\": \"read\", \"params\": {\"path\": \"x\"}}\n";
        assert_eq!(
            calls(complete),
            vec![call("text-1", "read", json!({"path": "x"}))]
        );
        let cut = "```tool\n{\"tool\": \"read\", \"params\": {\"pa";
        assert_eq!(calls(cut), vec![]);
    }

    #[test]
    fn arguments_may_come_under_other_keys_or_as_a_json_string() {
        let text = r#"
```tool
{"tool": "read", "parameters": {"path": "a"}}
```
```tool
{"tool": "read", "arguments": "{\"path\": \"b\"}"}
```
```tool
{"tool": "read", "input": {"path": "c"}}
```
```tool
{"name": "read", "arguments": {"path": "d"}}
```
```tool
{"tool": "read", "path": "e"}
```
```tool
{"tool": "read", "params": "not json"}
```
"#;
        assert_eq!(
            calls(text),
            vec![
                call("text-1", "read", json!({"path": "a"})),
                call("text-2", "read", json!({"path": "b"})),
                call("text-3", "read", json!({"path": "c"})),
                call("text-4", "read", json!({"path": "d"})),
                call("text-5", "read", json!({"path": "e"})),
                call("text-6", "read", json!({"_raw": "not json"})),
            ]
        );
    }

    #[test]
    fn invalid_blocks_are_skipped_and_numbering_stays_dense() {
        let text = "```tool\n{\"tool\": \"read\", params: oops}\n```\n\
                    ```json\n{\"name\": \"Ada\", \"age\": 36}\n```\n\
                    ```tool\n{\"tool\": \"grep\", \"params\": {\"pattern\": \"x\", \"path\": \".\"}}\n```\n";
        assert_eq!(
            calls(text),
            vec![call("text-1", "grep", json!({"pattern": "x", "path": "."}))]
        );
    }

    #[test]
    fn trailing_commas_are_tolerated_but_commas_in_strings_are_kept() {
        let text = "```tool\n{\"tool\": \"write\", \"params\": {\"path\": \"a\", \"content\": \",}\",},}\n```";
        assert_eq!(
            calls(text),
            vec![call(
                "text-1",
                "write",
                json!({"path": "a", "content": ",}"})
            )]
        );
    }

    #[test]
    fn fences_inside_json_strings_do_not_end_the_block() {
        let text = "```tool\n{\"tool\": \"write\", \"params\": {\"path\": \"a.md\", \"content\": \"```rust\\nfn x() {}\\n```\"}}\n```";
        assert_eq!(
            calls(text),
            vec![call(
                "text-1",
                "write",
                json!({"path": "a.md", "content": "```rust\nfn x() {}\n```"})
            )]
        );
    }

    #[test]
    fn a_block_may_hold_several_calls() {
        let text = "```tool\n{\"tool\": \"read\", \"params\": {\"path\": \"a\"}}\n{\"tool\": \"read\", \"params\": {\"path\": \"b\"}}\n```\n\
                    ```json\n[{\"tool\": \"read\", \"params\": {\"path\": \"c\"}}]\n```";
        assert_eq!(
            calls(text),
            vec![
                call("text-1", "read", json!({"path": "a"})),
                call("text-2", "read", json!({"path": "b"})),
                call("text-3", "read", json!({"path": "c"})),
            ]
        );
    }

    #[test]
    fn a_one_line_fence_is_read_as_v6_did() {
        let text = "Sure: ```tool {\"tool\": \"read\", \"params\": {\"path\": \"a\"}}```";
        assert_eq!(
            calls(text),
            vec![call("text-1", "read", json!({"path": "a"}))]
        );
    }

    #[test]
    fn fences_in_lists_and_with_tildes_are_found() {
        let text = "1. Step one:\n   ```tool\n   {\"tool\": \"read\", \"params\": {\"path\": \"a\"}}\n   ```\n\n~~~tool\n{\"tool\": \"read\", \"params\": {\"path\": \"b\"}}\n~~~\n";
        assert_eq!(
            calls(text),
            vec![
                call("text-1", "read", json!({"path": "a"})),
                call("text-2", "read", json!({"path": "b"})),
            ]
        );
    }

    #[test]
    fn text_without_blocks_has_no_calls() {
        assert_eq!(calls("All done, no tools needed."), vec![]);
    }

    #[test]
    fn results_message_is_v6s_follow_up() {
        let results = vec![
            ToolResult {
                call: CallId("text-1".into()),
                tool: "read".into(),
                ok: true,
                output: "hello".into(),
            },
            ToolResult {
                call: CallId("text-2".into()),
                tool: "grep".into(),
                ok: false,
                output: "invalid regex".into(),
            },
        ];
        assert_eq!(
            results_message(&results),
            "Tool results:\n\n**read** ✅\nhello\n\n**grep** ❌\ninvalid regex\n\nContinue."
        );
    }
}
