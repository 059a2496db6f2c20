//! v6's eight tool schemas, word for word from `orchestrator/tools/definitions.py`, kept as
//! static tables so the parameter order of v6's prompt survives (serde_json maps sort keys).

use serde_json::{Map, Value, json};

use super::ToolSpec;

struct Param {
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    choices: &'static [&'static str],
}

struct Schema {
    name: &'static str,
    description: &'static str,
    params: &'static [Param],
    required: &'static [&'static str],
}

const fn param(name: &'static str, kind: &'static str, description: &'static str) -> Param {
    Param {
        name,
        kind,
        description,
        choices: &[],
    }
}

const SCHEMAS: [Schema; 8] = [
    Schema {
        name: "bash",
        description: "Execute a bash command on the system. Use for running scripts, system commands, git, etc.",
        params: &[
            param("command", "string", "The bash command to execute"),
            param("working_dir", "string", "Optional working directory"),
        ],
        required: &["command"],
    },
    Schema {
        name: "read",
        description: "Read the contents of a file. Returns the text content.",
        params: &[
            param("path", "string", "Path to the file to read"),
            param("encoding", "string", "File encoding (default: utf-8)"),
        ],
        required: &["path"],
    },
    Schema {
        name: "write",
        description: "Write content to a file. Creates the file if it doesn't exist, overwrites if it does.",
        params: &[
            param("path", "string", "Path to the file to write"),
            param("content", "string", "Content to write to the file"),
            param("append", "boolean", "If true, append instead of overwrite"),
        ],
        required: &["path", "content"],
    },
    Schema {
        name: "glob",
        description: "Find files using glob patterns. E.g., '**/*.py' finds all Python files.",
        params: &[
            param("pattern", "string", "Glob pattern to search for files"),
            param("base_dir", "string", "Base directory for the search"),
        ],
        required: &["pattern"],
    },
    Schema {
        name: "grep",
        description: "Search for text in files using regular expressions.",
        params: &[
            param("pattern", "string", "Regex pattern to search for"),
            param("path", "string", "File or directory to search in"),
            param(
                "recursive",
                "boolean",
                "Search recursively in subdirectories",
            ),
        ],
        required: &["pattern", "path"],
    },
    Schema {
        name: "http_request",
        description: "Make an HTTP request. Useful for REST APIs.",
        params: &[
            param("url", "string", "URL to request"),
            Param {
                name: "method",
                kind: "string",
                description: "HTTP method",
                choices: &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
            },
            param("headers", "object", "Request headers"),
            param("body", "string", "Request body (for POST, PUT, PATCH)"),
            param("timeout", "number", "Request timeout in seconds"),
        ],
        required: &["url"],
    },
    Schema {
        name: "ssh",
        description: "Execute a command on a remote server via SSH.",
        params: &[
            param("host", "string", "Server host or IP"),
            param("command", "string", "Command to execute on the server"),
            param("user", "string", "SSH user (default: root)"),
            param("key_path", "string", "Path to SSH key"),
            param("port", "integer", "SSH port (default: 22)"),
        ],
        required: &["host", "command"],
    },
    Schema {
        name: "list_dir",
        description: "List the contents of a directory.",
        params: &[
            param("path", "string", "Path to the directory"),
            param("recursive", "boolean", "List recursively"),
            param("include_hidden", "boolean", "Include hidden files"),
        ],
        required: &["path"],
    },
];

fn schema(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|schema| schema.name == name)
}

/// The spec of a v6 tool, `None` for an unknown name.
pub fn spec(name: &str) -> Option<ToolSpec> {
    let schema = schema(name)?;
    let mut properties = Map::new();
    for param in schema.params {
        let mut property = Map::new();
        property.insert("type".into(), param.kind.into());
        if !param.choices.is_empty() {
            property.insert("enum".into(), json!(param.choices));
        }
        property.insert("description".into(), param.description.into());
        properties.insert(param.name.into(), Value::Object(property));
    }
    Some(ToolSpec {
        name: schema.name.into(),
        description: schema.description.into(),
        parameters: json!({
            "type": "object",
            "properties": properties,
            "required": schema.required,
        }),
    })
}

/// The parameter names of a spec in v6's order for the v6 tools, else in the schema's order.
pub fn parameter_names(spec: &ToolSpec) -> Vec<String> {
    let mut names: Vec<String> = schema(&spec.name)
        .map(|schema| schema.params.iter().map(|p| p.name.to_owned()).collect())
        .unwrap_or_default();
    if let Some(properties) = spec.parameters.get("properties").and_then(Value::as_object) {
        names.retain(|name| properties.contains_key(name));
        for name in properties.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tools::ALL_TOOLS;
    use pretty_assertions::assert_eq;

    #[test]
    fn every_v6_tool_has_a_spec_and_unknown_names_have_none() {
        for name in ALL_TOOLS {
            let spec = spec(name);
            assert_eq!(spec.map(|s| s.name), Some(name.to_owned()));
        }
        assert_eq!(spec("rm"), None);
    }

    #[test]
    fn read_spec_is_v6_word_for_word() {
        let read = spec("read");
        let expected = ToolSpec {
            name: "read".into(),
            description: "Read the contents of a file. Returns the text content.".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "Path to the file to read"},
                    "encoding": {"type": "string", "description": "File encoding (default: utf-8)"}
                },
                "required": ["path"]
            }),
        };
        assert_eq!(read, Some(expected));
    }

    #[test]
    fn http_request_method_keeps_its_enum() {
        let http = spec("http_request").map(|s| s.parameters);
        let method = http.as_ref().map(|p| &p["properties"]["method"]);
        assert_eq!(
            method,
            Some(&json!({
                "type": "string",
                "enum": ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"],
                "description": "HTTP method"
            }))
        );
    }

    #[test]
    fn required_lists_match_v6() {
        let required = |name: &str| spec(name).map(|s| s.parameters["required"].clone());
        assert_eq!(required("write"), Some(json!(["path", "content"])));
        assert_eq!(required("grep"), Some(json!(["pattern", "path"])));
        assert_eq!(required("ssh"), Some(json!(["host", "command"])));
        assert_eq!(required("list_dir"), Some(json!(["path"])));
    }

    #[test]
    fn parameter_names_keep_v6_order() {
        let Some(ssh) = spec("ssh") else {
            panic!("ssh has a spec")
        };
        assert_eq!(
            parameter_names(&ssh),
            ["host", "command", "user", "key_path", "port"]
        );
    }
}
