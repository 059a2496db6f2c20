//! Cleaning a process's output as it arrives: whole lines go through `sanitize::for_display`, so
//! an escape sequence split between two reads is still recognised and removed.

use crate::sanitize;

/// The longest unfinished line kept back; beyond it, what is there is cleaned as it stands
/// (a 50 MB line must not sit in memory).
const LONGEST_PENDING_LINE: usize = 64 * 1024;

/// Turns raw output bytes into text fit for a model, a log or a screen.
#[derive(Debug, Default)]
pub struct StreamCleaner {
    /// The start of a line whose end has not arrived yet.
    pending: Vec<u8>,
}

impl StreamCleaner {
    /// Takes the next bytes; appends to `out` the cleaned text of every line they complete.
    pub fn feed(&mut self, bytes: &[u8], out: &mut String) {
        match bytes.iter().rposition(|&b| b == b'\n') {
            Some(last_newline) => {
                let (lines, rest) = bytes.split_at(last_newline + 1);
                if self.pending.is_empty() {
                    push_clean(lines, out);
                } else {
                    self.pending.extend_from_slice(lines);
                    push_clean(&std::mem::take(&mut self.pending), out);
                }
                self.pending.extend_from_slice(rest);
            }
            None => self.pending.extend_from_slice(bytes),
        }
        if self.pending.len() > LONGEST_PENDING_LINE {
            let cut = utf8_safe_end(&self.pending);
            let rest = self.pending.split_off(cut);
            push_clean(&std::mem::replace(&mut self.pending, rest), out);
        }
    }

    /// Appends what is left (a last line without a newline).
    pub fn finish(&mut self, out: &mut String) {
        push_clean(&std::mem::take(&mut self.pending), out);
    }
}

fn push_clean(bytes: &[u8], out: &mut String) {
    let text = String::from_utf8_lossy(bytes);
    out.push_str(&sanitize::for_display(&text));
}

/// Where `bytes` can be cut without splitting a UTF-8 character at the end.
fn utf8_safe_end(bytes: &[u8]) -> usize {
    // A character is at most 4 bytes: look back at most 3 for the lead byte of an unfinished one.
    for back in 1..=3.min(bytes.len()) {
        let at = bytes.len() - back;
        let byte = bytes[at];
        if byte & 0b1100_0000 == 0b1100_0000 {
            let needed = match byte {
                0xF0.. => 4,
                0xE0.. => 3,
                _ => 2,
            };
            return if back < needed { at } else { bytes.len() };
        }
        if byte & 0b1000_0000 == 0 {
            break;
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean_in_pieces(pieces: &[&[u8]]) -> String {
        let mut cleaner = StreamCleaner::default();
        let mut out = String::new();
        for piece in pieces {
            cleaner.feed(piece, &mut out);
        }
        cleaner.finish(&mut out);
        out
    }

    #[test]
    fn a_sequence_split_between_reads_is_still_removed() {
        let whole: &[u8] = b"red \x1b[31mtext\x1b[0m\n\x1b]52;c;cGF5bG9hZA==\x07after\n";
        for split in 0..whole.len() {
            let (a, b) = whole.split_at(split);
            assert_eq!(
                clean_in_pieces(&[a, b]),
                "red text\nafter\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn a_character_split_between_reads_survives() {
        let text = "héllo wörld ✓\n".as_bytes();
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(clean_in_pieces(&[a, b]), "héllo wörld ✓\n");
        }
    }

    #[test]
    fn an_endless_line_is_cleaned_in_bounded_pieces() {
        let mut cleaner = StreamCleaner::default();
        let mut out = String::new();
        let chunk = "é".repeat(10_000);
        for _ in 0..10 {
            cleaner.feed(chunk.as_bytes(), &mut out);
            assert!(cleaner.pending.len() <= LONGEST_PENDING_LINE);
        }
        cleaner.finish(&mut out);
        assert_eq!(out, chunk.repeat(10));
    }

    #[test]
    fn bad_utf8_becomes_replacement_characters() {
        assert_eq!(clean_in_pieces(&[b"a\xffb\n"]), "a\u{fffd}b\n");
    }

    #[test]
    fn utf8_safe_end_keeps_an_unfinished_character_back() {
        let check = "a✓".as_bytes(); // ✓ is three bytes
        assert_eq!(utf8_safe_end(&check[..2]), 1);
        assert_eq!(utf8_safe_end(&check[..3]), 1);
        assert_eq!(utf8_safe_end(check), 4);
        assert_eq!(utf8_safe_end(b"abc"), 3);
    }
}
