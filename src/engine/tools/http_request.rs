//! `http_request`: v6's HTTP tool (url, method, headers, body, timeout) that cannot be turned on
//! the machine it runs on: only http and https, and no loopback, private, link-local or other
//! special address, checked on the addresses actually connected to and on every redirect.

mod address;
mod client;
mod failure;
mod resolver;
mod response;
#[cfg(test)]
mod tests;

use std::time::Duration;

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use url::Url;

use super::args::{ArgError, Args};
use super::error::ToolError;

pub use client::HttpClient;

/// The methods v6 offered, and HEAD.
pub const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A checked `http_request` call.
#[derive(Debug)]
pub struct Request {
    url: Url,
    method: Method,
    headers: HeaderMap,
    body: Option<String>,
    /// The model's own time limit, if it gave one.
    timeout: Option<Duration>,
}

impl Request {
    pub fn from_args(args: &Args<'_>) -> Result<Self, ToolError> {
        let url = parse_url(&args.required_str("url")?)?;
        let method = match args.optional_str("method")? {
            None => Method::GET,
            Some(name) => parse_method(&name)?,
        };
        Ok(Self {
            url,
            method,
            headers: parse_headers(args.get("headers"))?,
            body: args.optional_str("body")?,
            timeout: parse_timeout(args.get("timeout"))?,
        })
    }

    /// How long the call may take: the model's timeout, at most the agent's.
    pub fn time_limit(&self, agent_limit: Duration) -> Duration {
        self.timeout.map_or(agent_limit, |own| own.min(agent_limit))
    }

    /// Sends the request and reads the answer. A status of 400 or above is an error that still
    /// shows the body. The caller bounds the time: dropping this future drops the connection.
    pub async fn run(self, http: &HttpClient) -> Result<String, ToolError> {
        let url = self.url;
        http.guard()
            .check_url(&url)
            .map_err(|refusal| ToolError::Failed(format!("refused {url}: {refusal}")))?;
        let is_head = self.method == Method::HEAD;
        let mut request = http
            .client()?
            .request(self.method, url.clone())
            .headers(self.headers);
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ToolError::Failed(failure::describe(&url, &e)))?;
        let reply = response::read(response, is_head, &url)
            .await
            .map_err(ToolError::Failed)?;
        if reply.is_error {
            Err(ToolError::Failed(reply.text))
        } else {
            Ok(reply.text)
        }
    }
}

fn parse_url(text: &str) -> Result<Url, ToolError> {
    if text.trim().is_empty() {
        return Err(ToolError::Failed("parameter `url` is empty".to_owned()));
    }
    Url::parse(text.trim()).map_err(|e| {
        ToolError::Failed(format!(
            "parameter `url` is not a valid URL ({e}): {text}; write it in full, like https://example.com/path"
        ))
    })
}

fn parse_method(name: &str) -> Result<Method, ToolError> {
    let upper = name.trim().to_ascii_uppercase();
    if !METHODS.contains(&upper.as_str()) {
        return Err(ToolError::Failed(format!(
            "method `{name}` is not supported (use one of {})",
            METHODS.join(", ")
        )));
    }
    Method::from_bytes(upper.as_bytes())
        .map_err(|_| ToolError::Failed(format!("method `{name}` is not a valid method")))
}

/// `headers`: an object whose values are strings (numbers and booleans are taken as written).
fn parse_headers(value: Option<&Value>) -> Result<HeaderMap, ToolError> {
    let mut headers = HeaderMap::new();
    let Some(value) = value else {
        return Ok(headers);
    };
    let Value::Object(fields) = value else {
        return Err(ArgError::WrongType {
            name: "headers",
            expected: "an object of header names to string values",
        }
        .into());
    };
    for (name, value) in fields {
        let text = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            Value::Bool(flag) => flag.to_string(),
            Value::Null | Value::Array(_) | Value::Object(_) => {
                return Err(ToolError::Failed(format!(
                    "header `{name}` must have a string value"
                )));
            }
        };
        let header_name = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| ToolError::Failed(format!("`{name}` is not a valid header name")))?;
        let header_value = HeaderValue::from_str(&text).map_err(|_| {
            ToolError::Failed(format!(
                "the value of header `{name}` is not valid (no line breaks or control characters)"
            ))
        })?;
        headers.append(header_name, header_value);
    }
    Ok(headers)
}

/// `timeout`: seconds, as a number or a numeric string; a huge one is simply the agent's.
fn parse_timeout(value: Option<&Value>) -> Result<Option<Duration>, ToolError> {
    let seconds = match value {
        None => return Ok(None),
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    seconds
        .filter(|s| *s > 0.0)
        .map(|s| Some(Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)))
        .ok_or_else(|| {
            ArgError::WrongType {
                name: "timeout",
                expected: "a positive number of seconds",
            }
            .into()
        })
}
