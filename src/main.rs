//! Wiring only: parse flags, start logging, load the config, pick the front end.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use tzzr::cli::args::{Args, Mode};
use tzzr::cli::headless::{Finished, Interrupts, TaskRequest, exit_status, run_task, run_turns};
use tzzr::cli::print::{Format, Layout, Printer};
use tzzr::cli::sessions;
use tzzr::engine::config::{self, Config, ConfigFile, TaskStep};
use tzzr::engine::env::{Environment, Origin};
use tzzr::engine::health;
use tzzr::engine::json_text;
use tzzr::engine::mcp::bridge;
use tzzr::engine::orchestrator::{self, Orchestrator};
use tzzr::engine::pipeline::{self, StepRecord, TaskEvent, TaskState};
use tzzr::engine::session::SessionPlan;
use tzzr::engine::tools::approval::Asker;
use tzzr::logging::Secrets;
use tzzr::report;

fn main() -> ExitCode {
    // `tzzr __sandbox-exec …` is the bash sandbox helper: it must confine itself before
    // anything else runs (no thread may exist when it enters its namespaces).
    if let Some(code) = tzzr::engine::tools::exec::helper::run_if_requested() {
        return code;
    }
    // The Claude CLI starts tzzr as its MCP server: relay, before any flag is looked at.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().is_some_and(|mode| mode == bridge::RELAY_MODE) {
        return relay(argv.next());
    }
    tzzr::engine::own_program::register_current();
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
    // Until the config and its .env files are read, the process environment's secrets are
    // the ones known.
    let secrets = Secrets::default();
    secrets.set(Environment::load(&[]).0.secrets().clone());
    // Listing agents reads the config and nothing else: it runs no agent and logs nothing.
    let _log = (!args.agents)
        .then(|| tzzr::logging::init(secrets.clone()))
        .flatten();
    install_panic_hook(secrets.clone());
    raise_open_file_limit();
    match run(args, &secrets) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            report_error(&secrets, &format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}

/// `tzzr __mcp-bridge SOCKET`: copies stdio to the running tzzr's socket and back.
fn relay(socket: Option<std::ffi::OsString>) -> ExitCode {
    let Some(socket) = socket else {
        report_error(
            &Secrets::default(),
            "__mcp-bridge needs the socket of the running tzzr",
        );
        return ExitCode::FAILURE;
    };
    match bridge::relay::relay(Path::new(&socket)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&Secrets::default(), &e);
            ExitCode::FAILURE
        }
    }
}

/// The one place errors reach the user headless: masked and cleaned, on one line.
#[expect(
    clippy::print_stderr,
    reason = "the one place errors reach the user headless"
)]
fn report_error(secrets: &Secrets, message: &str) {
    eprintln!("tzzr: {}", secrets.clean(message));
}

/// A panic is a bug: say so in one line (the details go to the log), never a raw backtrace.
fn install_panic_hook(secrets: Secrets) {
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!("panic: {info}");
        let log = tzzr::logging::log_dir()
            .map(|d| d.join("tzzr.log").display().to_string())
            .unwrap_or_else(|| "the log".to_owned());
        report_error(
            &secrets,
            &format!("internal error: {info}; details in {log}"),
        );
    }));
}

/// Every agent may hold a connection (its logs go through a bounded set of open files): a team
/// of a thousand needs more than the usual soft limit of 1,024 descriptors. The hard limit is
/// ours to take.
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

fn run(args: Args, secrets: &Secrets) -> Result<ExitCode> {
    let mode = args.mode()?;
    if let Some(code) = answer_from_sessions(&mode, &args, secrets)? {
        return Ok(code);
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let user_dir =
        directories::ProjectDirs::from("", "", "tzzr").map(|d| d.config_dir().to_path_buf());
    let file = config::discover(args.config.as_deref(), &cwd, user_dir.as_deref())?;
    let (config, env, mut warnings) = load(&file, &cwd)?;
    secrets.set(env.secrets().clone());
    let session = match mode {
        Mode::Tui | Mode::Prompt { .. } | Mode::All { .. } | Mode::Task { .. } => {
            Some(sessions::plan(args.resume().as_ref(), &file.path)?)
        }
        Mode::Agents | Mode::Status | Mode::Health | Mode::Sessions | Mode::Export(_) => None,
    };
    if mode != Mode::Tui {
        for warning in &warnings {
            report_error(secrets, &format!("warning: {warning}"));
        }
    }

    match mode {
        Mode::Agents => {
            let agents = orchestrator::describe(&config, &env);
            if args.json {
                print_stdout(secrets, &json_text::pretty(&agents)?);
            } else {
                print_raw(secrets, &report::agents_text(&agents));
            }
            Ok(ExitCode::SUCCESS)
        }
        Mode::Tui => {
            anyhow::ensure!(
                std::io::stdout().is_terminal() && std::io::stdin().is_terminal(),
                "the terminal UI needs a terminal; from a script use --agent NAME --prompt TEXT, --all or --task (see --help)"
            );
            let diagnostics = secrets.clone();
            let reloader: tzzr::tui::run::Reloader = std::sync::Arc::new(move || {
                load(&file, &cwd)
                    .map(|(config, env, warnings)| {
                        diagnostics.set(env.secrets().clone());
                        (config, env, warnings)
                    })
                    .map_err(|e| diagnostics.clean(&format!("{e:#}")))
            });
            block_on(async {
                let (orch, events) =
                    Orchestrator::start_with(config, &env, Asker::Interactive, session)?;
                warnings.extend(orch.session_notes().iter().cloned());
                tzzr::tui::run::run(orch, events, reloader, warnings).await
            })
        }
        Mode::Status => block_on(async {
            let (orch, _events) = Orchestrator::start(config, &env, asker(&args))?;
            orch.settle_mcp().await;
            print_stdout(secrets, &json_text::pretty(&orch.status())?);
            orch.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }),
        Mode::Health => block_on(async {
            let (orch, _events) = Orchestrator::start(config, &env, asker(&args))?;
            let reports = health::check(&orch).await;
            if args.json {
                print_stdout(secrets, &json_text::pretty(&reports)?);
            } else {
                print_raw(secrets, &report::health_text(&reports));
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
            run_headless(
                config,
                &env,
                session,
                vec![(agent, prompt)],
                Layout::Stream,
                &args,
                secrets,
            )
        }
        Mode::All { prompt } => {
            let prompt = read_prompt(prompt)?;
            let prompts = config
                .agents
                .keys()
                .map(|name| (name.clone(), prompt.clone()))
                .collect();
            run_headless(
                config,
                &env,
                session,
                prompts,
                Layout::Blocks,
                &args,
                secrets,
            )
        }
        // Answered before the config was read.
        Mode::Sessions | Mode::Export(_) => Ok(ExitCode::SUCCESS),
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
            let input = args.input.clone().map(read_input).transpose()?;
            let from_file = match &args.resume_task {
                Some(Some(file)) => Some(task_records(file)?),
                Some(None) | None => None,
            };
            let resumes_from_session = matches!(args.resume_task, Some(None));
            block_on(async {
                let mut interrupts = listen_for_interrupts()?;
                let (mut orch, mut events) =
                    Orchestrator::start_with(config, &env, asker(&args), session)?;
                report_session_notes(secrets, &orch);
                let resume = match from_file {
                    Some(records) => records,
                    None if !resumes_from_session => Vec::new(),
                    // The session this run goes on with holds what the earlier run left.
                    None => {
                        let records = pipeline::recorded(&orch, &name);
                        anyhow::ensure!(
                            !records.is_empty(),
                            "task `{name}` has not run in the session this run goes on with; run `tzzr --task {name}` first (or give --resume-task FILE the JSON Lines of an earlier --json run)"
                        );
                        records
                    }
                };
                let layout = if task
                    .steps
                    .iter()
                    .any(|s| matches!(s, TaskStep::Parallel(_)))
                {
                    Layout::Blocks
                } else {
                    Layout::Stream
                };
                let mut printer = printer(layout, args.json);
                let request = TaskRequest {
                    name: &name,
                    spec: &task,
                    input,
                    resume,
                };
                let state = run_task(
                    &mut orch,
                    &mut events,
                    request,
                    &mut printer,
                    &mut interrupts,
                )
                .await?;
                orch.shutdown().await;
                Ok(match (interrupts.received(), state) {
                    (Some(signal), _) => ExitCode::from(signal.exit_status()),
                    (None, TaskState::Done) => ExitCode::SUCCESS,
                    (None, TaskState::Failed | TaskState::Cancelled) => ExitCode::FAILURE,
                })
            })
        }
    }
}

/// `--input -` reads the task's input from standard input.
fn read_input(input: String) -> Result<String> {
    if input != "-" {
        return Ok(input);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the task's input from standard input")?;
    Ok(text)
}

/// The step records in the JSON Lines of an earlier `--task NAME --json` run.
fn task_records(file: &Path) -> Result<Vec<StepRecord>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let events: Vec<TaskEvent> = text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    anyhow::ensure!(
        !events.is_empty(),
        "{} holds no task events; give it what `tzzr --task NAME --json` printed",
        file.display()
    );
    Ok(StepRecord::from_events(&events))
}

/// `--sessions` and `--export`, which read the sessions and need no config.
fn answer_from_sessions(mode: &Mode, args: &Args, secrets: &Secrets) -> Result<Option<ExitCode>> {
    match mode {
        Mode::Sessions => {
            let sessions = sessions::catalog()?.summaries();
            if args.json {
                print_stdout(secrets, &json_text::pretty(&sessions)?);
            } else {
                print_raw(secrets, &sessions::list_text(&sessions));
            }
        }
        Mode::Export(export) => {
            let text = sessions::export(
                &export.id,
                export.format.as_deref(),
                export.output.as_deref(),
                export.agent.as_deref(),
            )?;
            if let Some(text) = text {
                print_raw(secrets, &text);
            }
        }
        Mode::Tui
        | Mode::Agents
        | Mode::Status
        | Mode::Health
        | Mode::Prompt { .. }
        | Mode::All { .. }
        | Mode::Task { .. } => return Ok(None),
    }
    Ok(Some(ExitCode::SUCCESS))
}

fn printer(layout: Layout, json: bool) -> Printer<std::io::StdoutLock<'static>, std::io::Stderr> {
    let format = if json { Format::Json } else { Format::Text };
    let stdout = std::io::stdout();
    let clean = stdout.is_terminal();
    Printer::new(stdout.lock(), std::io::stderr(), format, layout, clean)
}

/// The printer of a run driven from a runtime worker (a locked stdout cannot move between
/// threads).
fn shared_printer(layout: Layout, json: bool) -> Printer<std::io::Stdout, std::io::Stderr> {
    let format = if json { Format::Json } else { Format::Text };
    let stdout = std::io::stdout();
    let clean = stdout.is_terminal();
    Printer::new(stdout, std::io::stderr(), format, layout, clean)
}

/// Headless, nobody can answer an approval: `--yes` answers yes to all of them.
fn asker(args: &Args) -> Asker {
    if args.yes {
        Asker::ApproveAll
    } else {
        Asker::Nobody
    }
}

/// What the user should know about the session a headless run goes on with.
fn report_session_notes(secrets: &Secrets, orch: &Orchestrator) {
    for note in orch.session_notes() {
        report_error(secrets, &format!("warning: {note}"));
    }
}

/// The exit status of a headless run: the signal's (130, 143) if one stopped it, else the turns'.
fn exit_code(finished: &[Finished], interrupts: &Interrupts) -> ExitCode {
    ExitCode::from(
        interrupts
            .received()
            .map_or_else(|| exit_status(finished), |signal| signal.exit_status()),
    )
}

/// From here on Ctrl+C and SIGTERM cancel every agent instead of killing tzzr (and leaving the
/// tools' process groups running).
fn listen_for_interrupts() -> Result<Interrupts> {
    Interrupts::install().context("cannot listen for Ctrl+C")
}

fn run_headless(
    config: Config,
    env: &Environment,
    session: Option<SessionPlan>,
    prompts: Vec<(String, String)>,
    layout: Layout,
    args: &Args,
    secrets: &Secrets,
) -> Result<ExitCode> {
    let env = env.clone();
    let asker = asker(args);
    let json = args.json;
    let secrets = secrets.clone();
    block_on_worker(async move {
        let mut interrupts = listen_for_interrupts()?;
        let (mut orch, mut events) = Orchestrator::start_with(config, &env, asker, session)?;
        report_session_notes(&secrets, &orch);
        let mut printer = shared_printer(layout, json);
        let finished = run_turns(
            &mut orch,
            &mut events,
            prompts,
            &mut printer,
            &mut interrupts,
        )
        .await?;
        orch.shutdown().await;
        Ok(exit_code(&finished, &interrupts))
    })
}

/// The config in `file` with its environment: `.env` beside the config, then in the working
/// directory, the process environment winning. The `.env` beside the config is as much the
/// user's as the config is; one in the working directory is the workspace's unless it is that
/// same file. Also every warning found on the way.
fn load(file: &ConfigFile, cwd: &Path) -> Result<(Config, Environment, Vec<String>)> {
    let path = file.path.as_path();
    let beside: PathBuf = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| cwd.join(".env"), |dir| dir.join(".env"));
    let here: PathBuf = cwd.join(".env");
    let beside_origin = if file.is_workspace {
        Origin::Workspace(beside.clone())
    } else {
        Origin::User(beside.clone())
    };
    let here_origin = if is_same_file(&beside, &here) {
        beside_origin.clone()
    } else {
        Origin::Workspace(here)
    };
    let (mut env, mut warnings) = Environment::load(&[beside_origin, here_origin]);
    let mut loaded = config::load_file_with(path, &|key: &str| env.get(key))?;
    loaded.config.origin = file.origin();
    env.learn_secrets_of(&loaded.config);
    warnings.extend(loaded.warnings.iter().map(ToString::to_string));
    Ok((loaded.config, env, warnings))
}

fn is_same_file(a: &Path, b: &Path) -> bool {
    let resolve = |p: &Path| p.canonicalize().or_else(|_| std::path::absolute(p));
    match (resolve(a), resolve(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
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
fn block_on_worker<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    block_on(async move {
        tokio::spawn(work)
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the run failed: {e}")))
    })
}

fn block_on<T>(work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(work);
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

/// A report on stdout, masked and cleaned (a server's answer may be in it).
#[expect(clippy::print_stdout, reason = "headless reports go to stdout")]
fn print_stdout(secrets: &Secrets, text: &str) {
    println!("{}", secrets.clean(text));
}

#[expect(clippy::print_stdout, reason = "headless reports go to stdout")]
fn print_raw(secrets: &Secrets, text: &str) {
    print!("{}", secrets.clean(text));
}
