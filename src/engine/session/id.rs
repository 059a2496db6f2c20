//! Session ids: the start time to the second, then four random hex digits
//! (`20261129-193117-a3f0`), so that names sort by age and a short prefix picks one.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SessionId(pub String);

impl SessionId {
    /// A new id for a session started at `now`.
    pub fn new(now: jiff::Timestamp) -> Self {
        let stamp = now.strftime("%Y%m%d-%H%M%S");
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self(format!("{stamp}-{}", &random[..4]))
    }

    /// The id a journal's file name holds, if the name is one tzzr made (`ID.jsonl`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let id = name.strip_suffix(".jsonl")?;
        let well_formed = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| Self(id.to_owned()))
    }

    pub fn file_name(&self) -> String {
        format!("{}.jsonl", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_start_time_and_name_their_file() {
        let early = SessionId::new("2026-11-29T09:00:00Z".parse().unwrap());
        let late = SessionId::new("2026-11-29T10:00:00Z".parse().unwrap());
        assert!(early < late);
        assert!(early.as_str().starts_with("20261129-090000-"), "{early}");
        assert_eq!(SessionId::from_file_name(&late.file_name()), Some(late));
    }

    #[test]
    fn only_names_tzzr_makes_are_sessions() {
        assert_eq!(SessionId::from_file_name("notes.txt"), None);
        assert_eq!(SessionId::from_file_name("../x.jsonl"), None);
        assert_eq!(SessionId::from_file_name(".jsonl"), None);
    }
}
