//! The arguments of one tool call: a JSON object read parameter by parameter, with errors a
//! model can act on. Booleans are lenient because models often send "true" as a string.

use serde_json::{Map, Value};

/// How much of unparseable arguments an error quotes back to the model.
const RAW_QUOTE_LIMIT: usize = 2_000;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    #[error("the arguments for `{tool}` are not valid JSON: {raw}")]
    NotJson { tool: String, raw: String },
    #[error("the arguments for `{tool}` must be a JSON object, not {found}")]
    NotObject { tool: String, found: &'static str },
    #[error("missing required parameter `{0}`")]
    Missing(&'static str),
    #[error("parameter `{name}` must be {expected}")]
    WrongType {
        name: &'static str,
        expected: &'static str,
    },
}

/// The parameters of one call; `null` counts as no parameters at all.
#[derive(Debug)]
pub struct Args<'a> {
    params: Option<&'a Map<String, Value>>,
}

impl<'a> Args<'a> {
    /// Checks the shape of a call's arguments: an object, `null`, or the `{"_raw": text}`
    /// the provider leaves when the model's arguments were not JSON.
    pub fn of(tool: &str, value: &'a Value) -> Result<Self, ArgError> {
        match value {
            Value::Object(params) => match (params.len(), params.get("_raw")) {
                (1, Some(Value::String(raw))) => Err(ArgError::NotJson {
                    tool: tool.to_owned(),
                    raw: quote(raw),
                }),
                _ => Ok(Self {
                    params: Some(params),
                }),
            },
            Value::Null => Ok(Self { params: None }),
            other => Err(ArgError::NotObject {
                tool: tool.to_owned(),
                found: kind_of(other),
            }),
        }
    }

    /// The raw value of a parameter; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.params
            .and_then(|params| params.get(name))
            .filter(|value| !value.is_null())
    }

    pub fn required_str(&self, name: &'static str) -> Result<String, ArgError> {
        self.optional_str(name)?.ok_or(ArgError::Missing(name))
    }

    pub fn optional_str(&self, name: &'static str) -> Result<Option<String>, ArgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(ArgError::WrongType {
                name,
                expected: "a string",
            }),
        }
    }

    /// A boolean flag, `false` when absent; accepts `"true"`/`"false"` strings too.
    pub fn flag(&self, name: &'static str) -> Result<bool, ArgError> {
        let wrong_type = ArgError::WrongType {
            name,
            expected: "a boolean",
        };
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(wrong_type),
            },
            Some(_) => Err(wrong_type),
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn quote(raw: &str) -> String {
    if raw.len() <= RAW_QUOTE_LIMIT {
        return raw.to_owned();
    }
    let mut end = RAW_QUOTE_LIMIT;
    while !raw.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &raw[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_arguments_are_quoted_back() {
        let raw = json!({"_raw": "{\"path\": "});
        let err = Args::of("read", &raw).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the arguments for `read` are not valid JSON: {\"path\": "
        );
    }

    #[test]
    fn non_objects_are_refused_and_null_is_empty() {
        let err = Args::of("read", &json!("src/main.rs")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the arguments for `read` must be a JSON object, not a string"
        );
        let null = Value::Null;
        let args = Args::of("list_dir", &null).unwrap();
        assert_eq!(args.optional_str("path"), Ok(None));
    }

    #[test]
    fn missing_and_mistyped_parameters_are_named() {
        let value = json!({"path": 7, "recursive": "maybe", "encoding": null});
        let args = Args::of("grep", &value).unwrap();
        assert_eq!(
            args.required_str("pattern").unwrap_err().to_string(),
            "missing required parameter `pattern`"
        );
        assert_eq!(
            args.required_str("path").unwrap_err().to_string(),
            "parameter `path` must be a string"
        );
        assert_eq!(
            args.flag("recursive").unwrap_err().to_string(),
            "parameter `recursive` must be a boolean"
        );
        assert_eq!(args.optional_str("encoding"), Ok(None));
    }

    #[test]
    fn booleans_accept_strings_leniently() {
        let value = json!({"a": true, "b": "true", "c": " False ", "d": false});
        let args = Args::of("list_dir", &value).unwrap();
        assert_eq!(args.flag("a"), Ok(true));
        assert_eq!(args.flag("b"), Ok(true));
        assert_eq!(args.flag("c"), Ok(false));
        assert_eq!(args.flag("d"), Ok(false));
        assert_eq!(args.flag("absent"), Ok(false));
    }

    #[test]
    fn long_raw_arguments_are_cut_at_a_char_boundary() {
        let raw = "é".repeat(RAW_QUOTE_LIMIT);
        assert!(quote(&raw).len() <= RAW_QUOTE_LIMIT + "…".len());
        assert!(quote(&raw).ends_with('…'));
    }
}
