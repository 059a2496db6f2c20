//! Path confinement: resolves a path the model gave against the working directory and refuses
//! anything that ends up outside it after `..` and symlinks are resolved.

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::beneath::{self, Access, BeneathError};
use super::protected::Protected;

/// How many symlinks one resolution may follow by hand (the kernel's own limit is 40).
const MAX_SYMLINK_HOPS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("path outside the working directory: {given} (tools may only touch {})", root.display())]
    Outside { given: String, root: PathBuf },
    #[error("cannot resolve {given}: `..` after a directory that does not exist")]
    ClimbsFromMissing { given: String },
    #[error("cannot resolve {given}: too many levels of symbolic links")]
    SymlinkLoop { given: String },
    #[error("cannot resolve {given}: {source}")]
    Unresolvable { given: String, source: io::Error },
    #[error("cannot expand `~` in {given}: HOME is not set")]
    NoHome { given: String },
    #[error("{given} is off limits: tzzr keeps its config, .env files and logs ({}) out of reach of agents", protected.display())]
    Protected { given: String, protected: PathBuf },
}

/// Where file tools may go: inside `root` when enabled, anywhere otherwise (v6's
/// `sandbox_paths: false`); paths are resolved the same way in both cases.
#[derive(Clone, Debug)]
pub struct Sandbox {
    root: PathBuf,
    enabled: bool,
    protected: Arc<Protected>,
}

/// Why a path could not be resolved, before it is tied to the text the model gave.
enum Unresolved {
    ClimbsFromMissing,
    SymlinkLoop,
    Io(io::Error),
}

impl Sandbox {
    pub fn new(working_dir: &Path, enabled: bool) -> Self {
        // The context promises a canonical directory; canonicalize anyway, since a root that
        // is itself a symlink would make every check below fail or, worse, pass wrongly.
        let root = working_dir
            .canonicalize()
            .unwrap_or_else(|_| working_dir.to_path_buf());
        Self {
            root,
            enabled,
            protected: Arc::default(),
        }
    }

    /// The same sandbox, refusing `protected` paths too (even when not `enabled`).
    pub fn protecting(self, protected: Arc<Protected>) -> Self {
        Self { protected, ..self }
    }

    /// The protected path `resolved` is or lies in, if any (for walks that skip them).
    pub fn protected_covering(&self, resolved: &Path) -> Option<&Path> {
        self.protected.covering(resolved)
    }

    /// The canonical working directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute path, with `..` and symlinks resolved, that `given` names. A path that
    /// does not exist yet (for `write`) resolves through its deepest existing ancestor.
    pub fn resolve(&self, given: &str) -> Result<PathBuf, SandboxError> {
        let wanted = self.absolute(given)?;
        let resolved = resolve_path(&wanted, MAX_SYMLINK_HOPS).map_err(|why| match why {
            Unresolved::ClimbsFromMissing => SandboxError::ClimbsFromMissing {
                given: given.to_owned(),
            },
            Unresolved::SymlinkLoop => SandboxError::SymlinkLoop {
                given: given.to_owned(),
            },
            Unresolved::Io(source) => SandboxError::Unresolvable {
                given: given.to_owned(),
                source,
            },
        })?;
        if self.enabled && !resolved.starts_with(&self.root) {
            return Err(SandboxError::Outside {
                given: given.to_owned(),
                root: self.root.clone(),
            });
        }
        if let Some(protected) = self.protected.covering(&resolved) {
            return Err(SandboxError::Protected {
                given: given.to_owned(),
                protected: protected.to_path_buf(),
            });
        }
        Ok(resolved)
    }

    /// Opens a path [`Sandbox::resolve`] gave, refusing symlinks that appeared since and
    /// protected files (a hard link or a swapped directory cannot reach them either).
    pub fn open(&self, resolved: &Path, access: Access) -> Result<std::fs::File, BeneathError> {
        beneath::open(resolved, access, &self.protected)
    }

    /// A resolved path as tools show it: relative to the root when inside it (`.` for the
    /// root itself), absolute otherwise.
    pub fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.root) {
            Ok(relative) if relative.as_os_str().is_empty() => ".".to_owned(),
            Ok(relative) => relative.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    fn absolute(&self, given: &str) -> Result<PathBuf, SandboxError> {
        let expanded = match given.strip_prefix('~') {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                let home = std::env::var_os("HOME").ok_or_else(|| SandboxError::NoHome {
                    given: given.to_owned(),
                })?;
                let mut home = PathBuf::from(home);
                home.push(rest.trim_start_matches('/'));
                home
            }
            _ => PathBuf::from(given),
        };
        Ok(self.root.join(expanded))
    }
}

/// Canonicalizes an absolute path whose tail may not exist: the deepest existing ancestor is
/// canonicalized and the missing names are appended. A dangling symlink among them is
/// followed, so a link to a missing file outside cannot smuggle a write out.
fn resolve_path(path: &Path, hops_left: u32) -> Result<PathBuf, Unresolved> {
    match path.canonicalize() {
        Ok(resolved) => return Ok(resolved),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(Unresolved::Io(error)),
    }
    let components: Vec<Component<'_>> = path.components().collect();
    for split in (1..components.len()).rev() {
        let ancestor: PathBuf = components[..split].iter().collect();
        match ancestor.canonicalize() {
            Ok(base) => return append_missing(base, &components[split..], hops_left),
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(Unresolved::Io(error)),
        }
    }
    Err(Unresolved::Io(io::Error::from(io::ErrorKind::NotFound)))
}

fn append_missing(
    mut base: PathBuf,
    missing: &[Component<'_>],
    hops_left: u32,
) -> Result<PathBuf, Unresolved> {
    for (index, component) in missing.iter().enumerate() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => return Err(Unresolved::ClimbsFromMissing),
            Component::Normal(name) => {
                let candidate = base.join(name);
                let is_symlink = candidate
                    .symlink_metadata()
                    .is_ok_and(|meta| meta.file_type().is_symlink());
                if is_symlink {
                    let hops_left = hops_left.checked_sub(1).ok_or(Unresolved::SymlinkLoop)?;
                    let target = candidate.read_link().map_err(Unresolved::Io)?;
                    let mut next = base.join(target);
                    next.extend(missing[index + 1..].iter());
                    return resolve_path(&next, hops_left);
                }
                base = candidate;
            }
            // Only ever the first component, and the first component always exists.
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;
    use tempfile::TempDir;

    /// A working dir `work/` beside a sibling `outside/` holding `secret.txt`.
    struct Fixture {
        _temp: TempDir,
        work: PathBuf,
        outside: PathBuf,
    }

    fn fixture() -> Fixture {
        let temp = tempfile::tempdir().unwrap();
        let base = temp.path().canonicalize().unwrap();
        let work = base.join("work");
        let outside = base.join("outside");
        fs::create_dir_all(work.join("src")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(work.join("src/main.rs"), "fn main() {}").unwrap();
        fs::write(outside.join("secret.txt"), "secret").unwrap();
        Fixture {
            _temp: temp,
            work,
            outside,
        }
    }

    fn outside_message(err: Result<PathBuf, SandboxError>) -> String {
        match err {
            Err(e @ SandboxError::Outside { .. }) => e.to_string(),
            other => panic!("expected an Outside error, got {other:?}"),
        }
    }

    #[test]
    fn relative_paths_join_the_root() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        assert_eq!(
            sandbox.resolve("src/main.rs").unwrap(),
            f.work.join("src/main.rs")
        );
        assert_eq!(
            sandbox.resolve("./src/../src/main.rs").unwrap(),
            f.work.join("src/main.rs")
        );
    }

    #[test]
    fn the_root_itself_is_allowed() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        assert_eq!(sandbox.resolve(".").unwrap(), f.work);
        assert_eq!(sandbox.resolve("").unwrap(), f.work);
        assert_eq!(sandbox.resolve(f.work.to_str().unwrap()).unwrap(), f.work);
        assert_eq!(sandbox.display(&f.work), ".");
    }

    #[test]
    fn dot_dot_out_of_the_root_is_refused_with_a_clear_message() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        let message = outside_message(sandbox.resolve("../outside/secret.txt"));
        assert_eq!(
            message,
            format!(
                "path outside the working directory: ../outside/secret.txt (tools may only touch {})",
                f.work.display()
            )
        );
        outside_message(sandbox.resolve("src/../../outside/new.txt"));
        outside_message(sandbox.resolve(".."));
    }

    #[test]
    fn absolute_paths_must_lie_inside() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        outside_message(sandbox.resolve("/etc/passwd"));
        let inside = f.work.join("src/main.rs");
        assert_eq!(sandbox.resolve(inside.to_str().unwrap()).unwrap(), inside);
    }

    #[test]
    fn a_symlink_inside_pointing_outside_is_refused() {
        let f = fixture();
        symlink(f.outside.join("secret.txt"), f.work.join("innocent.txt")).unwrap();
        let sandbox = Sandbox::new(&f.work, true);
        outside_message(sandbox.resolve("innocent.txt"));
    }

    #[test]
    fn a_symlinked_parent_directory_is_refused_even_for_new_files() {
        let f = fixture();
        symlink(&f.outside, f.work.join("linked")).unwrap();
        let sandbox = Sandbox::new(&f.work, true);
        outside_message(sandbox.resolve("linked/secret.txt"));
        outside_message(sandbox.resolve("linked/new/deep/file.txt"));
    }

    #[test]
    fn a_dangling_symlink_to_outside_is_followed_and_refused() {
        let f = fixture();
        symlink(f.outside.join("not-yet.txt"), f.work.join("trap.txt")).unwrap();
        let sandbox = Sandbox::new(&f.work, true);
        outside_message(sandbox.resolve("trap.txt"));
    }

    #[test]
    fn a_symlink_inside_pointing_inside_resolves_to_its_target() {
        let f = fixture();
        symlink(f.work.join("src"), f.work.join("code")).unwrap();
        let sandbox = Sandbox::new(&f.work, true);
        assert_eq!(
            sandbox.resolve("code/main.rs").unwrap(),
            f.work.join("src/main.rs")
        );
    }

    #[test]
    fn a_missing_nested_file_resolves_for_write() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        assert_eq!(
            sandbox.resolve("new/dir/file.txt").unwrap(),
            f.work.join("new/dir/file.txt")
        );
        assert_eq!(
            sandbox.resolve("src/./new.rs").unwrap(),
            f.work.join("src/new.rs")
        );
    }

    #[test]
    fn dot_dot_after_a_missing_directory_is_refused() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        let result = sandbox.resolve("missing/../../outside/x");
        assert!(
            matches!(result, Err(SandboxError::ClimbsFromMissing { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn tilde_expands_to_home_which_is_outside() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, true);
        let message = outside_message(sandbox.resolve("~/.ssh/id_rsa"));
        assert!(message.starts_with("path outside the working directory: ~/.ssh/id_rsa"));
    }

    #[test]
    fn a_symlink_loop_is_reported() {
        let f = fixture();
        symlink(f.work.join("b"), f.work.join("a")).unwrap();
        symlink(f.work.join("a"), f.work.join("b")).unwrap();
        let sandbox = Sandbox::new(&f.work, true);
        let result = sandbox.resolve("a/file.txt");
        assert!(result.is_err(), "{result:?}");
    }

    #[test]
    fn disabled_sandbox_resolves_without_confining() {
        let f = fixture();
        let sandbox = Sandbox::new(&f.work, false);
        assert_eq!(
            sandbox.resolve("../outside/secret.txt").unwrap(),
            f.outside.join("secret.txt")
        );
        assert_eq!(
            sandbox.display(&f.outside.join("secret.txt")),
            f.outside.join("secret.txt").display().to_string()
        );
    }
}
