//! The floor under `tzzr --all`: the same streamed chat request sent by N bare reqwest tasks at
//! once, with nothing else done (no agents, logs, limits or printing). What tzzr's fan-out is
//! measured against in the README; run it beside `examples/mock_llm`:
//!
//! `cargo run --release --example fanout_floor -- http://127.0.0.1:PORT/v1 1000`

#![allow(clippy::print_stdout)]

use std::time::Instant;

use anyhow::{Context, Result};
use futures::StreamExt;

const BODY: &str =
    r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args.next().context("usage: fanout_floor BASE_URL [N]")?;
    let n: usize = args.next().map_or(Ok(1000), |n| n.parse())?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let url = format!("{base}/chat/completions");
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..n {
        let request = client
            .post(&url)
            .header("content-type", "application/json")
            .body(BODY);
        calls.spawn(async move {
            let mut body = request.send().await?.bytes_stream();
            let mut bytes = 0;
            while let Some(chunk) = body.next().await {
                bytes += chunk?.len();
            }
            Ok::<usize, reqwest::Error>(bytes)
        });
    }
    let mut bytes = 0;
    while let Some(call) = calls.join_next().await {
        bytes += call??;
    }
    println!(
        "{n} streamed requests at once, {bytes} bytes: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}
