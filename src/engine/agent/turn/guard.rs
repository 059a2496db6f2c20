//! The loop guard: a model that asks for the same tool call with the same arguments several
//! times in a row is going round in circles, and the turn stops before it spends more.

use crate::engine::conversation::ToolCall;

/// Counts identical tool calls in a row over one turn.
#[derive(Debug)]
pub(super) struct LoopGuard {
    /// Identical calls in a row that stop the turn; 0 turns the guard off.
    limit: u32,
    last: Option<(String, serde_json::Value)>,
    repeats: u32,
}

impl LoopGuard {
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            last: None,
            repeats: 0,
        }
    }

    /// Counts `call`; `Err` says why the turn stops when it is one repeat too many.
    pub fn check(&mut self, call: &ToolCall) -> Result<(), String> {
        let same = self
            .last
            .as_ref()
            .is_some_and(|(tool, args)| *tool == call.tool && *args == call.args);
        if same {
            self.repeats = self.repeats.saturating_add(1);
        } else {
            self.last = Some((call.tool.clone(), call.args.clone()));
            self.repeats = 1;
        }
        if self.limit > 0 && self.repeats >= self.limit {
            return Err(format!(
                "stopped by the loop guard: the model asked for `{}` with the same arguments {} times in a row (settings.loop_guard: {}; 0 turns it off)",
                call.tool, self.repeats, self.limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::protocol::CallId;

    fn call(tool: &str, args: serde_json::Value) -> ToolCall {
        ToolCall {
            id: CallId(format!("{tool}-{args}")),
            tool: tool.into(),
            args,
        }
    }

    #[test]
    fn the_third_identical_call_in_a_row_stops_the_turn() {
        let mut guard = LoopGuard::new(3);
        let read = call("read", serde_json::json!({"path": "a"}));
        assert!(guard.check(&read).is_ok());
        assert!(guard.check(&read).is_ok());
        let why = guard.check(&read).unwrap_err();
        assert!(
            why.contains("`read` with the same arguments 3 times in a row"),
            "{why}"
        );
    }

    #[test]
    fn another_call_or_other_arguments_in_between_start_the_count_again() {
        let mut guard = LoopGuard::new(3);
        let a = call("read", serde_json::json!({"path": "a"}));
        let b = call("read", serde_json::json!({"path": "b"}));
        for next in [&a, &a, &b, &a, &a, &b, &b] {
            assert!(guard.check(next).is_ok());
        }
        assert!(guard.check(&b).is_err());
    }

    #[test]
    fn zero_turns_the_guard_off() {
        let mut guard = LoopGuard::new(0);
        let a = call("read", serde_json::json!({}));
        assert!((0..100).all(|_| guard.check(&a).is_ok()));
    }
}
