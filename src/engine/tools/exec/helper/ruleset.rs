//! The Landlock rule set of the helper: read and execute everywhere, write only beneath the
//! directories it was given and on the few device files shells use. It also keeps the command
//! from signalling processes outside it (tzzr itself) and from abstract Unix sockets outside it.

use std::path::PathBuf;

use landlock::{
    ABI, Access, AccessFs, LandlockStatus, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus,
    Scope, path_beneath_rules,
};

/// The newest Landlock ABI these rules were tested with; older kernels get what they have
/// (best effort), newer ones are not asked for rights nobody has tried here.
const TESTED_ABI: ABI = ABI::V7;

/// Device files a shell writes to. No terminal: a command that could write to the user's
/// terminal (`/dev/tty`, `/dev/pts/N`) could send it escape sequences tzzr never cleaned.
const DEVICES: [&str; 3] = ["/dev/null", "/dev/zero", "/dev/full"];

/// Restricts this process and whatever it runs from now on. Returns the Landlock ABI in force;
/// an error when the kernel enforces nothing.
pub fn restrict(write: &[PathBuf]) -> Result<u32, String> {
    let abi = TESTED_ABI;
    let failed = |e: landlock::RulesetError| format!("cannot set up Landlock: {e}");
    let status = Ruleset::default()
        .handle_access(AccessFs::from_all(abi))
        .map_err(failed)?
        .scope(Scope::from_all(abi))
        .map_err(failed)?
        .create()
        .map_err(failed)?
        .add_rules(path_beneath_rules(["/"], AccessFs::from_read(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(write, AccessFs::from_all(abi)))
        .map_err(failed)?
        .add_rules(path_beneath_rules(DEVICES, AccessFs::from_all(abi)))
        .map_err(failed)?
        .restrict_self()
        .map_err(failed)?;
    let in_force = match status.landlock {
        LandlockStatus::Available { effective_abi, .. } => abi_number(effective_abi),
        LandlockStatus::NotEnabled => return Err("Landlock is built into this kernel but not enabled (add landlock to the lsm= boot parameter)".to_owned()),
        LandlockStatus::NotImplemented => return Err("this kernel has no Landlock (Linux 5.13 or newer, built with CONFIG_SECURITY_LANDLOCK)".to_owned()),
    };
    match status.ruleset {
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced => Ok(in_force),
        RulesetStatus::NotEnforced => Err("the kernel enforces no Landlock rule".to_owned()),
    }
}

fn abi_number(abi: ABI) -> u32 {
    abi.to_string().parse().unwrap_or(0)
}
