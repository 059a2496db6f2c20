//! What can confine `bash` on this machine, found once by running the helper in its probe mode
//! (the probe confines only that child, never tzzr). Said once to the user (each bash agent's
//! startup note, `--status`, `--health`), and what `require_sandbox` decides on.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::helper::HelperArgs;

/// The longest a probe may take (it does a few system calls; anything slower is broken).
const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// What confines bash here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxSupport {
    /// The Landlock ABI in force, or why there is none.
    pub landlock: Result<u32, String>,
    /// Whether the helper gets a mount namespace of its own, or why not.
    pub namespace: Result<(), String>,
}

/// The support as `--status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SandboxReport {
    /// Bash writes only inside the working directory and the temp dir, and cannot write the
    /// config, `.env` files or logs.
    pub confines_bash: bool,
    pub landlock_abi: Option<u32>,
    pub mount_namespace: bool,
    /// The same in words.
    pub detail: String,
}

static DETECTED: OnceLock<SandboxSupport> = OnceLock::new();

impl SandboxSupport {
    /// Landlock at `abi` and a mount namespace: everything bash needs.
    pub fn full(abi: u32) -> Self {
        Self {
            landlock: Ok(abi),
            namespace: Ok(()),
        }
    }

    /// Nothing confines bash, for `why`.
    pub fn none(why: impl Into<String>) -> Self {
        let why = why.into();
        Self {
            landlock: Err(why.clone()),
            namespace: Err(why),
        }
    }

    /// This machine's support, probed on first use (a few milliseconds) with the helper of
    /// [`crate::engine::own_program::for_tzzr`].
    pub fn detected() -> &'static Self {
        DETECTED.get_or_init(|| {
            let support = match crate::engine::own_program::for_tzzr() {
                Some(helper) => Self::probe(&helper),
                None => Self::none("tzzr cannot find its own program to start the sandbox helper"),
            };
            tracing::info!(?support, "bash sandbox");
            support
        })
    }

    /// Runs `helper` in its probe mode and reads its answer.
    pub fn probe(helper: &Path) -> Self {
        let temp = std::env::temp_dir();
        let temp = temp.canonicalize().unwrap_or(temp);
        match run_probe(helper, &temp) {
            Ok(answer) => Self::parse(&answer).unwrap_or_else(|| {
                Self::none(format!(
                    "the sandbox helper {} gave no answer to its probe ({})",
                    helper.display(),
                    first_line(&answer)
                ))
            }),
            Err(why) => Self::none(why),
        }
    }

    /// Reads the probe's two lines (see the helper's `probe`).
    fn parse(answer: &str) -> Option<Self> {
        let mut namespace = None;
        let mut landlock = None;
        for line in answer.lines() {
            if let Some(value) = line.strip_prefix("namespace: ") {
                namespace = Some(match value.strip_prefix("no: ") {
                    Some(why) => Err(why.to_owned()),
                    None => Ok(()),
                });
            } else if let Some(value) = line.strip_prefix("landlock: ") {
                landlock = Some(match value.strip_prefix("no: ") {
                    Some(why) => Err(why.to_owned()),
                    None => value.parse().map_err(|_| format!("unreadable ABI {value}")),
                });
            }
        }
        Some(Self {
            landlock: landlock?,
            namespace: namespace?,
        })
    }

    /// Bash is fully confined: writes only where it works, protected paths read-only.
    pub fn confines(&self) -> bool {
        self.landlock.is_ok() && self.namespace.is_ok()
    }

    /// One line for the user: what confines bash here, and what does not.
    pub fn summary(&self) -> String {
        const WRITES: &str = "bash writes only inside the working directory and the temp dir";
        match (&self.landlock, &self.namespace) {
            (Ok(abi), Ok(())) => format!(
                "{WRITES} (Landlock ABI {abi}); the config, .env files and logs are read-only to it (mount namespace)"
            ),
            (Ok(abi), Err(why)) => format!(
                "{WRITES} (Landlock ABI {abi}), but the config, .env files and logs inside the working directory are NOT protected from it: no mount namespace ({why})"
            ),
            (Err(why), _) => {
                format!("bash runs UNCONFINED here and can write anywhere you can: {why}")
            }
        }
    }

    pub fn report(&self) -> SandboxReport {
        SandboxReport {
            confines_bash: self.confines(),
            landlock_abi: self.landlock.as_ref().ok().copied(),
            mount_namespace: self.namespace.is_ok(),
            detail: self.summary(),
        }
    }
}

/// The probe's stdout, or why it gave none.
fn run_probe(helper: &Path, temp: &Path) -> Result<String, String> {
    let args = HelperArgs::Probe {
        write: PathBuf::from(temp),
    }
    .to_args();
    let cannot =
        |e: std::io::Error| format!("cannot run the sandbox helper {}: {e}", helper.display());
    let mut child = Command::new(helper)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(cannot)?;
    let started = Instant::now();
    while child.try_wait().map_err(cannot)?.is_none() {
        if started.elapsed() > PROBE_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the sandbox helper {} did not answer its probe within {}s",
                helper.display(),
                PROBE_LIMIT.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let output = child.wait_with_output().map_err(cannot)?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "the sandbox helper {} failed its probe ({}): {}",
            helper.display(),
            output.status,
            first_line(&String::from_utf8_lossy(&output.stderr))
        ))
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or("no output").trim();
    crate::sanitize::line_for_display(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_probe_answer_is_read_line_by_line() {
        assert_eq!(
            SandboxSupport::parse("namespace: yes\nlandlock: 7\n"),
            Some(SandboxSupport::full(7))
        );
        assert_eq!(
            SandboxSupport::parse(
                "namespace: no: cannot create a user and mount namespace: EPERM\nlandlock: no: this kernel has no Landlock\n"
            ),
            Some(SandboxSupport {
                landlock: Err("this kernel has no Landlock".into()),
                namespace: Err("cannot create a user and mount namespace: EPERM".into()),
            })
        );
        assert_eq!(SandboxSupport::parse("running 3 tests\n"), None);
    }

    #[test]
    fn the_summary_says_plainly_what_is_and_is_not_confined() {
        assert_eq!(
            SandboxSupport::full(7).summary(),
            "bash writes only inside the working directory and the temp dir (Landlock ABI 7); the config, .env files and logs are read-only to it (mount namespace)"
        );
        let no_namespace = SandboxSupport {
            landlock: Ok(3),
            namespace: Err("user namespaces are disabled".into()),
        };
        assert!(no_namespace.summary().contains(
            "are NOT protected from it: no mount namespace (user namespaces are disabled)"
        ));
        assert!(!no_namespace.confines());
        let none = SandboxSupport::none("this kernel has no Landlock");
        assert_eq!(
            none.summary(),
            "bash runs UNCONFINED here and can write anywhere you can: this kernel has no Landlock"
        );
        assert_eq!(
            none.report(),
            SandboxReport {
                confines_bash: false,
                landlock_abi: None,
                mount_namespace: false,
                detail: none.summary(),
            }
        );
    }

    #[test]
    fn a_helper_that_is_not_tzzr_means_no_sandbox() {
        let support = SandboxSupport::probe(Path::new("/bin/true"));
        assert!(!support.confines());
        assert!(
            support.summary().contains("gave no answer to its probe"),
            "{}",
            support.summary()
        );
        let missing = SandboxSupport::probe(Path::new("/nonexistent/tzzr"));
        assert!(
            missing
                .summary()
                .contains("cannot run the sandbox helper /nonexistent/tzzr"),
            "{}",
            missing.summary()
        );
    }
}
