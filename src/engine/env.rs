//! The environment the engine reads keys and base URLs from: the process environment first, then
//! the `.env` files (beside the config, then in the working directory). Nothing is ever written
//! back to the process environment, so this is safe with threads running.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

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

/// Variables from the process and from `.env` files, the process winning.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    /// `None` for an isolated environment (tests) that ignores the process.
    inherit_process: bool,
    /// Values from `.env` files and overrides; the first file to set a key wins.
    extra: HashMap<String, String>,
    /// The `.env` files that were read.
    files: Vec<PathBuf>,
}

impl Environment {
    /// The process environment plus each `.env` file that exists, in order of precedence.
    /// A file that cannot be parsed is skipped with a warning in the returned list.
    pub fn load(dotenv_files: &[&Path]) -> (Self, Vec<String>) {
        let mut env = Self {
            inherit_process: true,
            extra: HashMap::new(),
            files: Vec::new(),
        };
        let mut warnings = Vec::new();
        for path in dotenv_files {
            if !path.is_file() {
                continue;
            }
            env.files.push(path.to_path_buf());
            match dotenvy::from_path_iter(path) {
                Ok(items) => {
                    for item in items {
                        match item {
                            Ok((key, value)) => {
                                env.extra.entry(key).or_insert(value);
                            }
                            Err(e) => {
                                warnings.push(format!("{}: skipped a line: {e}", path.display()));
                            }
                        }
                    }
                }
                Err(e) => warnings.push(format!("{}: {e}", path.display())),
            }
        }
        (env, warnings)
    }

    /// An environment that sees only the given variables, not the process's.
    pub fn isolated<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            inherit_process: false,
            extra: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            files: Vec::new(),
        }
    }

    /// The `.env` files this environment read (tools must not reach them).
    pub fn dotenv_files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The value of `key`, or `None` when unset or empty.
    pub fn get(&self, key: &str) -> Option<String> {
        let from_process = if self.inherit_process {
            std::env::var(key).ok()
        } else {
            None
        };
        from_process
            .or_else(|| self.extra.get(key).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    /// The first of `keys` that is set, as a secret, with the name it was found under.
    pub fn key(&self, keys: &[&str]) -> Option<(String, ApiKey)> {
        keys.iter()
            .find_map(|k| self.get(k).map(|v| ((*k).to_owned(), ApiKey::new(v))))
    }

    /// Variables from `.env` files that a child process should see (the process's own are
    /// inherited anyway).
    pub fn dotenv_vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether this environment passes the process's own variables through.
    pub fn inherits_process(&self) -> bool {
        self.inherit_process
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let (env, warnings) = Environment::load(&[
            a.as_path(),
            b.as_path(),
            dir.path().join("missing").as_path(),
        ]);
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
        let (env, _) = Environment::load(&[file.as_path()]);
        assert_ne!(env.get("PATH").as_deref(), Some("/nowhere"));
    }

    #[test]
    fn isolated_environment_ignores_the_process() {
        let env = Environment::isolated([("OPENAI_API_KEY", "sk-1")]);
        assert_eq!(env.get("PATH"), None);
        let (name, key) = env.key(&["GEMINI_API_KEY", "OPENAI_API_KEY"]).unwrap();
        assert_eq!((name.as_str(), key.expose()), ("OPENAI_API_KEY", "sk-1"));
    }
}
