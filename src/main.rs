//! Wiring only: parse flags, start logging, load the config, pick the front end.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use tzzr::cli::args::{Args, Mode};
use tzzr::cli::headless::{Finished, exit_status, run_task, run_turns};
use tzzr::cli::print::{Format, Layout, Printer};
use tzzr::cli::report;
use tzzr::engine::config::{self, Config};
use tzzr::engine::env::Environment;
use tzzr::engine::health;
use tzzr::engine::mcp::bridge;
use tzzr::engine::orchestrator::{self, Orchestrator};
use tzzr::engine::tools::approval::Asker;

fn main() -> ExitCode {
    // The Claude CLI starts tzzr as its MCP server: relay, before any flag is looked at.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().is_some_and(|mode| mode == bridge::RELAY_MODE) {
        return relay(argv.next());
    }
    bridge::use_this_executable();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // Listing agents reads the config and nothing else: it runs no agent and logs nothing.
    let _log = (!args.agents).then(tzzr::logging::init).flatten();
    install_panic_hook();
    raise_open_file_limit();
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            report_error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `tzzr __mcp-bridge SOCKET`: copies stdio to the running tzzr's socket and back.
fn relay(socket: Option<std::ffi::OsString>) -> ExitCode {
    let Some(socket) = socket else {
        report_error("__mcp-bridge needs the socket of the running tzzr");
        return ExitCode::FAILURE;
    };
    match bridge::relay::relay(Path::new(&socket)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the one place errors reach the user headless"
)]
fn report_error(message: &str) {
    eprintln!("tzzr: {message}");
}

/// A panic is a bug: say so in one line (the details go to the log), never a raw backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("panic: {info}");
        let log = tzzr::logging::log_dir()
            .map(|d| d.join("tzzr.log").display().to_string())
            .unwrap_or_else(|| "the log".to_owned());
        report_error(&format!("internal error: {info}; details in {log}"));
    }));
}

/// Every agent keeps its two log files open and may hold a connection: a team of a thousand
/// needs more than the usual soft limit of 1,024 descriptors. The hard limit is ours to take.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!("cannot raise the open-file limit: {e}");
        }
    }
}

fn run(args: Args) -> Result<ExitCode> {
    let mode = args.mode()?;
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let user_dir =
        directories::ProjectDirs::from("", "", "tzzr").map(|d| d.config_dir().to_path_buf());
    let path = config::discover(args.config.as_deref(), &cwd, user_dir.as_deref())?;
    let (config, env, warnings) = load(&path, &cwd)?;
    if mode != Mode::Tui {
        for warning in &warnings {
            report_error(&format!("warning: {warning}"));
        }
    }

    match mode {
        Mode::Agents => {
            let agents = orchestrator::describe(&config, &env);
            if args.json {
                print_stdout(&serde_json::to_string_pretty(&agents)?);
            } else {
                print_raw(&report::agents_text(&agents));
            }
            Ok(ExitCode::SUCCESS)
        }
        Mode::Tui => {
            anyhow::ensure!(
                std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
                "the terminal UI needs a terminal; from a script use --agent NAME --prompt TEXT, --all or --task (see --help)"
            );
            let reloader: tzzr::tui::run::Reloader = std::sync::Arc::new(move || {
                load(&path, &cwd)
                    .map(|(config, env, _)| (config, env))
                    .map_err(|e| format!("{e:#}"))
            });
            block_on(async {
                let (orch, events) = Orchestrator::start(config, &env, Asker::Interactive)?;
                tzzr::tui::run::run(orch, events, reloader, warnings).await?;
                Ok(ExitCode::SUCCESS)
            })
        }
        Mode::Status => block_on(async {
            let (orch, _events) = Orchestrator::start(config, &env, asker(&args))?;
            orch.settle_mcp().await;
            print_stdout(&serde_json::to_string_pretty(&orch.status())?);
            orch.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }),
        Mode::Health => block_on(async {
            let (orch, _events) = Orchestrator::start(config, &env, asker(&args))?;
            let reports = health::check(&orch).await;
            if args.json {
                print_stdout(&serde_json::to_string_pretty(&reports)?);
            } else {
                print_raw(&report::health_text(&reports));
            }
            orch.shutdown().await;
            Ok(if reports.iter().all(|r| r.healthy) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }),
        Mode::Prompt { agent, prompt } => {
            let prompt = read_prompt(prompt)?;
            run_headless(config, &env, vec![(agent, prompt)], Layout::Stream, &args)
        }
        Mode::All { prompt } => {
            let prompt = read_prompt(prompt)?;
            let prompts = config
                .agents
                .keys()
                .map(|name| (name.clone(), prompt.clone()))
                .collect();
            run_headless(config, &env, prompts, Layout::Blocks, &args)
        }
        Mode::Task { name } => {
            let Some(task) = config.tasks.get(&name).cloned() else {
                let known: Vec<&str> = config.tasks.keys().map(String::as_str).collect();
                anyhow::bail!(
                    "unknown task `{name}`; tasks: {}",
                    if known.is_empty() {
                        "none (add some under `tasks:`)".to_owned()
                    } else {
                        known.join(", ")
                    }
                );
            };
            anyhow::ensure!(!task.steps.is_empty(), "task `{name}` has no steps");
            block_on(async {
                let (mut orch, mut events) = Orchestrator::start(config, &env, asker(&args))?;
                let mut printer = printer(Layout::Stream, args.json);
                let finished = run_task(&mut orch, &mut events, &task.steps, &mut printer).await?;
                orch.shutdown().await;
                Ok(exit_code(&finished))
            })
        }
    }
}

fn printer(layout: Layout, json: bool) -> Printer<std::io::StdoutLock<'static>, std::io::Stderr> {
    let format = if json { Format::Json } else { Format::Text };
    let stdout = std::io::stdout();
    let clean = stdout.is_terminal();
    Printer::new(stdout.lock(), std::io::stderr(), format, layout, clean)
}

/// Headless, nobody can answer an approval: `--yes` answers yes to all of them.
fn asker(args: &Args) -> Asker {
    if args.yes {
        Asker::ApproveAll
    } else {
        Asker::Nobody
    }
}

fn exit_code(finished: &[Finished]) -> ExitCode {
    ExitCode::from(exit_status(finished))
}

fn run_headless(
    config: Config,
    env: &Environment,
    prompts: Vec<(String, String)>,
    layout: Layout,
    args: &Args,
) -> Result<ExitCode> {
    block_on(async {
        let (mut orch, mut events) = Orchestrator::start(config, env, asker(args))?;
        let mut printer = printer(layout, args.json);
        let finished = run_turns(&mut orch, &mut events, prompts, &mut printer).await?;
        orch.shutdown().await;
        Ok(exit_code(&finished))
    })
}

/// The config at `path` with its environment: `.env` beside the config, then in the working
/// directory, the process environment winning. Also every warning found on the way.
fn load(path: &Path, cwd: &Path) -> Result<(Config, Environment, Vec<String>)> {
    let beside: PathBuf = path
        .parent()
        .map_or_else(|| cwd.join(".env"), |dir| dir.join(".env"));
    let here: PathBuf = cwd.join(".env");
    let (env, mut warnings) = Environment::load(&[beside.as_path(), here.as_path()]);
    let loaded = config::load_file_with(path, &|key: &str| env.get(key))?;
    warnings.extend(loaded.warnings.iter().map(ToString::to_string));
    Ok((loaded.config, env, warnings))
}

/// `--prompt -` reads the prompt from standard input.
fn read_prompt(prompt: String) -> Result<String> {
    if prompt != "-" {
        return Ok(prompt);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the prompt from standard input")?;
    anyhow::ensure!(
        !text.trim().is_empty(),
        "the prompt read from standard input is empty"
    );
    Ok(text)
}

/// Runs `work` on a new runtime. Whatever is still running when it ends (a DNS lookup on the
/// blocking pool, a task that ignores its stop) gets a moment, then is left behind: tzzr exits
/// promptly whatever a tool was doing.
fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

#[expect(clippy::print_stdout, reason = "headless reports go to stdout")]
fn print_stdout(text: &str) {
    println!("{text}");
}

#[expect(clippy::print_stdout, reason = "headless reports go to stdout")]
fn print_raw(text: &str) {
    print!("{text}");
}
