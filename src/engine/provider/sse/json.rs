//! JSON details both dialects share: tool arguments that arrive as text, floats without noise.

/// Parses a tool call's accumulated argument text: `""` is `{}`, text that is not JSON is kept
/// as `{"_raw": text}` so the tool can tell the model what went wrong.
pub fn parse_tool_args(text: &str) -> serde_json::Value {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(trimmed).unwrap_or_else(|_| serde_json::json!({ "_raw": text }))
}

/// A float as JSON without f32 noise (`0.7`, not `0.699999988079071`).
pub fn json_f32(value: f32) -> serde_json::Value {
    let exact = value.to_string().parse::<f64>().unwrap_or(f64::from(value));
    serde_json::Number::from_f64(exact).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_arguments_that_are_not_json_are_kept_raw() {
        assert_eq!(parse_tool_args(""), serde_json::json!({}));
        assert_eq!(
            parse_tool_args(r#"{"city": "Paris" }"#),
            serde_json::json!({"city": "Paris"})
        );
        assert_eq!(
            parse_tool_args(r#"{"city": "Par"#),
            serde_json::json!({"_raw": r#"{"city": "Par"#})
        );
    }

    #[test]
    fn floats_keep_their_written_value() {
        assert_eq!(json_f32(0.7).to_string(), "0.7");
        assert_eq!(json_f32(0.0).to_string(), "0.0");
    }
}
