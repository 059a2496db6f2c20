//! The helper's own mount namespace (inside a user namespace when tzzr is not root), where the
//! paths no agent may write are bound read-only onto themselves: how Codex keeps `.git` out of
//! reach of its Linux sandbox. Nothing done here is seen outside the helper and its children.

use std::fs;
use std::path::Path;

use rustix::fs::StatVfsMountFlags;
use rustix::mount::{MountFlags, MountPropagationFlags};
use rustix::thread::UnshareFlags;

/// Enters a new mount namespace whose mounts no longer propagate to (or from) tzzr's.
pub fn enter() -> Result<(), String> {
    let uid = rustix::process::getuid();
    let gid = rustix::process::getgid();
    // A user namespace around it, where the command keeps its own ids but holds no capability
    // over anything outside: even run by root, it cannot then read tzzr's memory or
    // environment through /proc (root's CAP_PERFMON would let it, Landlock or not). Only a
    // root that may not make user namespaces gets a bare mount namespace.
    match unshare(UnshareFlags::NEWUSER | UnshareFlags::NEWNS) {
        Ok(()) => {
            let map = |file: &str, text: String| {
                fs::write(file, text).map_err(|e| format!("cannot write {file}: {e}"))
            };
            map("/proc/self/setgroups", "deny".to_owned())?;
            map("/proc/self/uid_map", format!("{0} {0} 1", uid.as_raw()))?;
            map("/proc/self/gid_map", format!("{0} {0} 1", gid.as_raw()))?;
        }
        Err(e) if !uid.is_root() => {
            return Err(format!("cannot create a user and mount namespace: {e}"));
        }
        Err(_) => unshare(UnshareFlags::NEWNS)
            .map_err(|e| format!("cannot create a mount namespace: {e}"))?,
    }
    rustix::mount::mount_change(
        "/",
        MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
    )
    .map_err(|e| format!("cannot make the mounts private: {e}"))
}

#[expect(
    deprecated,
    reason = "rustix 1.1 deprecates the safe `unshare` because of CLONE_FILES, which is never passed here; \
              `unshare_unsafe` would need `unsafe`, which this crate forbids"
)]
fn unshare(flags: UnshareFlags) -> rustix::io::Result<()> {
    rustix::thread::unshare(flags)
}

/// Binds the directory `dir` onto itself: still writable, but no longer renamable or removable.
pub fn pin(dir: &Path) -> Result<(), String> {
    rustix::mount::mount_bind_recursive(dir, dir)
        .map_err(|e| format!("cannot bind {} onto itself: {e}", dir.display()))
}

/// Binds `path` onto itself read-only.
pub fn read_only(path: &Path) -> Result<(), String> {
    rustix::mount::mount_bind_recursive(path, path)
        .map_err(|e| format!("cannot bind {} onto itself: {e}", path.display()))?;
    let flags = MountFlags::BIND | MountFlags::RDONLY | locked_flags(path)?;
    rustix::mount::mount_remount(path, flags, c"")
        .map_err(|e| format!("cannot make {} read-only: {e}", path.display()))
}

/// Covers the directory `dir` with an empty, read-only tmpfs.
pub fn hide(dir: &Path) -> Result<(), String> {
    let flags = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC;
    rustix::mount::mount("tzzr-hidden", dir, "tmpfs", flags, c"size=4k,mode=0500")
        .map_err(|e| format!("cannot hide {}: {e}", dir.display()))
}

/// The flags of the mount holding `path` that a remount must repeat: inside a user namespace
/// the kernel locks nosuid, nodev, noexec and the atime mode of mounts it inherited, and
/// refuses a remount that would drop them.
fn locked_flags(path: &Path) -> Result<MountFlags, String> {
    let have = rustix::fs::statvfs(path)
        .map_err(|e| format!("cannot read the mount flags of {}: {e}", path.display()))?
        .f_flag;
    let pairs = [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ];
    let mut flags = MountFlags::empty();
    for (had, keep) in pairs {
        if have.contains(had) {
            flags |= keep;
        }
    }
    if !have.intersects(StatVfsMountFlags::NOATIME | StatVfsMountFlags::RELATIME) {
        flags |= MountFlags::STRICTATIME;
    }
    Ok(flags)
}
