//! The environment a tool's process starts with: tzzr's own, minus every variable that looks
//! like a secret. `.env` values never reach it (they are not in the process environment).

use std::ffi::{OsStr, OsString};

/// A variable whose name holds one of these (in any case) is taken for a secret.
const SECRET_WORDS: [&str; 6] = ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"];

/// Whether a variable called `name` must not reach a tool: its name holds a secret word, or
/// it is one of `secret_vars` (key variables named in the config, like a provider's
/// `api_key_env`, whatever they are called).
pub fn is_secret(name: &OsStr, secret_vars: &[String]) -> bool {
    let upper = name.to_string_lossy().to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
        || secret_vars.iter().any(|var| OsStr::new(var) == name)
}

/// `vars` without the secrets, in their order.
pub fn scrubbed(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    secret_vars: &[String],
) -> Vec<(OsString, OsString)> {
    vars.into_iter()
        .filter(|(name, _)| !is_secret(name, secret_vars))
        .collect()
}

/// tzzr's environment without the secrets.
pub fn scrubbed_process_env(secret_vars: &[String]) -> Vec<(OsString, OsString)> {
    scrubbed(std::env::vars_os(), secret_vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(names: &[&str]) -> Vec<(OsString, OsString)> {
        names
            .iter()
            .map(|name| (OsString::from(name), OsString::from("value")))
            .collect()
    }

    fn names(vars: &[(OsString, OsString)]) -> Vec<String> {
        vars.iter()
            .map(|(name, _)| name.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn secret_looking_names_go_in_any_case_and_the_working_ones_stay() {
        let all = vars(&[
            "PATH",
            "HOME",
            "LANG",
            "TERM",
            "SSH_AUTH_SOCK",
            "OPENAI_API_KEY",
            "my_token",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "PGPASSWORD",
            "DB_Passwd",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "Api_Key",
        ]);
        assert_eq!(
            names(&scrubbed(all, &[])),
            ["PATH", "HOME", "LANG", "TERM", "SSH_AUTH_SOCK"]
        );
    }

    #[test]
    fn variables_the_config_names_as_keys_go_too() {
        let all = vars(&["PATH", "LLM_PASS", "ACME"]);
        let secret_vars = ["ACME".to_owned()];
        assert_eq!(names(&scrubbed(all, &secret_vars)), ["PATH", "LLM_PASS"]);
    }
}
