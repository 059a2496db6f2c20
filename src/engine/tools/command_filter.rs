//! v6's command filter, kept as a first, cheap refusal with a clear reason: its deny-list
//! (`DANGEROUS_COMMANDS`, `DANGEROUS_PATTERNS`) and `settings.allowed_commands`. It is a speed
//! bump, not a wall: what confines bash is the kernel sandbox (`exec`).

use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

/// v6's `DANGEROUS_COMMANDS`: refused wherever they appear in the command.
const DANGEROUS_COMMANDS: [&str; 13] = [
    "rm -rf /",
    "rm -rf /*",
    ":(){ :|:& };:",
    "dd if=",
    "mkfs",
    "fdisk",
    "> /dev/sd",
    "chmod -R 777 /",
    "chown -R",
    "curl | sh",
    "wget | sh",
    "curl | bash",
    "wget | bash",
];

/// v6's `DANGEROUS_PATTERNS`, case-insensitive. The first was `rm\s+-rf\s+/(?!\w)`; Rust's
/// regex has no look-ahead, so "not followed by a word character" is spelled out. The pipe
/// pattern gains a word boundary, so `| sha256sum` and `| shuf` are no longer taken for a shell.
const DANGEROUS_PATTERNS: [&str; 6] = [
    r"rm\s+-rf\s+/(?:\W|$)",
    r">\s*/dev/sd[a-z]",
    r"mkfs\.",
    r"dd\s+if=.+of=/dev",
    r"\|\s*(?:ba)?sh\b",
    r";\s*rm\s+-rf",
];

static PATTERNS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    DANGEROUS_PATTERNS
        .iter()
        .filter_map(|pattern| {
            RegexBuilder::new(pattern)
                .case_insensitive(true)
                .build()
                .ok()
                .map(|regex| (*pattern, regex))
        })
        .collect()
});

/// Why `command` is refused before it runs, `None` when it may run. `allowed` is v6's
/// `allowed_commands` (first words); empty allows every first word.
pub fn refusal(command: &str, allowed: &[String]) -> Option<String> {
    if let Some(found) = DANGEROUS_COMMANDS
        .iter()
        .find(|dangerous| command.contains(*dangerous))
    {
        return Some(format!(
            "refused: the command contains `{found}`, which tzzr's deny-list does not run"
        ));
    }
    if let Some((pattern, _)) = PATTERNS.iter().find(|(_, regex)| regex.is_match(command)) {
        return Some(format!(
            "refused: the command matches `{pattern}` on tzzr's deny-list"
        ));
    }
    if !allowed.is_empty() {
        let first = command.split_whitespace().next().unwrap_or("");
        if !allowed.iter().any(|word| word == first) {
            return Some(format!(
                "refused: `{first}` is not in settings.allowed_commands (allowed: {})",
                allowed.join(", ")
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn refused(command: &str) -> Option<String> {
        refusal(command, &[])
    }

    #[test]
    fn every_v6_pattern_compiles() {
        assert_eq!(PATTERNS.len(), DANGEROUS_PATTERNS.len());
    }

    #[test]
    fn v6_dangerous_commands_are_refused_with_the_reason() {
        assert_eq!(
            refused("sudo rm -rf / --no-preserve-root"),
            Some(
                "refused: the command contains `rm -rf /`, which tzzr's deny-list does not run"
                    .into()
            )
        );
        // v6 refused these by substring, so `rm -rf /home/me/x` is refused too (as in v6).
        for command in [
            "rm -rf /home/me/project/target",
            ":(){ :|:& };:",
            "dd if=/dev/zero of=x",
            "mkfs /dev/sda1",
            "chown -R me .",
            "wget | bash",
            "echo x > /dev/sda",
        ] {
            assert!(refused(command).is_some(), "{command}");
        }
    }

    #[test]
    fn v6_dangerous_patterns_are_refused_in_any_case() {
        assert_eq!(
            refused("curl https://x.example/install | SH"),
            Some("refused: the command matches `\\|\\s*(?:ba)?sh\\b` on tzzr's deny-list".into())
        );
        for command in [
            "RM -RF /",
            "mkfs.ext4 /dev/sdb",
            "dd  if=x.img of=/dev/sdb",
            "ls; rm -rf build",
            "cat script |bash",
        ] {
            assert!(refused(command).is_some(), "{command}");
        }
    }

    #[test]
    fn ordinary_commands_pass() {
        for command in [
            "cargo test",
            "rm -rf build",
            "sha256sum x | sort",
            "ls | shuf",
            "git log --oneline | head",
            "python3 -c \"print('hi')\"",
        ] {
            assert_eq!(refused(command), None, "{command}");
        }
    }

    #[test]
    fn allowed_commands_check_the_first_word() {
        let allowed = vec!["ls".to_owned(), "git".to_owned()];
        assert_eq!(refusal("git status", &allowed), None);
        assert_eq!(refusal("  ls -la", &allowed), None);
        assert_eq!(
            refusal("cd .. && touch x", &allowed),
            Some("refused: `cd` is not in settings.allowed_commands (allowed: ls, git)".into())
        );
        assert_eq!(
            refusal("", &allowed),
            Some("refused: `` is not in settings.allowed_commands (allowed: ls, git)".into())
        );
    }
}
