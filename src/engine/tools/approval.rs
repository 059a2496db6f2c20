//! Who may run a tool call: the per-agent, per-tool policy (`auto`, `ask`, `deny`), and the gate
//! an agent's turn passes every call through. Tools that change the world (bash, write, ssh,
//! http_request) ask by default; the others run.

use std::collections::HashSet;

use indexmap::IndexMap;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::engine::protocol::{Approval, CallId};

/// Tools whose calls change files, machines or the outside world.
pub const CHANGES_THE_WORLD: [&str; 4] = ["bash", "write", "ssh", "http_request"];

/// Whether calls of `tool` can change files, machines or the outside world: the four of
/// [`CHANGES_THE_WORLD`], and every MCP server's tool (`mcp__SERVER__TOOL`), which tzzr cannot
/// see into.
pub fn changes_the_world(tool: &str) -> bool {
    CHANGES_THE_WORLD.contains(&tool) || tool.starts_with("mcp__")
}

/// What happens to a call of one tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Run it.
    Auto,
    /// Ask the user first (headless: refuse, unless `--yes`).
    Ask,
    /// Never run it.
    Deny,
}

impl Policy {
    pub const NAMES: [&'static str; 3] = ["auto", "ask", "deny"];

    pub fn parse(word: &str) -> Option<Self> {
        match word.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(Self::Auto),
            "ask" => Some(Self::Ask),
            "deny" => Some(Self::Deny),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Ask => "ask",
            Self::Deny => "deny",
        }
    }
}

/// An agent's approval settings: one policy for the tools that change the world, and exceptions
/// per tool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovalPolicy {
    pub changes: Policy,
    pub per_tool: IndexMap<String, Policy>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        Self {
            changes: Policy::Ask,
            per_tool: IndexMap::new(),
        }
    }
}

impl ApprovalPolicy {
    /// The same policy with an entry for every known tool (how the config resolves it), and
    /// the entries for MCP servers' tools kept.
    pub fn written_out(&self) -> Self {
        let mut per_tool: IndexMap<String, Policy> = super::ALL_TOOLS
            .iter()
            .map(|tool| ((*tool).to_owned(), self.for_tool(tool)))
            .collect();
        for (tool, policy) in &self.per_tool {
            per_tool.entry(tool.clone()).or_insert(*policy);
        }
        Self {
            changes: self.changes,
            per_tool,
        }
    }

    pub fn for_tool(&self, tool: &str) -> Policy {
        match self.per_tool.get(tool) {
            Some(policy) => *policy,
            None if changes_the_world(tool) => self.changes,
            None => Policy::Auto,
        }
    }
}

/// Who answers an `ask`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asker {
    /// A front end that shows `ApprovalNeeded` and sends `Approve` (the TUI).
    Interactive,
    /// Everything that would ask is approved (`--yes`).
    ApproveAll,
    /// Nobody can answer (headless without `--yes`): what would ask is refused.
    Nobody,
}

/// What the gate says about one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GateDecision {
    Run,
    /// Refused, with the reason the model (and the user) will read.
    Refuse(String),
    /// Ask the user, saying why.
    Ask(String),
}

/// Every tool call of one agent passes here. Owned by the agent's task.
#[derive(Debug)]
pub struct Gate {
    agent: String,
    policy: ApprovalPolicy,
    asker: Asker,
    /// Tools the user said "always" for.
    always: HashSet<String>,
    /// Answers the front end sent (`AgentCommand::Approve`), forwarded by the agent's task.
    answers: Option<UnboundedReceiver<(CallId, Approval)>>,
}

impl Gate {
    pub fn new(agent: &str, policy: ApprovalPolicy, asker: Asker) -> Self {
        Self {
            agent: agent.to_owned(),
            policy,
            asker,
            always: HashSet::new(),
            answers: None,
        }
    }

    /// Where the answers to `Ask` arrive; set by the task that owns the agent.
    pub fn connect(&mut self, answers: UnboundedReceiver<(CallId, Approval)>) {
        self.answers = Some(answers);
    }

    pub fn decide(&self, tool: &str) -> GateDecision {
        let agent = &self.agent;
        match self.policy.for_tool(tool) {
            Policy::Auto => GateDecision::Run,
            Policy::Deny => GateDecision::Refuse(format!(
                "refused: agents.{agent}.approval denies `{tool}`; change it to `ask` or `auto` to allow it"
            )),
            Policy::Ask if self.always.contains(tool) => GateDecision::Run,
            Policy::Ask => match self.asker {
                Asker::ApproveAll => GateDecision::Run,
                Asker::Interactive => GateDecision::Ask(if changes_the_world(tool) {
                    format!(
                        "`{tool}` can change files or systems, and agent `{agent}` asks before it does (approval: ask)"
                    )
                } else {
                    format!("agent `{agent}` asks before every `{tool}` call (approval: ask)")
                }),
                Asker::Nobody => GateDecision::Refuse(format!(
                    "refused: `{tool}` needs approval and no one can give it here; run with --yes, or set agents.{agent}.approval to auto"
                )),
            },
        }
    }

    /// Waits for the user's answer to `call`; `None` if the turn is cancelled first (or no front
    /// end can answer). Answers to other calls (stale ones) are dropped.
    pub async fn wait(&mut self, call: &CallId, cancel: &CancellationToken) -> Option<Approval> {
        let answers = self.answers.as_mut()?;
        loop {
            tokio::select! {
                answer = answers.recv() => match answer {
                    Some((answered, approval)) if &answered == call => return Some(approval),
                    Some(_) => continue,
                    None => return None,
                },
                () = cancel.cancelled() => return None,
            }
        }
    }

    /// Remembers "always" for this tool, for the rest of the run.
    pub fn always_allow(&mut self, tool: &str) {
        self.always.insert(tool.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(changes: Policy, asker: Asker) -> Gate {
        Gate::new(
            "coder",
            ApprovalPolicy {
                changes,
                per_tool: IndexMap::from([("grep".to_owned(), Policy::Deny)]),
            },
            asker,
        )
    }

    #[test]
    fn world_changing_tools_ask_by_default_and_readers_run() {
        let policy = ApprovalPolicy::default();
        assert_eq!(policy.for_tool("write"), Policy::Ask);
        assert_eq!(policy.for_tool("bash"), Policy::Ask);
        assert_eq!(policy.for_tool("read"), Policy::Auto);
    }

    #[test]
    fn mcp_tools_follow_the_policy_of_tools_that_change_the_world() {
        let policy = ApprovalPolicy::default();
        assert_eq!(policy.for_tool("mcp__everything__echo"), Policy::Ask);
        let open = ApprovalPolicy {
            changes: Policy::Auto,
            per_tool: IndexMap::new(),
        };
        assert_eq!(open.for_tool("mcp__everything__echo"), Policy::Auto);
    }

    #[test]
    fn per_tool_entries_override_the_default() {
        let g = gate(Policy::Auto, Asker::Interactive);
        assert_eq!(g.decide("write"), GateDecision::Run);
        assert!(
            matches!(g.decide("grep"), GateDecision::Refuse(r) if r.contains("agents.coder.approval denies `grep`"))
        );
    }

    #[test]
    fn ask_depends_on_who_can_answer() {
        assert!(matches!(
            gate(Policy::Ask, Asker::Interactive).decide("write"),
            GateDecision::Ask(_)
        ));
        assert_eq!(
            gate(Policy::Ask, Asker::ApproveAll).decide("write"),
            GateDecision::Run
        );
        let refused = gate(Policy::Ask, Asker::Nobody).decide("write");
        assert!(matches!(refused, GateDecision::Refuse(r) if r.contains("--yes")));
    }

    #[test]
    fn always_allow_stops_asking_for_that_tool_only() {
        let mut g = gate(Policy::Ask, Asker::Interactive);
        g.always_allow("write");
        assert_eq!(g.decide("write"), GateDecision::Run);
        assert!(matches!(g.decide("bash"), GateDecision::Ask(_)));
    }

    #[tokio::test]
    async fn wait_returns_the_answer_for_its_call_and_skips_stale_ones() {
        let mut g = gate(Policy::Ask, Asker::Interactive);
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        g.connect(rx);
        tx.send((CallId("old".into()), Approval::Allow)).unwrap();
        tx.send((CallId("c1".into()), Approval::Deny)).unwrap();
        let answer = g
            .wait(&CallId("c1".into()), &CancellationToken::new())
            .await;
        assert_eq!(answer, Some(Approval::Deny));
    }

    #[tokio::test]
    async fn cancel_ends_the_wait() {
        let mut g = gate(Policy::Ask, Asker::Interactive);
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        g.connect(rx);
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert_eq!(g.wait(&CallId("c".into()), &cancel).await, None);
    }
}
