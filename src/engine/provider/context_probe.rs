//! Asks a local model server how large its context window is, once per endpoint and model, in
//! the background: llama.cpp's `GET /props` (`default_generation_settings.n_ctx`), else
//! Ollama's `POST /api/show` (`model_info.*.context_length`, or `num_ctx` in `parameters`).
//! The server is hostile until proven otherwise: each answer is bounded in time and size, and a
//! figure outside the plausible range is ignored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::engine::context::{ContextWindow, ReportedWindow};
use crate::engine::resilience::Endpoint;

/// The whole probe (both questions) gives up after this.
const PROBE_TIME: Duration = Duration::from_secs(5);
/// An answer longer than this is not read on (Ollama's `/api/show` carries a licence text).
const MAX_BODY_BYTES: usize = 512 * 1024;

/// The probes started so far, one per (base URL, model): agents sharing a model share its answer.
#[derive(Debug, Default)]
pub struct WindowProbes {
    started: HashMap<(String, String), ReportedWindow>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WindowProbes {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl WindowProbes {
    /// Where the window of `model` on `endpoint` will appear; the first time, starts a probe
    /// that asks once an agent wants the answer. Must run inside a tokio runtime.
    pub fn window_of(&mut self, endpoint: &Arc<Endpoint>, model: &str) -> ReportedWindow {
        let key = (endpoint.base_url.clone(), model.to_owned());
        if let Some(found) = self.started.get(&key) {
            return found.clone();
        }
        let cell = ReportedWindow::default();
        let (endpoint, model, answer) = (Arc::clone(endpoint), model.to_owned(), cell.clone());
        let task = tokio::spawn(async move {
            answer.wanted().await;
            let asked = tokio::time::timeout(PROBE_TIME, ask(&endpoint, &model)).await;
            match asked.ok().flatten().and_then(ContextWindow::reported) {
                Some(window) => answer.set(window),
                None => tracing::debug!(
                    base = %endpoint.base_url, model,
                    "the server did not say how large the context window is"
                ),
            }
        });
        self.tasks.push(task);
        self.started.insert(key, cell.clone());
        cell
    }
}

/// llama.cpp first (one GET), then Ollama.
async fn ask(endpoint: &Endpoint, model: &str) -> Option<u64> {
    let root = server_root(&endpoint.base_url);
    let props = endpoint.http.get(format!("{root}/props"));
    if let Some(n) = fetch(endpoint, props)
        .await
        .as_ref()
        .and_then(window_in_props)
    {
        return Some(n);
    }
    let show = endpoint
        .http
        .post(format!("{root}/api/show"))
        .json(&serde_json::json!({ "model": model }));
    fetch(endpoint, show)
        .await
        .as_ref()
        .and_then(window_in_show)
}

/// The base URL without its API version: `http://host:8080/v1` → `http://host:8080`.
fn server_root(base_url: &str) -> &str {
    let base = base_url.trim_end_matches('/');
    base.strip_suffix("/v1").unwrap_or(base)
}

/// The JSON of a successful answer, read up to [`MAX_BODY_BYTES`].
async fn fetch(endpoint: &Endpoint, request: reqwest::RequestBuilder) -> Option<Value> {
    let request = match &endpoint.key {
        Some(key) => request.bearer_auth(key.expose()),
        None => request,
    };
    let mut response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).ok()
}

/// llama.cpp: `default_generation_settings.n_ctx` (older servers: top-level `n_ctx`).
fn window_in_props(props: &Value) -> Option<u64> {
    props
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| props.get("n_ctx"))
        .and_then(Value::as_u64)
}

/// Ollama: a `num_ctx` the model was given beats the architecture's `context_length`.
fn window_in_show(show: &Value) -> Option<u64> {
    let configured = show
        .get("parameters")
        .and_then(Value::as_str)
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("num_ctx"))
                    .then(|| words.next()?.parse().ok())
                    .flatten()
            })
        });
    configured.or_else(|| {
        show.get("model_info")?
            .as_object()?
            .iter()
            .find(|(key, _)| key.ends_with(".context_length"))
            .and_then(|(_, n)| n.as_u64())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn llama_cpp_props_give_n_ctx() {
        assert_eq!(
            window_in_props(&json!({"default_generation_settings": {"n_ctx": 4096}})),
            Some(4096)
        );
        assert_eq!(window_in_props(&json!({"n_ctx": 2048})), Some(2048));
        assert_eq!(window_in_props(&json!({"n_ctx": "lots"})), None);
    }

    #[test]
    fn ollama_show_gives_num_ctx_before_the_architectures_context_length() {
        let show = json!({
            "parameters": "stop \"<|eot_id|>\"\nnum_ctx 16384",
            "model_info": {"general.architecture": "llama", "llama.context_length": 131072}
        });
        assert_eq!(window_in_show(&show), Some(16_384));
        let plain = json!({"model_info": {"qwen2.context_length": 32768}});
        assert_eq!(window_in_show(&plain), Some(32_768));
        assert_eq!(window_in_show(&json!({"parameters": "num_ctx x"})), None);
    }

    #[test]
    fn the_probe_asks_the_server_root_not_the_api_version() {
        assert_eq!(
            server_root("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_root("http://127.0.0.1:11434/v1/"),
            "http://127.0.0.1:11434"
        );
        assert_eq!(server_root("http://host/proxy"), "http://host/proxy");
    }
}
