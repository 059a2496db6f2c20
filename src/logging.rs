//! Diagnostics go to a file in the user's state directory (`~/.local/state/tzzr/tzzr.log`),
//! never to the terminal. `TZZR_LOG` sets the filter (`info` by default). Every line is masked
//! of the secrets tzzr knows and cleaned of escape sequences before it is written.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::engine::redact::Redactor;
use crate::sanitize;

/// Where the diagnostics log lives, if the platform has a state (or data) directory.
pub fn log_dir() -> Option<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "tzzr")?;
    Some(
        dirs.state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf(),
    )
}

/// The secrets to mask in diagnostics and in the errors `main` prints: those of the process
/// environment at first, every one once the config and its `.env` files are read.
#[derive(Clone, Debug, Default)]
pub struct Secrets(Arc<RwLock<Arc<Redactor>>>);

impl Secrets {
    pub fn set(&self, redactor: Arc<Redactor>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = redactor;
    }

    pub fn get(&self) -> Arc<Redactor> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `text` masked and cleaned of escape sequences, for a terminal or a log.
    pub fn clean(&self, text: &str) -> String {
        let redactor = self.get();
        let masked = redactor.redact(text);
        sanitize::for_plain_text(&masked).into_owned()
    }
}

/// Starts logging to the file. Keep the guard alive until exit, or the last lines are lost.
/// Without a writable state directory, nothing is logged.
pub fn init(secrets: Secrets) -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let file = tracing_appender::rolling::never(&dir, "tzzr.log");
    // The default queue (128,000 lines) is allocated and touched up front: 4 ms of every start.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(1024)
        .finish(file);
    let filter = EnvFilter::try_from_env("TZZR_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Masking {
            inner: writer,
            secrets,
        })
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// Makes a [`MaskedLine`] for each event.
struct Masking {
    inner: NonBlocking,
    secrets: Secrets,
}

impl<'a> MakeWriter<'a> for Masking {
    type Writer = MaskedLine<NonBlocking>;

    fn make_writer(&'a self) -> Self::Writer {
        MaskedLine::new(self.inner.clone(), &self.secrets)
    }
}

/// Collects one event's text and writes it masked and cleaned when dropped (a secret split
/// across two writes is still masked).
struct MaskedLine<W: Write> {
    inner: W,
    redactor: Arc<Redactor>,
    text: Vec<u8>,
}

impl<W: Write> MaskedLine<W> {
    fn new(inner: W, secrets: &Secrets) -> Self {
        Self {
            inner,
            redactor: secrets.get(),
            text: Vec::with_capacity(256),
        }
    }
}

impl<W: Write> Write for MaskedLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for MaskedLine<W> {
    fn drop(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.text);
        let masked = self.redactor.redact(&text);
        let clean = sanitize::for_plain_text(&masked);
        // Nowhere to report a failed diagnostics write.
        let _ = self.inner.write_all(clean.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_line_is_masked_and_cleaned_even_when_written_in_pieces() {
        let secrets = Secrets::default();
        secrets.set(Arc::new(Redactor::new(["sk-log-0123456789"])));
        let mut out = Vec::new();
        {
            let mut line = MaskedLine::new(&mut out, &secrets);
            line.write_all(b"error: 401 for sk-log-01").unwrap();
            line.write_all(b"23456789 \x1b]52;c;AA==\x07done\n")
                .unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "error: 401 for *** done\n");
    }

    #[test]
    fn secrets_set_later_apply_to_what_comes_after() {
        let secrets = Secrets::default();
        assert_eq!(
            secrets.clean("key sk-late-0123456789"),
            "key sk-late-0123456789"
        );
        secrets.set(Arc::new(Redactor::new(["sk-late-0123456789"])));
        assert_eq!(secrets.clean("key sk-late-0123456789\x1b[6n"), "key ***");
    }
}
