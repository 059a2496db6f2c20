//! JSON text that is safe to print to a terminal: serde_json escapes C0 controls (ESC included)
//! but writes C1 controls (U+0080..U+009F, e.g. the 8-bit CSI U+009B) and DEL raw, and some
//! terminals act on those. Here they become `\u` escapes too; the JSON means the same.

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// `value` as one line of JSON with no raw control character.
pub fn compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    write(value, CompactFormatter)
}

/// `value` as indented JSON with no raw control character but newlines between lines.
pub fn pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    write(value, PrettyFormatter::new())
}

fn write<T: Serialize + ?Sized, F: Formatter>(value: &T, inner: F) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, EscapeC1(inner));
    value.serialize(&mut ser)?;
    // The formatter writes only what serde_json gives it plus ASCII escapes: valid UTF-8.
    String::from_utf8(out).map_err(|e| serde_json::Error::io(io::Error::other(e)))
}

/// Whether a character must be escaped on top of what serde_json escapes.
fn is_raw_control(c: char) -> bool {
    matches!(c, '\u{7f}'..='\u{9f}')
}

/// A formatter that passes everything to `F` but writes DEL and C1 controls inside strings as
/// `\u` escapes.
struct EscapeC1<F>(F);

impl<F: Formatter> Formatter for EscapeC1<F> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        // Fast path: DEL is 0x7F and C1 is encoded 0xC2 0x80..=0x9F.
        if !fragment.bytes().any(|b| b == 0x7f || b == 0xc2) {
            return writer.write_all(fragment.as_bytes());
        }
        let mut start = 0;
        for (at, c) in fragment.char_indices() {
            if is_raw_control(c) {
                writer.write_all(&fragment.as_bytes()[start..at])?;
                write!(writer, "\\u{:04x}", u32::from(c))?;
                start = at + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
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
