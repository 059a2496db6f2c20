//! One agent's conversation as the user sees it: prompts, answers as they stream, reasoning, tool
//! calls (by id, drawn from the trace), notices and errors. Each entry has a revision that changes
//! whenever its text does, so rendered lines can be cached per entry.

use crate::engine::protocol::{CallId, FailureKind, StoppedBy};

/// Identifies an entry for the whole life of a transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub u64);

#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    User {
        text: String,
    },
    /// Markdown; `streaming` while the model is still writing it.
    Assistant {
        text: String,
        streaming: bool,
    },
    Reasoning {
        text: String,
    },
    Tool {
        call: CallId,
    },
    Notice {
        text: String,
    },
    /// Why the answer above is not whole.
    Stopped {
        reason: StoppedBy,
    },
    /// How a turn failed.
    Error {
        text: String,
        kind: FailureKind,
    },
}

#[derive(Debug, Default)]
pub struct Transcript {
    entries: Vec<(EntryId, u64, Entry)>,
    next_id: u64,
    next_rev: u64,
}

impl Transcript {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in order, each with its id and revision.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = (EntryId, u64, &Entry)> + ExactSizeIterator {
        self.entries.iter().map(|(id, rev, e)| (*id, *rev, e))
    }

    pub fn get(&self, index: usize) -> Option<(EntryId, u64, &Entry)> {
        self.entries.get(index).map(|(id, rev, e)| (*id, *rev, e))
    }

    pub fn push(&mut self, entry: Entry) {
        if matches!(
            entry,
            Entry::User { .. }
                | Entry::Tool { .. }
                | Entry::Notice { .. }
                | Entry::Stopped { .. }
                | Entry::Error { .. }
        ) {
            self.end_streaming();
        }
        let id = EntryId(self.next_id);
        self.next_id += 1;
        let rev = self.bump();
        self.entries.push((id, rev, entry));
    }

    /// Appends answer text: to the answer being streamed, or as a new answer.
    pub fn append_answer(&mut self, delta: &str) {
        let rev = self.bump();
        if let Some((
            _,
            entry_rev,
            Entry::Assistant {
                text,
                streaming: true,
            },
        )) = self.entries.last_mut()
        {
            text.push_str(delta);
            *entry_rev = rev;
            return;
        }
        self.push(Entry::Assistant {
            text: delta.to_owned(),
            streaming: true,
        });
    }

    /// Appends reasoning text to the reasoning just before, or starts a new one.
    pub fn append_reasoning(&mut self, delta: &str) {
        let rev = self.bump();
        if let Some((_, entry_rev, Entry::Reasoning { text })) = self.entries.last_mut() {
            text.push_str(delta);
            *entry_rev = rev;
            return;
        }
        self.push(Entry::Reasoning {
            text: delta.to_owned(),
        });
    }

    /// The answer being streamed is complete.
    pub fn end_streaming(&mut self) {
        let rev = self.bump();
        for (_, entry_rev, entry) in self.entries.iter_mut().rev().take(4) {
            if let Entry::Assistant { streaming, .. } = entry
                && *streaming
            {
                *streaming = false;
                *entry_rev = rev;
            }
        }
    }

    /// Marks the tool entry of `call` changed (its state is drawn from the trace).
    pub fn touch_tool(&mut self, call: &CallId) {
        let rev = self.bump();
        if let Some((_, entry_rev, _)) = self
            .entries
            .iter_mut()
            .rev()
            .find(|(_, _, e)| matches!(e, Entry::Tool { call: c } if c == call))
        {
            *entry_rev = rev;
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// The text of the last answer, for the run-all columns.
    pub fn last_answer(&self) -> Option<&str> {
        self.entries.iter().rev().find_map(|(_, _, e)| match e {
            Entry::Assistant { text, .. } => Some(text.as_str()),
            _ => None,
        })
    }

    fn bump(&mut self) -> u64 {
        self.next_rev += 1;
        self.next_rev
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_grow_one_answer_until_something_else_comes() {
        let mut t = Transcript::default();
        t.push(Entry::User { text: "hi".into() });
        t.append_answer("Hel");
        let (_, rev1, _) = t.get(1).unwrap();
        t.append_answer("lo");
        let (_, rev2, entry) = t.get(1).unwrap();
        assert!(rev2 > rev1, "a changed entry gets a new revision");
        assert_eq!(
            entry,
            &Entry::Assistant {
                text: "Hello".into(),
                streaming: true
            }
        );
        t.push(Entry::Tool {
            call: CallId("c".into()),
        });
        t.append_answer("next");
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.get(1).map(|(_, _, e)| e.clone()),
            Some(Entry::Assistant {
                text: "Hello".into(),
                streaming: false
            })
        );
        assert_eq!(t.last_answer(), Some("next"));
    }
}
