//! JSON text that is safe to print to a terminal: serde_json escapes C0 controls (ESC included)
//! but writes C1 controls (U+0080..U+009F, e.g. the 8-bit CSI U+009B) and DEL raw, and some
//! terminals act on those. Here they become `\u` escapes too; the JSON means the same.

use serde::Serialize;

/// `value` as one line of JSON with no raw control character.
pub fn compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string(value).map(escape_c1)
}

/// `value` as indented JSON with no raw control character but newlines between lines.
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(escape_c1)
}

/// `json` with DEL and C1 controls written as `\u` escapes. Outside its strings JSON text is
/// ASCII punctuation, digits and literals, so every such character is inside a string, where an
/// escape means the same. One scan of the bytes when there is none (DEL is 0x7F; C1 is encoded
/// 0xC2 0x80..=0x9F).
fn escape_c1(json: String) -> String {
    let bytes = json.as_bytes();
    if !bytes.contains(&0xc2) && !bytes.contains(&0x7f) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if matches!(c, '\u{7f}'..='\u{9f}') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn c1_controls_and_del_are_escaped_and_the_value_is_unchanged() {
        let value = json!({"text": "a\u{9b}2Jb\u{7f}c\u{85}é\u{a0}\x1b[6n", "\u{9d}key": [1]});
        let line = compact(&value).unwrap();
        assert_eq!(
            line,
            r#"{"text":"a\u009b2Jb\u007fc\u0085é\u00a0\u001b[6n","\u009dkey":[1]}"#
                .replace("\\u00a0", "\u{a0}")
        );
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&line).unwrap(),
            value
        );
    }

    #[test]
    fn pretty_output_keeps_serde_jsons_layout() {
        let value = json!({"a": [1, {"b": "x\u{90}"}], "c": null});
        let expected = serde_json::to_string_pretty(&value)
            .unwrap()
            .replace('\u{90}', "\\u0090");
        assert_eq!(pretty(&value).unwrap(), expected);
    }

    #[test]
    fn plain_text_comes_out_as_serde_json_writes_it() {
        let value = json!({"text": "héllo 漢字 \"q\" \n\t", "n": 1.5});
        assert_eq!(compact(&value).unwrap(), value.to_string());
    }
}
