//! The environment the engine reads keys and base URLs from: the process environment first, then
//! the `.env` files (beside the config, then in the working directory). Nothing is ever written
//! back to the process environment, so this is safe with threads running. Every value remembers
//! where it came from ([`Origin`]): a key may only go where its owner sent it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::config::{Config, McpTransport};
use crate::engine::redact::{self, Redactor};
/// A secret. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for a request header. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a value (a key, a base URL, a program path) came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The process environment: the user's own.
    Process,
    /// A file the user chose or keeps: the config passed with `--config`, the config in the user
    /// config dir, and the `.env` beside either.
    User(PathBuf),
    /// A file tzzr found in the current directory (`./config.yaml`, `./.env`, the `.env` beside
    /// a config found there): it may have come with a cloned repository.
    Workspace(PathBuf),
}

impl Origin {
    pub fn is_workspace(&self) -> bool {
        matches!(self, Origin::Workspace(_))
    }

    /// The file, for a `.env` or config origin.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Process => None,
            Origin::User(path) | Origin::Workspace(path) => Some(path),
        }
    }

    /// For messages: `your environment`, `/home/me/.config/tzzr/.env`, or `./config.yaml, a
    /// file tzzr found in the current directory`.
    pub fn describe(&self) -> String {
        match self {
            Origin::Process => "your environment".to_owned(),
            Origin::User(path) => path.display().to_string(),
            Origin::Workspace(path) => format!(
                "./{}, a file tzzr found in the current directory",
                path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
        }
    }
}

/// A value read from a `.env` file (or given to an isolated environment).
#[derive(Clone)]
struct FileValue {
    value: String,
    origin: Origin,
}

/// Variables from the process and from `.env` files, the process winning.
#[derive(Clone)]
pub struct Environment {
    /// `false` for an isolated environment (tests) that ignores the process.
    inherit_process: bool,
    /// Values from `.env` files and overrides; the first file to set a key wins.
    extra: HashMap<String, FileValue>,
    /// The `.env` files that were read.
    files: Vec<PathBuf>,
    /// Every secret value this environment holds, masked wherever tzzr shows or writes text.
    secrets: Arc<Redactor>,
}

/// Names only: values may be secrets.
impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.extra.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Environment")
            .field("inherit_process", &self.inherit_process)
            .field("dotenv_names", &names)
            .field("files", &self.files)
            .field("secrets", &self.secrets)
            .finish()
    }
}

impl Default for Environment {
    fn default() -> Self {
        Self::isolated::<[(&str, &str); 0], &str, &str>([])
    }
}

impl Environment {
    /// The process environment plus each `.env` file that exists, in order of precedence; each
    /// file's origin says whose it is (an [`Origin::Process`] entry is ignored). A line that
    /// cannot be parsed is skipped with a warning naming the file and line, never its content
    /// (it may hold a key).
    pub fn load(dotenv_files: &[Origin]) -> (Self, Vec<String>) {
        let mut env = Self {
            inherit_process: true,
            extra: HashMap::new(),
            files: Vec::new(),
            secrets: Arc::default(),
        };
        let mut warnings = Vec::new();
        for origin in dotenv_files {
            let Some(path) = origin.path() else { continue };
            if !path.is_file() || env.files.iter().any(|f| f == path) {
                continue;
            }
            env.files.push(path.to_path_buf());
            env.read_dotenv(path, origin, &mut warnings);
        }
        env.secrets = Arc::new(env.collect_secrets());
        (env, warnings)
    }

    fn read_dotenv(&mut self, path: &Path, origin: &Origin, warnings: &mut Vec<String>) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                warnings.push(format!("{}: cannot read: {}", path.display(), e.kind()));
                return;
            }
        };
        let mut searched_up_to = 0;
        for item in dotenvy::Iter::new(text.as_bytes()) {
            match item {
                Ok((key, value)) => {
                    // dotenvy expands `$VAR` from the process environment: a value that is not
                    // written out in a workspace file may be one of the user's own secrets.
                    let origin = if origin.is_workspace() && !text.contains(value.as_str()) {
                        Origin::Process
                    } else {
                        origin.clone()
                    };
                    self.extra.entry(key).or_insert(FileValue { value, origin });
                }
                Err(dotenvy::Error::LineParse(line, _)) => {
                    let at = text[searched_up_to..]
                        .find(line.as_str())
                        .map(|found| searched_up_to + found);
                    let place = match at {
                        Some(at) => {
                            searched_up_to = at + line.len();
                            format!("{}:{}", path.display(), line_number(&text, at))
                        }
                        None => path.display().to_string(),
                    };
                    warnings.push(format!(
                        "{place}: skipped a line that is not NAME=value (its content is not shown: it may hold a key)"
                    ));
                }
                Err(e) => {
                    // Never `e` itself: dotenvy's messages quote the line.
                    let why = match &e {
                        dotenvy::Error::Io(io) => io.kind().to_string(),
                        _ => "cannot be read".to_owned(),
                    };
                    warnings.push(format!("{}: {why}", path.display()));
                    return;
                }
            }
        }
    }

    /// An environment that sees only the given variables, not the process's; they count as the
    /// user's.
    pub fn isolated<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut env = Self {
            inherit_process: false,
            extra: vars
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.into(),
                        FileValue {
                            value: v.into(),
                            origin: Origin::Process,
                        },
                    )
                })
                .collect(),
            files: Vec::new(),
            secrets: Arc::default(),
        };
        env.secrets = Arc::new(env.collect_secrets());
        env
    }

    /// The secret values of variables whose name says they hold one.
    fn collect_secrets(&self) -> Redactor {
        let from_process: Vec<String> = if self.inherit_process {
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .filter(|(k, _)| redact::is_secret_name(k))
                .map(|(_, v)| v)
                .collect()
        } else {
            Vec::new()
        };
        let from_files = self
            .extra
            .iter()
            .filter(|(k, _)| redact::is_secret_name(k))
            .map(|(_, v)| v.value.clone());
        Redactor::new(from_process.into_iter().chain(from_files))
    }

    /// Adds the secrets only the config names: providers' `api_key_env` variables, and the
    /// secret-named `env:` values and the headers of `mcp_servers`. Shares the one redactor
    /// when there is nothing new.
    pub fn learn_secrets_of(&mut self, config: &Config) {
        let from_key_vars = config
            .providers
            .values()
            .filter_map(|p| p.api_key_env.as_deref())
            .filter_map(|var| self.get(var));
        let from_mcp = config
            .mcp_servers
            .values()
            .flat_map(|server| match &server.transport {
                McpTransport::Stdio { env, .. } => env
                    .iter()
                    .filter(|(k, _)| redact::is_secret_name(k))
                    .map(|(_, v)| v.clone())
                    .collect::<Vec<_>>(),
                McpTransport::Http { headers, .. } => headers
                    .iter()
                    .filter(|(k, _)| is_credential_header(k))
                    .flat_map(|(_, v)| {
                        // `Bearer TOKEN`: the token alone is a secret too.
                        let token = v.split_once(' ').map(|(_, t)| t.trim().to_owned());
                        std::iter::once(v.clone()).chain(token)
                    })
                    .collect(),
            });
        let more: Vec<String> = from_key_vars.chain(from_mcp).collect();
        if let Some(extended) = self.secrets.extended(more) {
            self.secrets = Arc::new(extended);
        }
    }

    /// The one redactor of every secret this environment (and the config it learnt) holds.
    pub fn secrets(&self) -> &Arc<Redactor> {
        &self.secrets
    }

    /// The `.env` files this environment read (tools must not reach them).
    pub fn dotenv_files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The value of `key`, or `None` when unset or empty.
    pub fn get(&self, key: &str) -> Option<String> {
        self.lookup(key).map(|(value, _)| value)
    }

    /// The value of `key` and where it came from, or `None` when unset or empty.
    pub fn lookup(&self, key: &str) -> Option<(String, Origin)> {
        let from_process = if self.inherit_process {
            std::env::var(key).ok().map(|v| (v, Origin::Process))
        } else {
            None
        };
        from_process
            .or_else(|| {
                self.extra
                    .get(key)
                    .map(|v| (v.value.clone(), v.origin.clone()))
            })
            .filter(|(v, _)| !v.trim().is_empty())
    }

    /// The first of `keys` that is set, as a secret, with the name it was found under.
    pub fn key(&self, keys: &[&str]) -> Option<(String, ApiKey)> {
        self.key_with_origin(keys).map(|(var, key, _)| (var, key))
    }

    /// [`Environment::key`], with where the key came from.
    pub fn key_with_origin(&self, keys: &[&str]) -> Option<(String, ApiKey, Origin)> {
        keys.iter().find_map(|k| {
            self.lookup(k)
                .map(|(v, origin)| ((*k).to_owned(), ApiKey::new(v), origin))
        })
    }

    /// Variables from `.env` files (the process's own are inherited anyway).
    pub fn dotenv_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
    }

    /// Variables from `.env` files with where each came from, for a child's environment.
    pub fn dotenv_entries(&self) -> impl Iterator<Item = (&str, &str, &Origin)> {
        self.extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str(), &v.origin))
    }

    /// Whether this environment passes the process's own variables through.
    pub fn inherits_process(&self) -> bool {
        self.inherit_process
    }
}

/// Whether an HTTP header carries a credential (`Authorization`, `X-Api-Key`, …).
fn is_credential_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        || redact::is_secret_name(name)
}

/// The 1-based line of the byte offset `at` in `text`.
fn line_number(text: &str, at: usize) -> usize {
    1 + text.as_bytes()[..at]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(path: &Path) -> Origin {
        Origin::User(path.to_path_buf())
    }

    #[test]
    fn api_key_never_prints_its_secret() {
        let key = ApiKey::new("sk-secret");
        assert_eq!(format!("{key:?} {key}"), "ApiKey(***) ***");
        assert_eq!(key.expose(), "sk-secret");
    }

    #[test]
    fn first_dotenv_file_wins_and_empty_values_count_as_unset() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.env");
        let b = dir.path().join("b.env");
        std::fs::write(&a, "TZZR_TEST_ONE=from_a\nTZZR_TEST_EMPTY=\n").unwrap();
        std::fs::write(&b, "TZZR_TEST_ONE=from_b\nTZZR_TEST_TWO=\"quoted two\"\n").unwrap();
        let (env, warnings) =
            Environment::load(&[user(&a), user(&b), user(&dir.path().join("missing"))]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(env.get("TZZR_TEST_ONE").as_deref(), Some("from_a"));
        assert_eq!(env.get("TZZR_TEST_TWO").as_deref(), Some("quoted two"));
        assert_eq!(env.get("TZZR_TEST_EMPTY"), None);
    }

    #[test]
    fn process_environment_wins_over_dotenv() {
        // PATH is always set in the process; a .env value must not shadow it.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "PATH=/nowhere\n").unwrap();
        let (env, _) = Environment::load(&[Origin::Workspace(file)]);
        assert_ne!(env.get("PATH").as_deref(), Some("/nowhere"));
        assert_eq!(env.lookup("PATH").unwrap().1, Origin::Process);
    }

    #[test]
    fn isolated_environment_ignores_the_process() {
        let env = Environment::isolated([("OPENAI_API_KEY", "sk-1")]);
        assert_eq!(env.get("PATH"), None);
        let (name, key) = env.key(&["GEMINI_API_KEY", "OPENAI_API_KEY"]).unwrap();
        assert_eq!((name.as_str(), key.expose()), ("OPENAI_API_KEY", "sk-1"));
    }

    #[test]
    fn each_value_remembers_the_file_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let mine = dir.path().join("mine.env");
        let theirs = dir.path().join(".env");
        std::fs::write(&mine, "TZZR_TEST_KEY=sk-mine-0123456789\n").unwrap();
        std::fs::write(
            &theirs,
            "TZZR_TEST_KEY=sk-theirs\nTZZR_TEST_BASE=https://x.test\n",
        )
        .unwrap();
        let (env, _) = Environment::load(&[user(&mine), Origin::Workspace(theirs.clone())]);
        let (_, key, origin) = env.key_with_origin(&["TZZR_TEST_KEY"]).unwrap();
        assert_eq!((key.expose(), origin), ("sk-mine-0123456789", user(&mine)));
        assert_eq!(
            env.lookup("TZZR_TEST_BASE").unwrap().1,
            Origin::Workspace(theirs)
        );
    }

    #[test]
    fn a_workspace_value_copied_from_the_process_by_substitution_counts_as_the_users() {
        // HOME is set in every test process; `${HOME}` is what a .env would use to copy a key.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "TZZR_TEST_COPY=${HOME}\nTZZR_TEST_OWN=plain\n").unwrap();
        let (env, _) = Environment::load(&[Origin::Workspace(file.clone())]);
        assert_eq!(env.lookup("TZZR_TEST_COPY").unwrap().1, Origin::Process);
        assert_eq!(
            env.lookup("TZZR_TEST_OWN").unwrap().1,
            Origin::Workspace(file)
        );
    }

    #[test]
    fn a_malformed_line_is_reported_by_number_never_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(
            &file,
            "# keys\nGOOD=1\nsk-live-secret-value-oops\nALSO_GOOD=2\nbad line sk-other-secret\n",
        )
        .unwrap();
        let (env, warnings) = Environment::load(&[user(&file)]);
        assert_eq!(
            warnings,
            [3, 5].map(|n| format!(
                "{}:{n}: skipped a line that is not NAME=value (its content is not shown: it may hold a key)",
                file.display()
            ))
        );
        assert_eq!(env.get("ALSO_GOOD").as_deref(), Some("2"));
    }

    #[test]
    fn secret_named_values_are_masked_and_the_config_adds_its_own() {
        let mut env = Environment::isolated([
            ("OPENAI_API_KEY", "sk-openai-0123456789"),
            ("LOCAL_LLM", "local-secret-0123456789"),
            ("PLAIN", "not-a-secret-value"),
        ]);
        assert_eq!(
            env.secrets()
                .redact("sk-openai-0123456789 local-secret-0123456789 not-a-secret-value"),
            "*** local-secret-0123456789 not-a-secret-value"
        );
        let config = crate::engine::config::load_str(
            "providers:\n  local:\n    kind: openai\n    api_base: http://127.0.0.1:1/v1\n    api_key_env: LOCAL_LLM\nagents: {}\n",
            Path::new("/tmp/config.yaml"),
        )
        .unwrap()
        .config;
        env.learn_secrets_of(&config);
        assert_eq!(env.secrets().redact("local-secret-0123456789"), "***");
        let shared = env.secrets().clone();
        env.learn_secrets_of(&config);
        assert!(
            Arc::ptr_eq(&shared, env.secrets()),
            "nothing new, nothing rebuilt"
        );
    }

    #[test]
    fn debug_output_names_variables_but_never_shows_values() {
        let env = Environment::isolated([("OPENAI_API_KEY", "sk-never-shown-0123")]);
        let debug = format!("{env:?}");
        assert!(debug.contains("OPENAI_API_KEY"), "{debug}");
        assert!(!debug.contains("sk-never-shown"), "{debug}");
    }

    #[test]
    fn workspace_origins_describe_themselves_as_found_in_the_current_directory() {
        assert_eq!(Origin::Process.describe(), "your environment");
        assert_eq!(
            Origin::Workspace(PathBuf::from("/src/repo/config.yaml")).describe(),
            "./config.yaml, a file tzzr found in the current directory"
        );
        assert_eq!(
            Origin::User(PathBuf::from("/home/me/.config/tzzr/.env")).describe(),
            "/home/me/.config/tzzr/.env"
        );
    }
}
