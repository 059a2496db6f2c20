//! How a turn's ending reads and looks: a word for each kind of failure or cut answer and the
//! colour it shows in (money, quota and cut answers amber: the user can act; the rest red).

use ratatui::style::Style;

use super::theme::Theme;
use crate::engine::protocol::{FailureKind, StoppedBy};

/// A few words for the agents pane: what went wrong, at a glance.
pub fn failure_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Auth => "key refused",
        FailureKind::RateLimit => "rate limited",
        FailureKind::Quota => "no quota",
        FailureKind::Budget => "over budget",
        FailureKind::Context => "context full",
        FailureKind::Network => "unreachable",
        FailureKind::Server => "server error",
        FailureKind::Request => "request refused",
        FailureKind::Config => "cannot run",
        FailureKind::Loop => "looping",
        FailureKind::Cancelled => "cancelled",
        FailureKind::Internal => "internal error",
        FailureKind::Other => "failed",
    }
}

/// A few words for the agents pane: why the last answer is not whole.
pub fn stopped_label(reason: StoppedBy) -> &'static str {
    match reason {
        StoppedBy::MaxTokens => "cut off",
        StoppedBy::ContentFilter => "filtered",
        StoppedBy::Refusal => "refused",
    }
}

pub fn failure_style(kind: FailureKind) -> Style {
    match kind {
        FailureKind::Budget | FailureKind::Quota | FailureKind::RateLimit | FailureKind::Loop => {
            Theme::warn()
        }
        FailureKind::Cancelled => Theme::dim(),
        FailureKind::Auth
        | FailureKind::Context
        | FailureKind::Network
        | FailureKind::Server
        | FailureKind::Request
        | FailureKind::Config
        | FailureKind::Internal
        | FailureKind::Other => Theme::error(),
    }
}
