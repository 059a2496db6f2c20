//! What the model reads of a response: the status line, the headers worth knowing, and the
//! body, read as a stream up to a cap (a 50 MB answer is cut, not held), with binary bodies
//! summarised by size and type rather than dumped.

use reqwest::header::{self, HeaderMap, HeaderName};
use url::Url;

use super::failure;
use crate::engine::tools::limits::char_floor;

/// The most body bytes read from one response; the rest is never read.
pub const BODY_LIMIT: usize = 80_000;

/// The most characters of one header value shown.
const HEADER_VALUE_LIMIT: usize = 500;

/// The most rate-limit headers shown.
const RATE_LIMIT_HEADERS: usize = 8;

/// The headers shown, in this order; plus rate-limit headers (`x-ratelimit-*`, `ratelimit*`).
const SHOWN_HEADERS: [HeaderName; 12] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::CONTENT_RANGE,
    header::CONTENT_DISPOSITION,
    header::LOCATION,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::ALLOW,
    header::LINK,
    header::ETAG,
    header::LAST_MODIFIED,
];

/// A response as the model reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    /// The status is 400 or above: the call failed, with the body still shown.
    pub is_error: bool,
}

/// Reads `response` (its body too, unless `is_head`) into what the model reads.
pub async fn read(
    mut response: reqwest::Response,
    is_head: bool,
    requested: &Url,
) -> Result<Reply, String> {
    let status = response.status();
    let mut text = format!(
        "{:?} {} {}",
        response.version(),
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    )
    .trim_end()
    .to_owned();
    if response.url() != requested {
        text.push_str(&format!("\nfinal url: {}", response.url()));
    }
    for line in header_lines(response.headers()) {
        text.push('\n');
        text.push_str(&line);
    }
    if !is_head {
        let body = read_capped(&mut response, BODY_LIMIT)
            .await
            .map_err(|e| failure::describe(requested, &e))?;
        let headers = response.headers();
        text.push_str("\n\n");
        text.push_str(&body_text(
            &body,
            header_str(headers, &header::CONTENT_TYPE),
            header_str(headers, &header::CONTENT_LENGTH).and_then(|n| n.trim().parse().ok()),
        ));
    }
    Ok(Reply {
        text,
        is_error: status.as_u16() >= 400,
    })
}

/// The first bytes of a body, and whether there was more.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Body {
    pub bytes: Vec<u8>,
    pub is_cut: bool,
}

/// Reads chunks until the body ends or `limit` bytes are in; the rest stays unread and the
/// connection is dropped with the response.
async fn read_capped(response: &mut reqwest::Response, limit: usize) -> reqwest::Result<Body> {
    let mut body = Body::default();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.bytes.len();
        if chunk.len() > room {
            body.bytes.extend_from_slice(&chunk[..room]);
            body.is_cut = true;
            break;
        }
        body.bytes.extend_from_slice(&chunk);
        if body.bytes.len() == limit {
            // Exactly at the limit: only one more read says whether there was more.
            body.is_cut = response.chunk().await?.is_some_and(|next| !next.is_empty());
            break;
        }
    }
    Ok(body)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `name: value` for each header worth showing.
fn header_lines(headers: &HeaderMap) -> Vec<String> {
    let line = |name: &HeaderName, value: &header::HeaderValue| {
        let value = String::from_utf8_lossy(value.as_bytes());
        let end = char_floor(&value, HEADER_VALUE_LIMIT);
        let more = if end < value.len() { "…" } else { "" };
        format!("{name}: {}{more}", &value[..end])
    };
    let mut lines: Vec<String> = SHOWN_HEADERS
        .iter()
        .flat_map(|name| headers.get_all(name).iter().map(move |v| line(name, v)))
        .collect();
    lines.extend(
        headers
            .iter()
            .filter(|(name, _)| {
                let name = name.as_str();
                name.starts_with("x-ratelimit") || name.starts_with("ratelimit")
            })
            .take(RATE_LIMIT_HEADERS)
            .map(|(name, value)| line(name, value)),
    );
    lines
}

/// How a content type says its body should be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Binary,
    /// No content type, or one this table does not know: the bytes decide.
    Unknown,
}

fn kind_of(content_type: Option<&str>) -> Kind {
    let Some(content_type) = content_type else {
        return Kind::Unknown;
    };
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let (top, sub) = mime.split_once('/').unwrap_or((mime.as_str(), ""));
    let textual_sub = [
        "json",
        "xml",
        "javascript",
        "ecmascript",
        "x-www-form-urlencoded",
        "yaml",
        "x-yaml",
        "toml",
        "graphql",
        "sql",
        "x-ndjson",
        "csv",
        "x-sh",
    ];
    if top == "text"
        || textual_sub.contains(&sub)
        || sub.ends_with("+json")
        || sub.ends_with("+xml")
        || sub.ends_with("+yaml")
    {
        Kind::Text
    } else if matches!(top, "image" | "audio" | "video" | "font" | "model")
        || matches!(
            sub,
            "octet-stream" | "pdf" | "zip" | "gzip" | "x-gzip" | "x-tar" | "wasm" | "x-protobuf"
        )
        || sub.starts_with("vnd.")
    {
        Kind::Binary
    } else {
        Kind::Unknown
    }
}

/// The body as the model reads it: its text (with a note when cut), or a summary when binary.
pub fn body_text(body: &Body, content_type: Option<&str>, content_length: Option<u64>) -> String {
    if body.bytes.is_empty() && !body.is_cut {
        return "[empty body]".to_owned();
    }
    let text = match kind_of(content_type) {
        Kind::Binary => None,
        Kind::Text => {
            let text = decoded(body, true);
            text.filter(|text| !text.contains('\0'))
        }
        Kind::Unknown => decoded(body, false).filter(|text| !text.contains('\0')),
    };
    let Some(mut text) = text else {
        let size = match (body.is_cut, content_length) {
            (false, _) => format!("{} bytes", body.bytes.len()),
            (true, Some(length)) => format!("{length} bytes"),
            (true, None) => format!("more than {} bytes", body.bytes.len()),
        };
        let kind = content_type.unwrap_or("unknown type");
        return format!("[binary body: {size} of {kind}, not shown]");
    };
    if body.is_cut {
        let of = match content_length {
            Some(length) => format!(" of {length}"),
            None => String::new(),
        };
        text.push_str(&format!(
            "\n[… body cut after {} bytes{of}; the rest was not read]",
            body.bytes.len()
        ));
    }
    text
}

/// The body as UTF-8 text: lossily when the content type says it is text, else only when it
/// is valid (a character split by the cut does not count against it).
fn decoded(body: &Body, lossy: bool) -> Option<String> {
    match std::str::from_utf8(&body.bytes) {
        Ok(text) => Some(text.to_owned()),
        Err(e) if body.is_cut && e.error_len().is_none() => {
            Some(String::from_utf8_lossy(&body.bytes[..e.valid_up_to()]).into_owned())
        }
        Err(_) if lossy => Some(String::from_utf8_lossy(&body.bytes).into_owned()),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use reqwest::header::HeaderValue;

    fn body(bytes: &[u8], is_cut: bool) -> Body {
        Body {
            bytes: bytes.to_vec(),
            is_cut,
        }
    }

    #[test]
    fn text_is_shown_whole_and_an_empty_body_says_so() {
        assert_eq!(
            body_text(
                &body(b"{\"ok\":true}", false),
                Some("application/json"),
                Some(11)
            ),
            "{\"ok\":true}"
        );
        assert_eq!(
            body_text(&body(b"", false), Some("text/plain"), Some(0)),
            "[empty body]"
        );
        assert_eq!(body_text(&body(b"plain", false), None, None), "plain");
    }

    #[test]
    fn a_cut_body_says_how_much_was_read_and_of_what() {
        assert_eq!(
            body_text(&body(b"abc", true), Some("text/plain"), Some(52_428_800)),
            "abc\n[… body cut after 3 bytes of 52428800; the rest was not read]"
        );
        assert_eq!(
            body_text(&body(b"abc", true), None, None),
            "abc\n[… body cut after 3 bytes; the rest was not read]"
        );
    }

    #[test]
    fn a_character_split_by_the_cut_is_dropped_not_mangled() {
        let mut bytes = "né".as_bytes().to_vec();
        bytes.pop();
        assert_eq!(
            body_text(&body(&bytes, true), None, None),
            "n\n[… body cut after 2 bytes; the rest was not read]"
        );
    }

    #[test]
    fn binary_bodies_are_summarised_by_size_and_type() {
        assert_eq!(
            body_text(&body(b"\x89PNG\r\n", false), Some("image/png"), Some(6)),
            "[binary body: 6 bytes of image/png, not shown]"
        );
        assert_eq!(
            body_text(
                &body(b"plain looking", true),
                Some("application/octet-stream"),
                Some(9_000_000)
            ),
            "[binary body: 9000000 bytes of application/octet-stream, not shown]"
        );
        assert_eq!(
            body_text(&body(&[0xff, 0xfe, 0x00, 0x41], false), None, None),
            "[binary body: 4 bytes of unknown type, not shown]"
        );
        assert_eq!(
            body_text(&body(&[0xff; 10], true), Some("application/x-thing"), None),
            "[binary body: more than 10 bytes of application/x-thing, not shown]"
        );
        assert_eq!(
            body_text(&body(b"a\0b", false), Some("text/plain"), None),
            "[binary body: 3 bytes of text/plain, not shown]"
        );
    }

    #[test]
    fn text_types_with_stray_bytes_are_shown_lossily() {
        assert_eq!(
            body_text(
                &body(b"caf\xe9", false),
                Some("text/html; charset=iso-8859-1"),
                None
            ),
            "caf\u{fffd}"
        );
    }

    #[test]
    fn content_types_are_classified() {
        for text in [
            "text/plain",
            "Text/HTML; charset=utf-8",
            "application/json",
            "application/problem+json",
            "application/vnd.api+json",
            "image/svg+xml",
            "application/x-www-form-urlencoded",
        ] {
            assert_eq!(kind_of(Some(text)), Kind::Text, "{text}");
        }
        for binary in [
            "image/png",
            "video/mp4",
            "application/octet-stream",
            "application/pdf",
            "application/vnd.ms-excel",
            "font/woff2",
        ] {
            assert_eq!(kind_of(Some(binary)), Kind::Binary, "{binary}");
        }
        assert_eq!(kind_of(None), Kind::Unknown);
        assert_eq!(kind_of(Some("application/x-unheard-of")), Kind::Unknown);
    }

    #[test]
    fn only_useful_headers_are_shown_in_a_fixed_order() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("set-cookie", "session=secret"),
            ("x-ratelimit-remaining", "41"),
            ("location", "/next"),
            ("content-type", "text/plain"),
            ("server", "nginx"),
            ("retry-after", "30"),
            ("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
        ] {
            headers.append(name, HeaderValue::from_static(value));
        }
        assert_eq!(
            header_lines(&headers),
            [
                "content-type: text/plain",
                "location: /next",
                "retry-after: 30",
                "x-ratelimit-remaining: 41",
            ]
        );
    }

    #[test]
    fn long_header_values_are_cut() {
        let mut headers = HeaderMap::new();
        let long = "a".repeat(HEADER_VALUE_LIMIT + 10);
        headers.insert(header::LOCATION, HeaderValue::from_str(&long).unwrap());
        assert_eq!(
            header_lines(&headers),
            [format!("location: {}…", "a".repeat(HEADER_VALUE_LIMIT))]
        );
    }
}
