//! The prompt box: a multi-line `tui-textarea` with a history of sent prompts. Enter sends;
//! Alt+Enter, Shift+Enter or Ctrl+J starts a new line; Up on the first line and Down on the last
//! walk the history.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tui_textarea::{CursorMove, TextArea, WrapMode};

/// What a key did to the prompt box.
#[derive(Debug, PartialEq, Eq)]
pub enum InputOutcome {
    /// Enter on a non-empty prompt: here is its text (the box is now empty).
    Submit(String),
    /// The box used the key.
    Consumed,
    /// Not a key for the box (the app may use it).
    Ignored,
}

/// How many prompts the history keeps.
const HISTORY_KEPT: usize = 200;

#[derive(Debug)]
pub struct PromptInput {
    area: TextArea<'static>,
    history: Vec<String>,
    /// Position while walking the history (`None`: editing a new prompt).
    browsing: Option<usize>,
    /// The new prompt being written when the walk started.
    draft: Vec<String>,
}

impl Default for PromptInput {
    fn default() -> Self {
        let mut area = TextArea::default();
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        area.set_cursor_line_style(ratatui::style::Style::default());
        Self {
            area,
            history: Vec::new(),
            browsing: None,
            draft: Vec::new(),
        }
    }
}

impl PromptInput {
    pub fn textarea(&self) -> &TextArea<'static> {
        &self.area
    }

    pub fn set_placeholder(&mut self, text: &str) {
        if self.area.placeholder_text() != text {
            self.area.set_placeholder_text(text);
        }
    }

    /// Lines of text in the box (at least one).
    pub fn height(&self) -> u16 {
        u16::try_from(self.area.lines().len().max(1)).unwrap_or(u16::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.area.is_empty()
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// Pasted text goes in as it is, newlines included (never sent by a pasted newline).
    pub fn paste(&mut self, text: &str) {
        let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
        self.area.insert_str(normalized);
    }

    pub fn clear(&mut self) {
        self.set_lines(Vec::new());
        self.browsing = None;
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> InputOutcome {
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter if alt || shift => {
                self.area.insert_newline();
                InputOutcome::Consumed
            }
            KeyCode::Char('j') if ctrl => {
                self.area.insert_newline();
                InputOutcome::Consumed
            }
            KeyCode::Enter => {
                let text = self.text();
                if text.trim().is_empty() {
                    return InputOutcome::Consumed;
                }
                self.remember(&text);
                self.clear();
                InputOutcome::Submit(text)
            }
            KeyCode::Up if !ctrl && !alt && self.area.cursor().0 == 0 => {
                self.history_back();
                InputOutcome::Consumed
            }
            KeyCode::Down
                if !ctrl && !alt && self.area.cursor().0 + 1 >= self.area.lines().len() =>
            {
                if self.browsing.is_some() {
                    self.history_forward();
                    InputOutcome::Consumed
                } else {
                    InputOutcome::Ignored
                }
            }
            // Keys the app owns even while the box has the focus.
            KeyCode::Tab
            | KeyCode::BackTab
            | KeyCode::Esc
            | KeyCode::PageUp
            | KeyCode::PageDown => InputOutcome::Ignored,
            KeyCode::Char(_)
                if ctrl
                    && !matches!(
                        key.code,
                        KeyCode::Char(
                            'a' | 'e' | 'k' | 'u' | 'w' | 'h' | 'd' | 'b' | 'f' | 'z' | 'y'
                        )
                    ) =>
            {
                InputOutcome::Ignored
            }
            _ => {
                if self.area.input(key) {
                    self.browsing = None;
                }
                InputOutcome::Consumed
            }
        }
    }

    /// Adds a prompt to the history (sent now, or in the session this run resumed).
    pub fn remember(&mut self, text: &str) {
        if self.history.last().map(String::as_str) != Some(text) {
            self.history.push(text.to_owned());
        }
        let excess = self.history.len().saturating_sub(HISTORY_KEPT);
        self.history.drain(..excess);
    }

    fn history_back(&mut self) {
        let next = match self.browsing {
            None if self.history.is_empty() => return,
            None => {
                self.draft = self.area.lines().to_vec();
                self.history.len() - 1
            }
            Some(0) => return,
            Some(i) => i - 1,
        };
        self.browsing = Some(next);
        let lines = self.history[next].lines().map(str::to_owned).collect();
        self.set_lines(lines);
    }

    fn history_forward(&mut self) {
        let Some(i) = self.browsing else { return };
        if i + 1 < self.history.len() {
            self.browsing = Some(i + 1);
            let lines = self.history[i + 1].lines().map(str::to_owned).collect();
            self.set_lines(lines);
        } else {
            self.browsing = None;
            let draft = std::mem::take(&mut self.draft);
            self.set_lines(draft);
        }
    }

    /// Replaces the text, keeping the box's settings, cursor at the end.
    fn set_lines(&mut self, lines: Vec<String>) {
        let placeholder = self.area.placeholder_text().to_owned();
        let mut area = TextArea::new(if lines.is_empty() {
            vec![String::new()]
        } else {
            lines
        });
        area.set_wrap_mode(WrapMode::WordOrGlyph);
        area.set_cursor_line_style(ratatui::style::Style::default());
        area.set_placeholder_text(placeholder);
        area.move_cursor(CursorMove::Bottom);
        area.move_cursor(CursorMove::End);
        self.area = area;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(input: &mut PromptInput, text: &str) {
        for c in text.chars() {
            input.handle_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn enter_sends_and_alt_or_shift_enter_break_the_line() {
        let mut input = PromptInput::default();
        typed(&mut input, "one");
        input.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::ALT));
        typed(&mut input, "two");
        input.handle_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
        typed(&mut input, "three");
        assert_eq!(input.height(), 3);
        assert_eq!(
            input.handle_key(key(KeyCode::Enter)),
            InputOutcome::Submit("one\ntwo\nthree".into())
        );
        assert!(input.is_empty());
        assert_eq!(
            input.handle_key(key(KeyCode::Enter)),
            InputOutcome::Consumed,
            "nothing to send"
        );
    }

    #[test]
    fn up_and_down_walk_the_history_and_give_back_the_draft() {
        let mut input = PromptInput::default();
        for prompt in ["first", "second"] {
            typed(&mut input, prompt);
            input.handle_key(key(KeyCode::Enter));
        }
        typed(&mut input, "draft");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "second");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "first");
        input.handle_key(key(KeyCode::Up));
        assert_eq!(input.text(), "first", "the oldest stays");
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "second");
        input.handle_key(key(KeyCode::Down));
        assert_eq!(input.text(), "draft");
        assert_eq!(input.handle_key(key(KeyCode::Down)), InputOutcome::Ignored);
    }

    #[test]
    fn a_pasted_newline_does_not_send() {
        let mut input = PromptInput::default();
        input.paste("line one\r\nline two\n");
        assert_eq!(input.text(), "line one\nline two\n");
        assert_eq!(input.height(), 3);
    }

    #[test]
    fn keys_the_app_owns_are_left_to_it() {
        let mut input = PromptInput::default();
        for code in [KeyCode::Tab, KeyCode::Esc, KeyCode::PageUp] {
            assert_eq!(input.handle_key(key(code)), InputOutcome::Ignored);
        }
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(input.handle_key(ctrl_c), InputOutcome::Ignored);
    }
}
