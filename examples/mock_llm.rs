//! The mock LLM server of the tests, standalone: for benchmarks, manual runs and the real Claude
//! CLI (`ANTHROPIC_BASE_URL`). Prints its OpenAI base URL (`http://127.0.0.1:PORT/v1`; the
//! Anthropic base is the same without `/v1`) and serves until killed.
//!
//! `cargo run --example mock_llm -- --port 0 --delay-ms 0 [--api-key KEY] [--log requests.jsonl]`

#[path = "../tests/support/mock_llm.rs"]
mod mock_llm;

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "A mock OpenAI + Anthropic LLM server on 127.0.0.1")]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Wait this long before every answer (unless a directive or queued reply says otherwise).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Refuse `/v1/*` requests that do not carry this key.
    #[arg(long)]
    api_key: Option<String>,
    /// Append every request (secrets redacted) as a JSON line to this file.
    #[arg(long)]
    log: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let options = mock_llm::MockOptions {
        port: args.port,
        api_key: args.api_key,
        default_delay: Duration::from_millis(args.delay_ms),
        log: args.log,
        ..mock_llm::MockOptions::default()
    };
    let mock = mock_llm::MockLlm::start_with(options).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", mock.openai_base())?;
    stdout.flush()?;
    drop(stdout);
    tokio::signal::ctrl_c().await?;
    drop(mock);
    Ok(())
}
