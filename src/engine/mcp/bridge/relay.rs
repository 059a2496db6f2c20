//! `tzzr __mcp-bridge SOCKET`: what the Claude CLI starts as its MCP server `tzzr`. It copies
//! its stdin to the running tzzr's socket and the socket to its stdout, byte for byte, until
//! either side closes. No async runtime: two threads and blocking copies.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Relays stdio to `socket` until the running tzzr closes it (or stdin ends and tzzr then
/// closes). The error says what went wrong in one line.
pub fn relay(socket: &Path) -> Result<(), String> {
    let stream = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach the running tzzr at {}: {e} (this mode is started by the Claude CLI that tzzr runs, not by hand)",
            socket.display()
        )
    })?;
    let mut to_tzzr = stream
        .try_clone()
        .map_err(|e| format!("cannot use the socket {}: {e}", socket.display()))?;
    // Ends when stdin does; the process may exit before (when tzzr closes first).
    std::thread::spawn(move || {
        let _ = copy(&mut io::stdin().lock(), &mut to_tzzr);
        let _ = to_tzzr.shutdown(Shutdown::Write);
    });
    let mut from_tzzr = stream;
    copy(&mut from_tzzr, &mut io::stdout().lock())
        .map_err(|e| format!("relaying to the Claude CLI failed: {e}"))
}

/// Copies until the end of `from`, flushing after every read so that no message waits.
fn copy(from: &mut impl Read, to: &mut impl Write) -> io::Result<()> {
    let mut buffer = [0u8; 8192];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buffer[..n])?;
        to.flush()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_moves_every_byte_and_stops_at_the_end() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        copy(&mut data.as_slice(), &mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn a_missing_socket_is_one_clear_line() {
        let error = relay(Path::new("/nonexistent/tzzr.sock")).unwrap_err();
        assert!(
            error.starts_with("cannot reach the running tzzr at /nonexistent/tzzr.sock: "),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }
}
