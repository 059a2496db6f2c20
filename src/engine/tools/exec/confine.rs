//! How a shell command is started: through the sandbox helper with whatever this machine
//! supports, or, where nothing confines it, directly (unless `require_sandbox` says no).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::helper::{HelperArgs, Mount};
use super::runner::Spawn;
use super::support::SandboxSupport;
use crate::engine::tools::ToolContext;
use crate::engine::tools::error::ToolError;

/// The shell bash commands run in.
pub const SHELL: &str = "/bin/bash";

/// How to start `/bin/bash -c COMMAND` in `cwd` for a call with `ctx`.
pub fn shell_spawn(
    ctx: &ToolContext,
    support: &SandboxSupport,
    helper: Option<&Path>,
    cwd: PathBuf,
    command: &str,
) -> Result<Spawn, ToolError> {
    if ctx.shell.require_sandbox && !support.confines() {
        return Err(ToolError::Failed(refusal(support)));
    }
    let shell: Vec<OsString> = vec![SHELL.into(), "-c".into(), command.into()];
    let env = super::env::scrubbed_process_env(&ctx.shell.secret_vars);
    let confined = support.landlock.is_ok() || support.namespace.is_ok();
    let (program, args, own_session) = match helper {
        Some(helper) if confined => {
            let write = write_roots(ctx);
            let protected: Vec<PathBuf> = ctx
                .protected
                .paths()
                .filter(|path| path.symlink_metadata().is_ok())
                .map(Path::to_path_buf)
                .collect();
            let mut mounts = mount_plan(&write, &protected);
            mounts.extend(
                ctx.hidden
                    .iter()
                    .filter(|dir| dir.is_dir())
                    .map(|dir| Mount::Hide(dir.clone())),
            );
            let args = HelperArgs::Exec {
                namespace: support.namespace.is_ok(),
                landlock: support.landlock.is_ok(),
                mounts,
                write,
                command: shell,
            };
            (helper.as_os_str().to_owned(), args.to_args(), true)
        }
        _ if ctx.shell.require_sandbox => return Err(ToolError::Failed(refusal(support))),
        _ => {
            let mut shell = shell;
            (shell.remove(0), shell, false)
        }
    };
    Ok(Spawn {
        program,
        args,
        cwd,
        env,
        own_session,
    })
}

/// What `require_sandbox` says when bash cannot be confined.
fn refusal(support: &SandboxSupport) -> String {
    let missing: Vec<String> = [
        support
            .landlock
            .as_ref()
            .err()
            .map(|why| format!("no Landlock ({why})")),
        support
            .namespace
            .as_ref()
            .err()
            .map(|why| format!("no mount namespace ({why})")),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "refused: settings.require_sandbox is true and bash cannot be confined here: {}; run tzzr on Linux 5.13+ with Landlock and user namespaces enabled, or set require_sandbox: false to run bash unconfined",
        missing.join(", ")
    )
}

/// Where bash may write: the working directory and the temp dir; anywhere when the config
/// turned path confinement off (`sandbox_paths: false`).
pub fn write_roots(ctx: &ToolContext) -> Vec<PathBuf> {
    if !ctx.sandbox_paths {
        return vec![PathBuf::from("/")];
    }
    let temp = std::env::temp_dir();
    let temp = temp.canonicalize().unwrap_or(temp);
    let mut roots = vec![ctx.working_dir.clone()];
    if !roots.iter().any(|root| temp.starts_with(root)) {
        roots.push(temp);
    }
    roots
}

/// The mounts that keep each protected path (absolute, existing) out of reach of a command
/// that may write beneath `write`: the path itself read-only, and every directory above it
/// that the command could rename (its parent is writable) pinned in place, so the path cannot
/// be moved away and replaced. Ancestors first, so that no mount hides another.
pub fn mount_plan(write: &[PathBuf], protected: &[PathBuf]) -> Vec<Mount> {
    let writable = |path: &Path| write.iter().any(|root| path.starts_with(root));
    let mut plan: Vec<(usize, Mount)> = Vec::new();
    let mut add = |mount: Mount| {
        let path = match &mount {
            Mount::Pin(path) | Mount::ReadOnly(path) | Mount::Hide(path) => path.clone(),
        };
        let depth = path.components().count();
        match plan.iter_mut().find(|(_, m)| match m {
            Mount::Pin(p) | Mount::ReadOnly(p) | Mount::Hide(p) => *p == path,
        }) {
            // Read-only beats a pin of the same path.
            Some((_, existing)) => {
                if matches!(mount, Mount::ReadOnly(_)) {
                    *existing = mount;
                }
            }
            None => plan.push((depth, mount)),
        }
    };
    for path in protected.iter().filter(|path| writable(path)) {
        for ancestor in path.ancestors().skip(1) {
            if ancestor.parent().is_some_and(writable) {
                add(Mount::Pin(ancestor.to_path_buf()));
            }
        }
        add(Mount::ReadOnly(path.clone()));
    }
    plan.sort_by_key(|(depth, _)| *depth);
    plan.into_iter().map(|(_, mount)| mount).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn paths(list: &[&str]) -> Vec<PathBuf> {
        list.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn protected_paths_are_read_only_and_what_could_move_them_is_pinned() {
        let plan = mount_plan(
            &paths(&["/tmp/ws", "/tmp"]),
            &paths(&[
                "/tmp/ws/config.yaml",
                "/tmp/ws/logs",
                "/tmp/ws/deploy/.env",
                "/home/me/.env",
            ]),
        );
        assert_eq!(
            plan,
            [
                Mount::Pin("/tmp/ws".into()),
                Mount::ReadOnly("/tmp/ws/config.yaml".into()),
                Mount::ReadOnly("/tmp/ws/logs".into()),
                Mount::Pin("/tmp/ws/deploy".into()),
                Mount::ReadOnly("/tmp/ws/deploy/.env".into()),
            ]
        );
    }

    #[test]
    fn a_working_dir_that_cannot_be_renamed_is_not_pinned() {
        let plan = mount_plan(
            &paths(&["/srv/ws", "/tmp"]),
            &paths(&["/srv/ws/config.yaml"]),
        );
        assert_eq!(plan, [Mount::ReadOnly("/srv/ws/config.yaml".into())]);
    }

    #[test]
    fn writing_anywhere_pins_every_ancestor() {
        let plan = mount_plan(&paths(&["/"]), &paths(&["/srv/ws/config.yaml"]));
        assert_eq!(
            plan,
            [
                Mount::Pin("/srv".into()),
                Mount::Pin("/srv/ws".into()),
                Mount::ReadOnly("/srv/ws/config.yaml".into()),
            ]
        );
    }

    #[test]
    fn require_sandbox_refuses_without_full_support_and_names_what_is_missing() {
        let temp = tempfile::tempdir().unwrap();
        let mut ctx = ToolContext::new(temp.path().to_path_buf());
        ctx.shell.require_sandbox = true;
        let helper = Path::new("/usr/bin/tzzr");
        let no_landlock = SandboxSupport::none("this kernel has no Landlock");
        let refused = shell_spawn(&ctx, &no_landlock, Some(helper), temp.path().into(), "ls")
            .unwrap_err()
            .to_string();
        assert_eq!(
            refused,
            "refused: settings.require_sandbox is true and bash cannot be confined here: no Landlock (this kernel has no Landlock), no mount namespace (this kernel has no Landlock); run tzzr on Linux 5.13+ with Landlock and user namespaces enabled, or set require_sandbox: false to run bash unconfined"
        );
        let half = SandboxSupport {
            landlock: Ok(7),
            namespace: Err("user namespaces are off".into()),
        };
        assert!(shell_spawn(&ctx, &half, Some(helper), temp.path().into(), "ls").is_err());

        let full = shell_spawn(
            &ctx,
            &SandboxSupport::full(7),
            Some(helper),
            temp.path().into(),
            "ls",
        )
        .unwrap();
        assert_eq!(full.program, helper.as_os_str());
        ctx.shell.require_sandbox = false;
        let unconfined =
            shell_spawn(&ctx, &no_landlock, Some(helper), temp.path().into(), "ls").unwrap();
        assert_eq!(unconfined.program, SHELL);
        assert_eq!(unconfined.args, ["-c", "ls"]);
    }

    #[test]
    fn a_confined_shell_goes_through_the_helper_with_its_writes_and_mounts() {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().canonicalize().unwrap();
        std::fs::write(root.join("config.yaml"), "x").unwrap();
        let mut ctx = ToolContext::new(root.clone());
        ctx.protected = std::sync::Arc::new(crate::engine::tools::protected::Protected::new([
            root.join("config.yaml"),
            root.join("missing.env"),
        ]));
        ctx.shell.secret_vars = vec!["PATH".into()];
        let spawn = shell_spawn(
            &ctx,
            &SandboxSupport::full(7),
            Some(Path::new("/usr/bin/tzzr")),
            root.clone(),
            "make test",
        )
        .unwrap();
        let parsed = HelperArgs::parse(spawn.args.into_iter().skip(1)).unwrap();
        let HelperArgs::Exec {
            namespace,
            landlock,
            write,
            mounts,
            command,
        } = parsed
        else {
            panic!("not an exec: {parsed:?}");
        };
        assert!(namespace && landlock);
        assert_eq!(write[0], root);
        assert!(mounts.contains(&Mount::ReadOnly(root.join("config.yaml"))));
        assert!(
            !mounts
                .iter()
                .any(|m| matches!(m, Mount::ReadOnly(p) if p.ends_with("missing.env")))
        );
        assert_eq!(command, [SHELL, "-c", "make test"]);
        assert!(!spawn.env.iter().any(|(name, _)| name == "PATH"));
    }
}
