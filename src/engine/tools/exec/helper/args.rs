//! The helper's command line, written by the engine and read by the helper: one type, both
//! directions, so the two cannot drift apart.
//!
//! `tzzr __sandbox-exec [--namespace] [--landlock] [--write DIR]…
//! [--pin DIR | --read-only PATH | --hide DIR]…
//! -- PROGRAM ARG…`, or `tzzr __sandbox-exec --probe --write DIR`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The hidden first argument that turns tzzr into the sandbox helper.
pub const ENTRY: &str = "__sandbox-exec";

/// One change to the helper's own view of the file system, applied in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mount {
    /// Bind a directory onto itself: it stays writable but, being a mount point, cannot be
    /// renamed or removed (so a protected path below it cannot be moved away).
    Pin(PathBuf),
    /// Bind a path onto itself read-only: it cannot be written, truncated, removed or renamed.
    ReadOnly(PathBuf),
    /// Cover a directory with an empty read-only file system: what is in it (the sockets of
    /// the Claude CLI's bridge) can be neither seen, reached nor replaced.
    Hide(PathBuf),
}

/// What the helper is asked to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelperArgs {
    /// Try every step (namespace, a read-only bind, Landlock) and report what works.
    Probe { write: PathBuf },
    /// Confine itself, then run `command`.
    Exec {
        namespace: bool,
        landlock: bool,
        /// Where the command may write (Landlock).
        write: Vec<PathBuf>,
        mounts: Vec<Mount>,
        /// The program and its arguments.
        command: Vec<OsString>,
    },
}

impl HelperArgs {
    /// The arguments after the program name (starting with [`ENTRY`]).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![ENTRY.into()];
        let mut push = |flag: &str, path: &PathBuf| {
            args.push(flag.into());
            args.push(path.into());
        };
        match self {
            Self::Probe { write } => {
                push("--write", write);
                args.insert(1, "--probe".into());
            }
            Self::Exec {
                namespace,
                landlock,
                write,
                mounts,
                command,
            } => {
                for dir in write {
                    push("--write", dir);
                }
                for mount in mounts {
                    match mount {
                        Mount::Pin(dir) => push("--pin", dir),
                        Mount::ReadOnly(path) => push("--read-only", path),
                        Mount::Hide(dir) => push("--hide", dir),
                    }
                }
                if *landlock {
                    args.insert(1, "--landlock".into());
                }
                if *namespace {
                    args.insert(1, "--namespace".into());
                }
                args.push("--".into());
                args.extend(command.iter().cloned());
            }
        }
        args
    }

    /// Reads the arguments after [`ENTRY`].
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, String> {
        let mut args = args.into_iter();
        let (mut probe, mut namespace, mut landlock) = (false, false, false);
        let mut write = Vec::new();
        let mut mounts = Vec::new();
        let mut command = None;
        while let Some(arg) = args.next() {
            let mut path = |flag: &str| {
                args.next()
                    .map(PathBuf::from)
                    .filter(|path| path.is_absolute())
                    .ok_or_else(|| format!("{flag} needs an absolute path"))
            };
            match arg.to_str() {
                Some("--probe") => probe = true,
                Some("--namespace") => namespace = true,
                Some("--landlock") => landlock = true,
                Some("--write") => write.push(path("--write")?),
                Some("--pin") => mounts.push(Mount::Pin(path("--pin")?)),
                Some("--read-only") => mounts.push(Mount::ReadOnly(path("--read-only")?)),
                Some("--hide") => mounts.push(Mount::Hide(path("--hide")?)),
                Some("--") => {
                    command = Some(args.by_ref().collect::<Vec<_>>());
                    break;
                }
                _ => return Err(format!("unknown argument {}", OsStr::new(&arg).display())),
            }
        }
        if probe {
            let [write] = <[PathBuf; 1]>::try_from(write)
                .map_err(|_| "--probe needs one --write directory".to_owned())?;
            return Ok(Self::Probe { write });
        }
        match command {
            Some(command) if !command.is_empty() => Ok(Self::Exec {
                namespace,
                landlock,
                write,
                mounts,
                command,
            }),
            _ => Err("no command to run after --".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn exec_arguments_survive_the_round_trip() {
        let exec = HelperArgs::Exec {
            namespace: true,
            landlock: true,
            write: vec!["/work".into(), "/tmp".into()],
            mounts: vec![
                Mount::Pin("/work/conf".into()),
                Mount::ReadOnly("/work/conf/config.yaml".into()),
                Mount::Hide("/run/user/0/tzzr-1-abc".into()),
            ],
            command: os(&["/bin/bash", "-c", "echo --write -- done"]),
        };
        let args = exec.to_args();
        assert_eq!(
            args,
            os(&[
                ENTRY,
                "--namespace",
                "--landlock",
                "--write",
                "/work",
                "--write",
                "/tmp",
                "--pin",
                "/work/conf",
                "--read-only",
                "/work/conf/config.yaml",
                "--hide",
                "/run/user/0/tzzr-1-abc",
                "--",
                "/bin/bash",
                "-c",
                "echo --write -- done"
            ])
        );
        assert_eq!(HelperArgs::parse(args.into_iter().skip(1)), Ok(exec));
    }

    #[test]
    fn probe_arguments_survive_the_round_trip() {
        let probe = HelperArgs::Probe {
            write: "/tmp".into(),
        };
        let args = probe.to_args();
        assert_eq!(args, os(&[ENTRY, "--probe", "--write", "/tmp"]));
        assert_eq!(HelperArgs::parse(args.into_iter().skip(1)), Ok(probe));
    }

    #[test]
    fn malformed_arguments_are_refused() {
        let parse = |args: &[&str]| HelperArgs::parse(os(args));
        assert_eq!(
            parse(&["--write", "relative", "--", "true"]),
            Err("--write needs an absolute path".into())
        );
        assert_eq!(
            parse(&["--landlock", "--"]),
            Err("no command to run after --".into())
        );
        assert_eq!(
            parse(&["--landlock"]),
            Err("no command to run after --".into())
        );
        assert_eq!(
            parse(&["--frobnicate", "--", "true"]),
            Err("unknown argument --frobnicate".into())
        );
        assert_eq!(
            parse(&["--probe"]),
            Err("--probe needs one --write directory".into())
        );
    }
}
