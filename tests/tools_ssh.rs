#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `ssh` against a real OpenSSH server on 127.0.0.1 (peer `TZZR_E2E_SSHD`): a scripted agent
//! runs a command on its server, and is refused everything else: a host it was not given, an
//! option smuggled in as a host, a config entry whose host is an option. User, key and port
//! always come from the server's entry.

mod support;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::harness::Harness;
use support::peers;
use tzzr::engine::protocol::EventKind;

/// An sshd on 127.0.0.1 that lets the current user in with a key made for the test.
struct Sshd {
    child: Child,
    port: u16,
    client_key: PathBuf,
    user: String,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "ssh-keygen failed");
}

fn current_user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl Sshd {
    fn start(sshd: &Path, dir: &Path) -> Self {
        let (host_key, client_key) = (dir.join("host_key"), dir.join("client_key"));
        keygen(&host_key);
        keygen(&client_key);
        let authorized = dir.join("authorized_keys");
        std::fs::copy(dir.join("client_key.pub"), &authorized).unwrap();
        // sshd wants its privilege separation directory; only root can make it, and only
        // root needs it.
        let _ = std::fs::create_dir_all("/run/sshd");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(sshd)
            .args(["-D", "-e", "-p", &port.to_string(), "-h"])
            .arg(&host_key)
            .arg("-o")
            .arg(format!("AuthorizedKeysFile={}", authorized.display()))
            .args([
                "-o",
                "StrictModes=no",
                "-o",
                "PidFile=none",
                "-o",
                "ListenAddress=127.0.0.1",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd did not listen: {}",
                std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            child,
            port,
            client_key,
            user: current_user(),
        }
    }
}

/// The `ssh` calls' outputs of one turn each, in order.
async fn run_turns(harness: &mut Harness, turns: usize) -> Vec<(bool, String)> {
    let mut seen = Vec::new();
    for _ in 0..turns {
        let turn = harness.prompt("ops", "go");
        let events = harness.until_finished(turn).await;
        seen.push(
            events
                .iter()
                .find_map(|e| match &e.kind {
                    EventKind::ToolCallFinished { ok, output, .. } => Some((*ok, output.clone())),
                    _ => None,
                })
                .expect("a finished ssh call"),
        );
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_runs_on_a_named_server_and_nowhere_else() {
    let Some(sshd_bin) = peers::sshd() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sshd = Sshd::start(&sshd_bin, dir.path());
    let pwned = dir.path().join("pwned");
    let calls: Vec<Value> = vec![
        // The model asks for another user, port and key: the entry's are used.
        json!({"host": "box", "command": "echo hello over ssh; whoami",
               "user": "nobody", "port": 1, "key_path": "/nonexistent/key"}),
        json!({"host": "127.0.0.1", "command": "echo by host"}),
        json!({"host": "elsewhere.example", "command": "id"}),
        json!({"host": format!("-oProxyCommand=touch {}", pwned.display()), "command": "id"}),
        json!({"host": "trap", "command": "id"}),
        // Not the name or host of any entry: refused before ssh is even considered.
        json!({"host": "-oProxyCommand=touch /tmp/tzzr-ssh-pwned", "command": "id"}),
    ];
    let script: Vec<Value> = calls
        .iter()
        .flat_map(|params| {
            [
                json!({"tool_calls": [{"tool": "ssh", "params": params}]}),
                json!("done"),
            ]
        })
        .collect();
    let config = json!({
        "settings": {"ssh_strict_host_checking": false, "timeout": 30},
        "servers": {
            "box": {"host": "127.0.0.1", "user": sshd.user, "port": sshd.port,
                    "key": sshd.client_key.display().to_string()},
            "trap": {"host": format!("-oProxyCommand=touch {}", pwned.display()),
                     "user": sshd.user, "port": sshd.port},
        },
        "agents": {"ops": {
            "provider": "scripted", "tools": ["ssh"], "servers": ["box", "trap"],
            "approval": "auto", "script": script,
        }},
    });
    let mut harness = Harness::start(&config.to_string()).await;
    let seen = run_turns(&mut harness, calls.len()).await;

    let (ok, output) = &seen[0];
    assert!(
        ok,
        "{output}\nsshd: {}",
        std::fs::read_to_string(dir.path().join("sshd.log")).unwrap_or_default()
    );
    assert!(
        output.starts_with(&format!("hello over ssh\n{}\n[exit code 0]", sshd.user)),
        "{output}"
    );
    assert!(
        output.ends_with("[user, key and port come from the entry of server `box` (root@127.0.0.1:PORT); the ones given were ignored]".replace("root", &sshd.user).replace("PORT", &sshd.port.to_string()).as_str()),
        "{output}"
    );
    assert_eq!(seen[1], (true, "by host\n[exit code 0]".to_owned()));
    let (ok, output) = &seen[2];
    assert!(!ok);
    assert!(
        output.starts_with(
            "refused: `elsewhere.example` is not a server of this agent; it may use: box ("
        ),
        "{output}"
    );
    // Named by its host, the hostile entry is found, and refused like the entry itself.
    assert_eq!(seen[3], seen[4]);
    assert_eq!(
        seen[4],
        (
            false,
            "refused: servers.trap.host starts with `-` (it would be read as an ssh option); fix it in the config".to_owned()
        )
    );
    let (ok, output) = &seen[5];
    assert!(!ok);
    assert!(
        output.starts_with("refused: `-oProxyCommand=touch /tmp/tzzr-ssh-pwned` is not a server of this agent; it may use: box ("),
        "{output}"
    );
    assert!(!pwned.exists(), "an injected ProxyCommand ran");
    assert!(
        !Path::new("/tmp/tzzr-ssh-pwned").exists(),
        "an injected ProxyCommand ran"
    );
    harness.shutdown().await;
}
