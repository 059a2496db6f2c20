//! Where a key may go: only to a base URL from the same side as the key (the user's own, or the
//! workspace's), or to the vendor's own default, and never over plain http to another machine.
//! And which program a workspace may not choose. Pure: each rule answers with the one line the
//! user reads when an agent cannot run.

use url::Url;

use crate::engine::env::Origin;

/// A base URL someone set, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct SetBase<'a> {
    pub url: &'a str,
    pub origin: &'a Origin,
    /// What set it: `agents.coder.api_base`, `OPENAI_BASE_URL`, …
    pub setting: &'a str,
}

/// A credential that would be sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Credential<'a> {
    /// A key in an environment variable.
    Key { var: &'a str, origin: &'a Origin },
    /// The Claude CLI's own login (it keeps its token in the user's home).
    ClaudeLogin,
}

impl Credential<'_> {
    fn is_users(&self) -> bool {
        match self {
            Credential::Key { origin, .. } => !origin.is_workspace(),
            Credential::ClaudeLogin => true,
        }
    }

    fn describe(&self) -> String {
        match self {
            Credential::Key { var, origin } => {
                format!("the key from {} ({var})", origin.describe())
            }
            Credential::ClaudeLogin => "your Claude login".to_owned(),
        }
    }
}

/// Why `credential` must not go to `base` (`None`: the vendor's default), or `Ok` when it may.
pub fn check_destination(
    credential: Credential<'_>,
    base: Option<&SetBase<'_>>,
) -> Result<(), String> {
    let Some(base) = base else {
        return Ok(());
    };
    if is_plain_http_off_this_machine(base.url) {
        return Err(format!(
            "{} would go over plain http to {}, a host off this machine; use https, or reach it through a tunnel to localhost",
            credential.describe(),
            base.url
        ));
    }
    if credential.is_users() && base.origin.is_workspace() {
        return Err(format!(
            "{} would go to {} set by {}; {}",
            credential.describe(),
            base.url,
            base.origin.describe(),
            trust_hint(base.origin, base.setting, credential)
        ));
    }
    Ok(())
}

/// Why a program named by `origin` (through `setting`) must not be run, if it must not.
pub fn check_program(program: &str, origin: &Origin, setting: &str) -> Result<(), String> {
    if !origin.is_workspace() {
        return Ok(());
    }
    Err(format!(
        "the program `{program}` is chosen by {setting} in {}, and tzzr runs no program a workspace file names; {}",
        origin.describe(),
        if is_config_file(origin) {
            format!("pass --config {} to trust it", dot_path(origin))
        } else {
            format!("set {setting} in your environment instead")
        }
    ))
}

/// How to make tzzr trust the workspace file, or keep the key on the workspace's side.
fn trust_hint(origin: &Origin, setting: &str, credential: Credential<'_>) -> String {
    let key_here = match credential {
        Credential::Key { var, .. } => format!("put {var}"),
        Credential::ClaudeLogin => "put ANTHROPIC_API_KEY".to_owned(),
    };
    if is_config_file(origin) {
        format!(
            "pass --config {} to trust it, or {key_here} in the .env beside it",
            dot_path(origin)
        )
    } else {
        format!(
            "set {setting} in your environment to trust it, or {key_here} in {} as well",
            dot_path(origin)
        )
    }
}

fn is_config_file(origin: &Origin) -> bool {
    origin
        .path()
        .and_then(|p| p.extension())
        .is_some_and(|ext| ext == "yaml" || ext == "yml")
}

/// `./config.yaml` for a workspace file (they all sit in the current directory).
fn dot_path(origin: &Origin) -> String {
    origin
        .path()
        .and_then(|p| p.file_name())
        .map_or_else(String::new, |name| format!("./{}", name.to_string_lossy()))
}

/// Whether `url` is `http://` to a host that is not this machine.
pub fn is_plain_http_off_this_machine(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| u.scheme() == "http") && !super::route::is_local(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn workspace(file: &str) -> Origin {
        Origin::Workspace(PathBuf::from("/src/repo").join(file))
    }

    fn user() -> Origin {
        Origin::User(PathBuf::from("/home/me/team.yaml"))
    }

    fn key<'a>(origin: &'a Origin) -> Credential<'a> {
        Credential::Key {
            var: "OPENAI_API_KEY",
            origin,
        }
    }

    fn base<'a>(url: &'a str, origin: &'a Origin, setting: &'a str) -> SetBase<'a> {
        SetBase {
            url,
            origin,
            setting,
        }
    }

    #[test]
    fn any_key_may_go_to_the_vendors_own_default() {
        assert_eq!(check_destination(key(&Origin::Process), None), Ok(()));
        assert_eq!(check_destination(key(&workspace(".env")), None), Ok(()));
    }

    #[test]
    fn the_users_key_never_goes_to_a_base_url_the_workspace_set() {
        let config = workspace("config.yaml");
        let set = base("https://evil.example/v1", &config, "agents.coder.api_base");
        assert_eq!(
            check_destination(key(&Origin::Process), Some(&set)),
            Err("the key from your environment (OPENAI_API_KEY) would go to https://evil.example/v1 set by ./config.yaml, a file tzzr found in the current directory; pass --config ./config.yaml to trust it, or put OPENAI_API_KEY in the .env beside it".to_owned())
        );
        assert!(check_destination(key(&user()), Some(&set)).is_err());
        let dotenv = workspace(".env");
        let set = base("https://evil.example/v1", &dotenv, "OPENAI_BASE_URL");
        assert_eq!(
            check_destination(key(&Origin::Process), Some(&set)),
            Err("the key from your environment (OPENAI_API_KEY) would go to https://evil.example/v1 set by ./.env, a file tzzr found in the current directory; set OPENAI_BASE_URL in your environment to trust it, or put OPENAI_API_KEY in ./.env as well".to_owned())
        );
    }

    #[test]
    fn a_key_and_a_base_url_from_the_same_side_go_together() {
        let config = workspace("config.yaml");
        let set = base("https://llm.example/v1", &config, "agents.coder.api_base");
        assert_eq!(
            check_destination(key(&workspace(".env")), Some(&set)),
            Ok(())
        );
        let mine = user();
        let set = base("https://llm.example/v1", &mine, "agents.coder.api_base");
        assert_eq!(check_destination(key(&Origin::Process), Some(&set)), Ok(()));
        // The workspace's own key may go where the user pointed it.
        assert_eq!(
            check_destination(key(&workspace(".env")), Some(&set)),
            Ok(())
        );
    }

    #[test]
    fn no_key_goes_over_plain_http_to_another_machine_whoever_set_it() {
        let mine = user();
        for url in [
            "http://gpu-box:8080/v1",
            "http://10.0.0.5/v1",
            "http://[2001:db8::1]/",
        ] {
            let set = base(url, &mine, "agents.coder.api_base");
            let refused = check_destination(key(&Origin::Process), Some(&set)).unwrap_err();
            assert!(refused.contains("over plain http"), "{refused}");
        }
        for url in [
            "http://127.0.0.1:8080/v1",
            "http://localhost:11434/v1",
            "http://[::1]/",
        ] {
            let set = base(url, &mine, "agents.coder.api_base");
            assert_eq!(check_destination(key(&Origin::Process), Some(&set)), Ok(()));
        }
    }

    #[test]
    fn the_claude_login_is_the_users_too() {
        let dotenv = workspace(".env");
        let set = base("https://evil.example", &dotenv, "ANTHROPIC_BASE_URL");
        let refused = check_destination(Credential::ClaudeLogin, Some(&set)).unwrap_err();
        assert!(
            refused.starts_with("your Claude login would go to https://evil.example set by ./.env"),
            "{refused}"
        );
        assert!(
            refused.ends_with("or put ANTHROPIC_API_KEY in ./.env as well"),
            "{refused}"
        );
    }

    #[test]
    fn a_workspace_file_never_chooses_the_program() {
        assert_eq!(
            check_program("/opt/claude", &Origin::Process, "TZZR_CLAUDE_BIN"),
            Ok(())
        );
        assert_eq!(
            check_program("./evil", &workspace(".env"), "TZZR_CLAUDE_BIN"),
            Err("the program `./evil` is chosen by TZZR_CLAUDE_BIN in ./.env, a file tzzr found in the current directory, and tzzr runs no program a workspace file names; set TZZR_CLAUDE_BIN in your environment instead".to_owned())
        );
        assert_eq!(
            check_program("./evil", &workspace("config.yaml"), "providers.cc.command"),
            Err("the program `./evil` is chosen by providers.cc.command in ./config.yaml, a file tzzr found in the current directory, and tzzr runs no program a workspace file names; pass --config ./config.yaml to trust it".to_owned())
        );
    }
}
