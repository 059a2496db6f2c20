//! What the bash sandbox costs, the figures the README reports. Run with
//! `cargo bench --bench sandbox` (an optimised build).
//!
//! - a plain spawn of `bash -c true`, waited for (the floor);
//! - the same through tzzr's process runner, unconfined (own group, scrubbed environment,
//!   merged pipe, capture and cleaning);
//! - one sandboxed bash call through the toolbox as an agent makes it: the helper (tzzr
//!   itself), a mount namespace with the config, a `.env` and the log dir bound read-only, the
//!   working dir pinned, Landlock, then `bash -c true`, captured.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;
use tzzr::engine::conversation::ToolCall;
use tzzr::engine::protocol::CallId;
use tzzr::engine::tools::exec::SandboxSupport;
use tzzr::engine::tools::protected::Protected;
use tzzr::engine::tools::{ToolContext, Toolbox};

const RUNS: usize = 200;

fn main() {
    tzzr::engine::own_program::register(PathBuf::from(env!("CARGO_BIN_EXE_tzzr")));
    let support = SandboxSupport::detected();
    println!(
        "tzzr bash sandbox benchmarks ({} cores)\nsandbox here: {}\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        support.summary()
    );
    println!(
        "{:<58} {:>6} {:>10} {:>10}",
        "case", "runs", "median", "min"
    );

    report(
        "plain spawn of bash -c true (std, waited)",
        &measure(|| {
            let status = Command::new("/bin/bash")
                .args(["-c", "true"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        }),
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().canonicalize().unwrap();
    std::fs::write(root.join("config.yaml"), "agents: {}\n").unwrap();
    std::fs::write(root.join(".env"), "X=1\n").unwrap();
    std::fs::create_dir(root.join("logs")).unwrap();
    let ctx = ToolContext {
        protected: Arc::new(Protected::new([
            root.join("config.yaml"),
            root.join(".env"),
            root.join("logs"),
        ])),
        ..ToolContext::new(root.clone())
    };
    let call = ToolCall {
        id: CallId("bench".into()),
        tool: "bash".into(),
        args: json!({"command": "true"}),
    };
    let cancel = CancellationToken::new();

    let unconfined = Toolbox::new(&["bash".to_owned()], ctx.clone())
        .with_sandbox_support(SandboxSupport::none("benchmark: unconfined"));
    report(
        "bash tool, unconfined (group, env, capture)",
        &measure(|| {
            let out = runtime.block_on(unconfined.run(&call, &cancel));
            assert!(out.ok, "{}", out.output);
        }),
    );

    let sandboxed = Toolbox::new(&["bash".to_owned()], ctx);
    if support.confines() {
        report(
            "bash tool, sandboxed (helper, namespace, mounts, Landlock)",
            &measure(|| {
                let out = runtime.block_on(sandboxed.run(&call, &cancel));
                assert!(out.ok, "{}", out.output);
            }),
        );
    } else {
        println!("bash tool, sandboxed: skipped, nothing confines bash here");
    }
}

fn measure(mut run: impl FnMut()) -> Vec<Duration> {
    // One warm-up run: page cache, the probe, the runtime's threads.
    run();
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect()
}

fn report(case: &str, samples: &[Duration]) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    println!(
        "{case:<58} {:>6} {:>10} {:>10}",
        sorted.len(),
        ms(sorted[sorted.len() / 2]),
        ms(sorted[0])
    );
}
