//! Taking the terminal over and giving it back: raw mode, the alternate screen, mouse, bracketed
//! paste and (where the terminal has it) the keyboard protocol that reports Shift+Enter. The
//! terminal is restored on every way out: normal exit, error, and a panic on the UI thread.

use std::io::{self, Stdout};

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    KeyboardEnhancementFlags, PopKeyboardEnhancementFlags, PushKeyboardEnhancementFlags,
};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
    supports_keyboard_enhancement,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<Stdout>>;

/// Restores the terminal when dropped.
pub struct TerminalGuard {
    pub terminal: Tui,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        let _ = self.terminal.show_cursor();
    }
}

/// Takes the terminal over. Also installs the panic hook that gives it back first.
pub fn init() -> io::Result<TerminalGuard> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    if supports_keyboard_enhancement().unwrap_or(false) {
        execute!(
            stdout,
            PushKeyboardEnhancementFlags(KeyboardEnhancementFlags::DISAMBIGUATE_ESCAPE_CODES)
        )?;
    }
    let terminal = Terminal::new(CrosstermBackend::new(stdout))?;
    Ok(TerminalGuard { terminal })
}

/// Gives the terminal back as it was. Safe to call more than once.
pub fn restore() {
    let mut stdout = io::stdout();
    if supports_keyboard_enhancement().unwrap_or(false) {
        let _ = execute!(stdout, PopKeyboardEnhancementFlags);
    }
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen
    );
    let _ = disable_raw_mode();
}

/// A panic on the UI thread restores the terminal before the usual one-line report; a panic in
/// a background task (already caught and reported as a failed turn) only goes to the log, so the
/// screen is not scribbled on.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    let ui_thread = std::thread::current().id();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore();
            previous(info);
        } else {
            tracing::error!("panic in a background task: {info}");
        }
    }));
}
