//! Cleaning text from models and tools before it is drawn: escape sequences and control characters
//! never reach a cell, `\r` progress lines show their last state, tabs become spaces. Text for a
//! file or a pipe (logs, headless output) is cleaned the same way but keeps its tabs and lines.

use std::borrow::Cow;

use unicode_width::UnicodeWidthChar;

/// Tab stops are every this many columns (counted from the start of the line, in display width).
pub const TAB_WIDTH: usize = 4;

const ESC: char = '\u{1b}';
const BEL: char = '\u{07}';
/// CAN and SUB abort a sequence in progress (ECMA-48).
const CAN: char = '\u{18}';
const SUB: char = '\u{1a}';
/// 8-bit (C1) forms of CSI, OSC, ST and the string introducers DCS, SOS, PM and APC.
const CSI_8BIT: char = '\u{9b}';
const OSC_8BIT: char = '\u{9d}';
const ST_8BIT: char = '\u{9c}';
const DCS_8BIT: char = '\u{90}';
const SOS_8BIT: char = '\u{98}';
const PM_8BIT: char = '\u{9e}';
const APC_8BIT: char = '\u{9f}';

/// `text` as it may be drawn: without ANSI/VT escape sequences (CSI, OSC, DCS, SOS, PM, APC, in 7-
/// and 8-bit forms, and two- or three-character ESC sequences), without control characters other
/// than `\n`, with tabs expanded to the next multiple of [`TAB_WIDTH`] columns, and with each line
/// showing only what follows its last `\r` (what a terminal shows of a progress bar); a `\r`
/// directly before `\n` or at the end (CRLF, a last progress state) erases nothing.
///
/// A newline ends any sequence left open, so an unterminated OSC swallows the rest of its line
/// but never the next one: cleaning a text whole or line by line gives the same result.
/// Borrows when there is nothing to clean (the common case allocates nothing).
pub fn for_display(text: &str) -> Cow<'_, str> {
    if !needs_cleaning(text) {
        return Cow::Borrowed(text);
    }
    let mut cleaner = Cleaner::with_capacity(text.len(), Layout::Display);
    for c in text.chars() {
        cleaner.step(c);
    }
    Cow::Owned(cleaner.out)
}

/// `text` as it may be written to a log or a pipe that someone may later print to a terminal:
/// without escape sequences and control characters, like [`for_display`], but with its tabs
/// kept and each lone `\r` made a line break (so a progress line hides nothing written before
/// it); `\r\n` becomes `\n`. Borrows when there is nothing to clean.
pub fn for_plain_text(text: &str) -> Cow<'_, str> {
    if !needs_cleaning_keeping(text, b'\t') {
        return Cow::Borrowed(text);
    }
    let mut cleaner = Cleaner::with_capacity(text.len(), Layout::Kept);
    for c in text.chars() {
        cleaner.step(c);
    }
    Cow::Owned(cleaner.out)
}

/// [`for_display`] on one line: newlines become spaces too (for a one-line cell such as a tool
/// call's arguments).
pub fn line_for_display(text: &str) -> String {
    let clean = for_display(text);
    if clean.contains('\n') {
        clean.replace('\n', " ")
    } else {
        clean.into_owned()
    }
}

/// Whether `text` holds a control character other than `\n` (C0, DEL, or C1, which UTF-8 encodes
/// as `0xC2 0x80..=0x9F`). A byte scan: cheaper than decoding chars on the fast path.
fn needs_cleaning(text: &str) -> bool {
    needs_cleaning_keeping(text, b'\n')
}

/// [`needs_cleaning`], with one more C0 character (`kept`) allowed besides `\n`.
fn needs_cleaning_keeping(text: &str, kept: u8) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'\n' => false,
        b if b == kept => false,
        0x00..=0x1f | 0x7f => true,
        0xc2 => matches!(bytes.get(i + 1), Some(0x80..=0x9f)),
        _ => false,
    })
}

/// The state a character moves the parser to from any state, if it is one that does: ESC starts a
/// sequence, CAN, SUB and ST end one, and the 8-bit introducers start theirs.
fn sequence_control(c: char) -> Option<State> {
    match c {
        ESC => Some(State::Escape),
        CAN | SUB | ST_8BIT => Some(State::Ground),
        CSI_8BIT => Some(State::Csi),
        OSC_8BIT => Some(State::ControlString { ends_on_bel: true }),
        DCS_8BIT | SOS_8BIT | PM_8BIT | APC_8BIT => {
            Some(State::ControlString { ends_on_bel: false })
        }
        _ => None,
    }
}

/// Where the parser is, after the VT500 parser's states; everything but `Ground` is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Ground,
    /// After ESC.
    Escape,
    /// After ESC and one or more intermediates (`ESC ( B`, `ESC # 8`).
    EscapeIntermediate,
    /// After CSI, until its final byte.
    Csi,
    /// An OSC (`ends_on_bel`), DCS, SOS, PM or APC payload, until ST.
    ControlString {
        ends_on_bel: bool,
    },
}

/// What becomes of tabs and carriage returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// For a cell: tabs expand to spaces, `\r` returns to the start of the line.
    Display,
    /// For a file: tabs stay, a lone `\r` starts a new line.
    Kept,
}

struct Cleaner {
    out: String,
    layout: Layout,
    state: State,
    /// Byte offset in `out` where the current line starts (what a `\r` returns to).
    line_start: usize,
    /// Display column in the current line, for tab stops.
    column: usize,
    /// A `\r` was seen; the next visible character on this line overwrites the line.
    is_return_pending: bool,
}

impl Cleaner {
    fn with_capacity(capacity: usize, layout: Layout) -> Self {
        Self {
            out: String::with_capacity(capacity),
            layout,
            state: State::Ground,
            line_start: 0,
            column: 0,
            is_return_pending: false,
        }
    }

    fn step(&mut self, c: char) {
        if c == '\n' {
            self.state = State::Ground;
            self.new_line();
            return;
        }
        if let Some(next) = sequence_control(c) {
            self.state = next;
            return;
        }
        match self.state {
            State::Ground => self.ground(c),
            State::Escape => match c {
                '[' => self.state = State::Csi,
                ']' => self.state = State::ControlString { ends_on_bel: true },
                'P' | 'X' | '^' | '_' => self.state = State::ControlString { ends_on_bel: false },
                '\u{20}'..='\u{2f}' => self.state = State::EscapeIntermediate,
                '\u{30}'..='\u{7e}' => self.state = State::Ground,
                c if c.is_control() => {}
                c => self.abandon_sequence(c),
            },
            State::EscapeIntermediate => match c {
                '\u{20}'..='\u{2f}' => {}
                '\u{30}'..='\u{7e}' => self.state = State::Ground,
                c if c.is_control() => {}
                c => self.abandon_sequence(c),
            },
            State::Csi => match c {
                '\u{20}'..='\u{3f}' => {}
                '\u{40}'..='\u{7e}' => self.state = State::Ground,
                c if c.is_control() => {}
                c => self.abandon_sequence(c),
            },
            State::ControlString { ends_on_bel } => {
                if ends_on_bel && c == BEL {
                    self.state = State::Ground;
                }
            }
        }
    }

    fn new_line(&mut self) {
        self.out.push('\n');
        self.line_start = self.out.len();
        self.column = 0;
        self.is_return_pending = false;
    }

    /// A character that cannot be part of the sequence in progress (non-ASCII text): the
    /// sequence is dropped and the character kept, so no text is lost to a stray ESC.
    fn abandon_sequence(&mut self, c: char) {
        self.state = State::Ground;
        self.ground(c);
    }

    fn ground(&mut self, c: char) {
        match c {
            '\t' if self.layout == Layout::Kept => {
                self.overwrite_if_returned();
                self.out.push('\t');
            }
            '\t' => {
                self.overwrite_if_returned();
                let spaces = TAB_WIDTH - self.column % TAB_WIDTH;
                self.out.extend(std::iter::repeat_n(' ', spaces));
                self.column += spaces;
            }
            '\r' => self.is_return_pending = true,
            c if c.is_control() => {}
            c => {
                self.overwrite_if_returned();
                self.out.push(c);
                self.column += c.width().unwrap_or(0);
            }
        }
    }

    fn overwrite_if_returned(&mut self) {
        if self.is_return_pending && self.layout == Layout::Kept {
            self.new_line();
        } else if self.is_return_pending {
            self.out.truncate(self.line_start);
            self.column = 0;
            self.is_return_pending = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn clean(text: &str) -> String {
        for_display(text).into_owned()
    }

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "hello, wörld ✓ 漢字\nsecond line\n";
        assert!(matches!(for_display(text), Cow::Borrowed(t) if t == text));
        // Non-control characters in the 0xC2 lead-byte range (U+00A0..U+00BF) stay on the fast path.
        assert!(matches!(for_display("a\u{a0}b ©"), Cow::Borrowed(_)));
        assert!(matches!(for_display(""), Cow::Borrowed("")));
    }

    #[test]
    fn colours_and_cursor_moves_are_removed() {
        assert_eq!(clean("\x1b[1;31merror\x1b[0m: bad"), "error: bad");
        assert_eq!(clean("a\x1b[2Kb\x1b[10;20Hc\x1b[?25l"), "abc");
        assert_eq!(clean("\x1b[38;2;255;0;0mred\x1b[m"), "red");
    }

    #[test]
    fn clear_screen_and_reset_are_removed() {
        assert_eq!(clean("\x1b[2J\x1b[3J\x1b[Hafter"), "after");
        assert_eq!(clean("before\x1bcafter"), "beforeafter");
    }

    #[test]
    fn eight_bit_csi_is_removed_without_losing_the_rest_of_the_line() {
        assert_eq!(clean("a \u{9b}31m b"), "a  b");
        assert_eq!(clean("\u{9b}2Jx"), "x");
    }

    #[test]
    fn osc_52_clipboard_write_is_removed_with_either_terminator() {
        assert_eq!(clean("x\x1b]52;c;cm0gLXJmIC8=\x07y"), "xy");
        assert_eq!(clean("x\x1b]52;c;cm0gLXJmIC8=\x1b\\y"), "xy");
        assert_eq!(clean("x\u{9d}52;c;cm0gLXJmIC8=\u{9c}y"), "xy");
    }

    #[test]
    fn title_change_and_hyperlink_are_removed() {
        assert_eq!(clean("\x1b]0;pwned\x07ok"), "ok");
        assert_eq!(clean("\x1b]2;pwned\x1b\\ok"), "ok");
        assert_eq!(
            clean("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\"),
            "link"
        );
    }

    #[test]
    fn dcs_sos_pm_and_apc_payloads_are_removed() {
        assert_eq!(clean("a\x1bP1$r0m\x1b\\b"), "ab");
        assert_eq!(clean("a\x1bXsecret\x1b\\b"), "ab");
        assert_eq!(clean("a\x1b^secret\x1b\\b"), "ab");
        assert_eq!(clean("a\x1b_Gf=100;AAAA\x1b\\b"), "ab");
        assert_eq!(clean("a\u{90}q#0;2;0;0;0\u{9c}b"), "ab");
        // BEL ends an OSC only; inside a DCS it is payload.
        assert_eq!(clean("a\x1bPpay\x07load\x1b\\b"), "ab");
    }

    #[test]
    fn single_character_escape_sequences_are_removed() {
        assert_eq!(clean("a\x1b7b\x1b8c\x1bMd\x1b=e"), "abcde");
        assert_eq!(clean("a\x1b(Bb\x1b#8c"), "abc");
    }

    #[test]
    fn unterminated_sequences_at_the_end_leave_nothing_behind() {
        for text in [
            "tail\x1b",
            "tail\x1b[",
            "tail\x1b[31;",
            "tail\x1b(",
            "tail\x1b]52;c;AAAA",
            "tail\x1bPpayload",
            "tail\u{9b}1",
        ] {
            assert_eq!(clean(text), "tail", "{text:?}");
        }
    }

    #[test]
    fn an_unterminated_sequence_ends_at_the_newline() {
        assert_eq!(clean("a\x1b]0;title\nnext"), "a\nnext");
        assert_eq!(clean("a\x1b[12\nnext"), "a\nnext");
    }

    #[test]
    fn can_and_sub_abort_a_sequence() {
        assert_eq!(clean("a\x1b[12\x18b"), "ab");
        assert_eq!(clean("a\x1b]0;t\x1ab"), "ab");
    }

    #[test]
    fn a_stray_escape_before_text_drops_only_the_escape() {
        assert_eq!(clean("\x1bé"), "é");
        assert_eq!(clean("\x1b[é"), "é");
    }

    #[test]
    fn lone_control_characters_are_dropped() {
        assert_eq!(
            clean("a\x07b\x08c\x00d\x7fe\u{85}f\u{9a}g\x0bh\x0ci"),
            "abcdefghi"
        );
    }

    #[test]
    fn carriage_return_keeps_the_last_progress_state_of_each_line() {
        assert_eq!(clean("10%\r50%\r100%\ndone"), "100%\ndone");
        assert_eq!(
            clean("downloading 3%\r\x1b[Kdownloading 90%"),
            "downloading 90%"
        );
        assert_eq!(clean("first\nsecond\roverwritten"), "first\noverwritten");
    }

    #[test]
    fn crlf_and_a_trailing_return_erase_nothing() {
        assert_eq!(clean("one\r\ntwo\r\n"), "one\ntwo\n");
        assert_eq!(clean("progress 40%\r"), "progress 40%");
    }

    #[test]
    fn tabs_expand_to_the_next_multiple_of_four_columns() {
        assert_eq!(clean("\tx"), "    x");
        assert_eq!(clean("ab\tc"), "ab  c");
        assert_eq!(clean("abcd\te"), "abcd    e");
        assert_eq!(clean("a\nbc\td"), "a\nbc  d");
        // Columns are display width: 漢 is two columns wide.
        assert_eq!(clean("漢\tx"), "漢  x");
        // Escape sequences take no columns.
        assert_eq!(clean("\x1b[31mab\x1b[0m\tc"), "ab  c");
        assert_eq!(clean("xx\rab\tc"), "ab  c");
    }

    #[test]
    fn one_line_cells_get_spaces_for_newlines() {
        assert_eq!(line_for_display("{\"a\":\n\t1}"), "{\"a\":     1}");
        assert_eq!(line_for_display("plain"), "plain");
        assert_eq!(line_for_display("\x1b[1mx\x1b[0m\r\ny"), "x y");
    }

    #[test]
    fn cleaning_line_by_line_equals_cleaning_the_whole_text() {
        let text = "a\x1b]0;open\nb\x1b[3\nc\tx\r\nd\re\n\x1bPq\nf";
        let by_line: Vec<String> = text.split('\n').map(clean).collect();
        assert_eq!(clean(text), by_line.join("\n"));
    }

    #[test]
    fn plain_text_keeps_tabs_and_lines_but_loses_every_sequence() {
        assert_eq!(for_plain_text("a\tb\nc"), "a\tb\nc");
        assert!(matches!(for_plain_text("a\tb\nc"), Cow::Borrowed(_)));
        assert_eq!(
            for_plain_text("x\x1b]52;c;ZXZpbA==\x07y\x1b[6n\u{9b}2Jz\x7f"),
            "xyz"
        );
        assert_eq!(for_plain_text("one\r\ntwo\r\n"), "one\ntwo\n");
        assert_eq!(
            for_plain_text("rm -rf ~\rls -la"),
            "rm -rf ~\nls -la",
            "a carriage return hides nothing"
        );
        assert_eq!(
            for_plain_text("\tindented\x1b[1m\tbold"),
            "\tindented\tbold"
        );
    }

    /// A tiny xorshift64: deterministic random input without a crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn no_control_character_but_newline_survives_random_input() {
        // Bytes weighted towards the interesting ones: ESC, sequence introducers and finals,
        // C0, C1 (as raw bytes, which lossy decoding turns into U+FFFD, and as UTF-8), text.
        const INTERESTING: &[&[u8]] = &[
            b"\x1b",
            b"[",
            b"]",
            b"P",
            b"X",
            b"^",
            b"_",
            b"\\",
            b"\x07",
            b"\r",
            b"\n",
            b"\t",
            b"\x18",
            b"\x1a",
            b"\x7f",
            b";",
            b"1",
            b"m",
            b"(",
            b" ",
            "\u{9b}".as_bytes(),
            "\u{9d}".as_bytes(),
            "\u{9c}".as_bytes(),
            "\u{90}".as_bytes(),
            "\u{85}".as_bytes(),
            "é".as_bytes(),
            "漢".as_bytes(),
            b"a",
        ];
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let len = (rng.next() % 40) as usize;
            let mut bytes = Vec::with_capacity(len * 2);
            for _ in 0..len {
                let r = rng.next();
                if r.is_multiple_of(3) {
                    bytes.push((r >> 8) as u8);
                } else {
                    bytes.extend_from_slice(INTERESTING[(r >> 8) as usize % INTERESTING.len()]);
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            let clean = for_display(&text);
            assert!(
                clean.chars().all(|c| c == '\n' || !c.is_control()),
                "{text:?} -> {clean:?}"
            );
            assert_eq!(
                clean.matches('\n').count(),
                text.matches('\n').count(),
                "newlines are kept: {text:?}"
            );
            let line = line_for_display(&text);
            assert!(
                line.chars().all(|c| !c.is_control()),
                "{text:?} -> {line:?}"
            );
            let plain = for_plain_text(&text);
            assert!(
                plain
                    .chars()
                    .all(|c| c == '\n' || c == '\t' || !c.is_control()),
                "{text:?} -> {plain:?}"
            );
        }
    }
}
