//! A failed request in one line for the model: a refusal of the guard says which address and
//! why; anything else says what could not be done and the innermost reason ("connection
//! refused"), not reqwest's "error sending request for url (…)".

use std::error::Error;
use std::io;

use url::Url;

use super::client::{RedirectRefused, TooManyRedirects};
use super::resolver::{NameRefused, NotResolved};

/// What went wrong with the request to `url`.
pub fn describe(url: &Url, error: &reqwest::Error) -> String {
    // Where it failed: `url`, or the hop of a redirect that took it elsewhere.
    let at = error.url().unwrap_or(url);
    let via = if at == url {
        String::new()
    } else {
        format!(" (redirected from {url})")
    };
    if let Some(refused) = find::<NameRefused>(error) {
        // reqwest names the first URL even when a redirect led to the refused name.
        return if at.host_str() == Some(refused.name.as_str()) {
            format!("refused {at}: {refused}{via}")
        } else {
            format!("refused a redirect from {at}: {refused}")
        };
    }
    if let Some(refused) = find::<RedirectRefused>(error) {
        return format!("{refused} (redirected from {url})");
    }
    if let Some(too_many) = find::<TooManyRedirects>(error) {
        return format!("{too_many} (starting at {url})");
    }
    if let Some(not_resolved) = find::<NotResolved>(error) {
        return format!("cannot reach {at}: {not_resolved}{via}");
    }
    let reason = innermost_reason(error);
    if error.is_connect() {
        format!("cannot connect to {at}: {reason}{via}")
    } else if error.is_body() || error.is_decode() {
        format!("the response from {at} broke off: {reason}{via}")
    } else {
        format!("the request to {at} failed: {reason}{via}")
    }
}

fn find<'a, T: Error + 'static>(error: &'a (dyn Error + 'static)) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(cause) = current {
        if let Some(found) = cause.downcast_ref::<T>() {
            return Some(found);
        }
        current = cause.source();
    }
    None
}

/// The innermost cause, or the first I/O error on the way there worded plainly.
fn innermost_reason(error: &(dyn Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(cause) = innermost.source() {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return io_reason(io);
        }
        innermost = cause;
    }
    innermost.to_string()
}

fn io_reason(io: &io::Error) -> String {
    match io.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
        io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        io::ErrorKind::TimedOut => "timed out".to_owned(),
        io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        _ => io.to_string(),
    }
}
