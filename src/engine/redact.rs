//! Masking the secrets tzzr knows (API keys, tokens, passwords from the environment and `.env`
//! files) in everything it shows or writes: events, logs, error messages, reports. One matcher
//! over every secret, built once per run and shared; text without a secret is not copied.

use std::borrow::Cow;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Values shorter than this are not treated as secrets: masking `true` or `1234` everywhere
/// would mangle ordinary text and protect nothing.
pub const MIN_SECRET_LEN: usize = 8;

/// Whether a variable of this name holds a secret: its name contains KEY, TOKEN, SECRET,
/// PASSWORD or CREDENTIAL (in any case), unless it names a place (`SSH_KEY_PATH`,
/// `GOOGLE_APPLICATION_CREDENTIALS_FILE`), whose value is a path, not the secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let names_a_secret = ["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"]
        .iter()
        .any(|word| upper.contains(word));
    let names_a_place = ["_PATH", "_FILE", "_DIR"]
        .iter()
        .any(|suffix| upper.ends_with(suffix));
    names_a_secret && !names_a_place
}

/// Replaces every known secret with [`MASK`].
#[derive(Clone, Default)]
pub struct Redactor {
    /// Sorted, without duplicates; each at least [`MIN_SECRET_LEN`] bytes.
    secrets: Vec<String>,
    /// `None` when there is no secret (nothing to do).
    matcher: Option<AhoCorasick>,
    /// The matcher could not be built: every text is masked whole.
    is_broken: bool,
    /// The first byte of each secret, for the cheap scan in [`Redactor::partial_suffix_len`].
    first_bytes: Vec<u8>,
    longest: usize,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor for `values`; short and empty ones are ignored.
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut secrets: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v| v.trim().len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort();
        secrets.dedup();
        // Leftmost-longest: a secret that contains another is masked whole. Building fails only
        // past limits far beyond a list of keys; then every text is masked whole.
        let (matcher, is_broken) = if secrets.is_empty() {
            (None, false)
        } else {
            match AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&secrets)
            {
                Ok(matcher) => (Some(matcher), false),
                Err(e) => {
                    tracing::error!("cannot build the secret matcher: {e}; masking all text");
                    (None, true)
                }
            }
        };
        let mut first_bytes: Vec<u8> = secrets.iter().filter_map(|s| s.bytes().next()).collect();
        first_bytes.sort_unstable();
        first_bytes.dedup();
        let longest = secrets.iter().map(String::len).max().unwrap_or(0);
        Self {
            secrets,
            matcher,
            is_broken,
            first_bytes,
            longest,
        }
    }

    /// This redactor with `more` secrets, or `None` when it knows all of them already.
    pub fn extended<I, S>(&self, more: I) -> Option<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let new: Vec<String> = more
            .into_iter()
            .map(Into::into)
            .filter(|v| v.trim().len() >= MIN_SECRET_LEN && self.secrets.binary_search(v).is_err())
            .collect();
        if new.is_empty() {
            return None;
        }
        Some(Self::new(self.secrets.iter().cloned().chain(new)))
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Whether `text` holds a secret.
    pub fn contains_secret(&self, text: &str) -> bool {
        self.is_broken && !text.is_empty()
            || self.matcher.as_ref().is_some_and(|m| m.is_match(text))
    }

    /// `text` with every secret masked; borrowed when it holds none.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(text) => {
                let mut masked = String::with_capacity(text.len());
                matcher.replace_all_with(text, &mut masked, |_, _, out| {
                    out.push_str(MASK);
                    true
                });
                Cow::Owned(masked)
            }
            Some(_) | None if self.is_broken && !text.is_empty() => Cow::Borrowed(MASK),
            Some(_) | None => Cow::Borrowed(text),
        }
    }

    /// Masks the secrets in `text` where it is.
    pub fn redact_string(&self, text: &mut String) {
        if let Cow::Owned(clean) = self.redact(text) {
            *text = clean;
        }
    }

    /// Masks the secrets in every string (and object key) of a JSON value.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        if self.is_empty() {
            return;
        }
        match value {
            serde_json::Value::String(s) => self.redact_string(s),
            serde_json::Value::Array(items) => {
                for item in items {
                    self.redact_json(item);
                }
            }
            serde_json::Value::Object(map) => {
                let has_secret_key = map.keys().any(|k| self.contains_secret(k));
                if has_secret_key {
                    let entries = std::mem::take(map);
                    for (key, mut item) in entries {
                        self.redact_json(&mut item);
                        map.insert(self.redact(&key).into_owned(), item);
                    }
                } else {
                    for item in map.values_mut() {
                        self.redact_json(item);
                    }
                }
            }
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
            }
        }
    }

    /// The length in bytes of the longest end of `text` that is the start (but not the whole)
    /// of a secret: a stream must hold that much back until the next piece shows whether a
    /// secret is being spelled out across two pieces.
    pub fn partial_suffix_len(&self, text: &str) -> usize {
        if self.is_empty() {
            return 0;
        }
        let bytes = text.as_bytes();
        let window = self.longest.saturating_sub(1).min(bytes.len());
        let start = bytes.len() - window;
        (start..bytes.len())
            .find(|&at| {
                self.first_bytes.binary_search(&bytes[at]).is_ok()
                    && self.begins_a_secret(&bytes[at..])
            })
            .map_or(0, |at| bytes.len() - at)
    }

    /// Whether some secret starts with `part` and is longer. The secrets are sorted, so those
    /// starting with `part` come first among those not less than it (one equal to it, then the
    /// longer ones).
    fn begins_a_secret(&self, part: &[u8]) -> bool {
        let first = self.secrets.partition_point(|s| s.as_bytes() < part);
        self.secrets[first..]
            .iter()
            .take(2)
            .any(|s| s.len() > part.len() && s.as_bytes().starts_with(part))
    }
}

/// A stream of text pieces (a model's tokens) with its secrets masked, even one spelled out
/// across several pieces: the end of a piece that could begin a secret waits for the next.
#[derive(Debug, Default)]
pub struct StreamMask {
    held: String,
}

impl StreamMask {
    /// What of `held + piece` can be shown now, masked; the rest is kept. Without secrets, or
    /// with nothing held and nothing to mask, the piece passes through without a copy.
    pub fn push(&mut self, redactor: &Redactor, piece: String) -> String {
        if redactor.is_empty() {
            return piece;
        }
        if self.held.is_empty() {
            self.held = piece;
        } else {
            self.held.push_str(&piece);
        }
        if let Cow::Owned(masked) = redactor.redact(&self.held) {
            self.held = masked;
        }
        let keep = redactor.partial_suffix_len(&self.held);
        let rest = self.held.split_off(self.held.len() - keep);
        std::mem::replace(&mut self.held, rest)
    }

    /// Whatever is still held back: the stream ended, or something else comes first.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: &str = "sk-live-0123456789abcdef";

    fn redactor() -> Redactor {
        Redactor::new([KEY, "hunter2hunter2", "short", ""])
    }

    #[test]
    fn secret_names_are_recognised_and_paths_are_not_secrets() {
        for name in [
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "aws_secret_access_key",
            "DB_PASSWORD",
            "AZURE_CREDENTIALS",
            "ANTHROPIC_AUTH_TOKEN",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PATH",
            "HOME",
            "SSH_KEY_PATH",
            "KEY_FILE",
            "TOKEN_DIR",
            "OPENAI_BASE_URL",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn every_occurrence_is_masked_and_short_values_are_ignored() {
        let r = redactor();
        assert_eq!(
            r.redact(&format!("401: key {KEY} is invalid ({KEY})")),
            "401: key *** is invalid (***)"
        );
        assert_eq!(r.redact("password hunter2hunter2!"), "password ***!");
        assert_eq!(r.redact("a short text"), "a short text");
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn an_empty_redactor_changes_nothing() {
        let r = Redactor::default();
        assert!(r.is_empty());
        assert_eq!(r.redact(KEY), KEY);
        assert_eq!(r.partial_suffix_len("sk-"), 0);
    }

    #[test]
    fn a_secret_inside_another_is_masked_with_the_longer_one() {
        let r = Redactor::new(["abcdefgh", "abcdefgh-ijklmnop"]);
        assert_eq!(r.redact("x abcdefgh-ijklmnop y abcdefgh"), "x *** y ***");
    }

    #[test]
    fn json_strings_and_keys_are_masked_at_any_depth() {
        let r = redactor();
        let mut value = json!({
            "headers": {"Authorization": format!("Bearer {KEY}")},
            "list": [KEY, 3, null, {KEY: true}],
        });
        r.redact_json(&mut value);
        assert_eq!(
            value,
            json!({
                "headers": {"Authorization": "Bearer ***"},
                "list": ["***", 3, null, {"***": true}],
            })
        );
    }

    #[test]
    fn extending_with_known_secrets_builds_nothing_new() {
        let r = redactor();
        assert!(r.extended([KEY]).is_none());
        assert!(r.extended(["tiny"]).is_none());
        let more = r.extended(["another-secret-value"]).unwrap();
        assert_eq!(more.redact("another-secret-value"), "***");
        assert_eq!(more.redact(KEY), "***");
    }

    #[test]
    fn the_end_of_a_text_that_may_begin_a_secret_is_measured() {
        let r = redactor();
        assert_eq!(r.partial_suffix_len("the key is sk-li"), 5);
        assert_eq!(r.partial_suffix_len("the key is s"), 1);
        assert_eq!(r.partial_suffix_len("the key is x"), 0);
        // Only a proper start counts: a whole secret is masked before this is asked.
        assert_eq!(r.partial_suffix_len(KEY), 0);
        assert_eq!(r.partial_suffix_len("hunter2hunter2"), 7);
        assert_eq!(r.partial_suffix_len("漢字 hunter2"), 7);
    }

    #[test]
    fn a_secret_spelled_out_across_pieces_never_shows() {
        let r = redactor();
        for split in 1..KEY.len() {
            let text = format!("key: {KEY}, done");
            let mut stream = StreamMask::default();
            let mut shown = String::new();
            for piece in [&text[..5 + split], &text[5 + split..]] {
                shown.push_str(&stream.push(&r, piece.to_owned()));
            }
            shown.push_str(&stream.flush());
            assert_eq!(shown, "key: ***, done", "split at {split}");
        }
    }

    #[test]
    fn pieces_token_by_token_show_everything_else_unchanged() {
        let r = redactor();
        let text = format!("Here: {KEY} and sk-not-it and hunter2hunter2.");
        let mut stream = StreamMask::default();
        let mut shown = String::new();
        for c in text.chars() {
            shown.push_str(&stream.push(&r, c.to_string()));
        }
        shown.push_str(&stream.flush());
        assert_eq!(shown, "Here: *** and sk-not-it and ***.");
        assert!(!stream.is_holding());
    }
}
