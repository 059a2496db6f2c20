//! The turn's side of context windows: measure the next prompt, report how full the window is,
//! and compact (summarise the oldest messages with a model call) when the next call would not
//! fit comfortably, when the server says it is too long, or when the user asks.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use super::super::{AgentRuntime, Emitter};
use super::booking::{self, UsageContext};
use super::forward;
use crate::engine::config::ToolProtocol;
use crate::engine::context::{ContextKeeper, plan_cut, summary};
use crate::engine::conversation::Message;
use crate::engine::cost::{CostMeter, PriceTable, Pricing};
use crate::engine::protocol::{EventKind, TokenUsage};
use crate::engine::provider::backend::Backend;
use crate::engine::provider::{ModelRequest, ProviderError, StreamItem};
use crate::engine::tokens;
use crate::engine::tools::text_protocol;
use crate::engine::tools::{ToolSpec, Toolbox};

/// Fewer tokens than this are not worth a summary (its header alone is about 25).
const MIN_WORTH_SUMMARISING: u64 = 100;

/// What every call sends besides the conversation.
#[derive(Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub system: &'a str,
    pub tools: &'a [ToolSpec],
}

/// The raw and the corrected estimate of a prompt's tokens.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Measure {
    pub raw: u64,
    pub used: u64,
}

pub(crate) fn measure(keeper: &ContextKeeper, frame: Frame<'_>, messages: &[Message]) -> Measure {
    let raw = tokens::estimate_request(frame.system, messages, frame.tools);
    Measure {
        raw,
        used: keeper.estimator.correct(raw),
    }
}

/// Emits how full the window is with `messages` as the conversation.
pub(crate) fn report(
    out: &mut Emitter,
    keeper: &ContextKeeper,
    frame: Frame<'_>,
    messages: &[Message],
) {
    out.emit(EventKind::Context {
        used: measure(keeper, frame, messages).used,
        window: keeper.window.tokens,
        source: keeper.window.source,
    });
}

/// The prompt tokens a server counted, from a usage report it made (not one tzzr estimated).
pub(crate) fn reported_input(item: &StreamItem) -> Option<u64> {
    match item {
        StreamItem::Usage {
            usage,
            estimated: false,
            ..
        } => Some(prompt_tokens(usage)),
        _ => None,
    }
}

fn prompt_tokens(usage: &TokenUsage) -> u64 {
    usage
        .input
        .saturating_add(usage.cache_read)
        .saturating_add(usage.cache_write)
}

/// Who pays for a summary and who writes it.
pub(crate) struct Summariser<'a> {
    pub agent: &'a str,
    pub model: &'a str,
    pub price_model: &'a str,
    pub pricing: Pricing,
    pub prices: &'a PriceTable,
    pub meter: &'a Arc<Mutex<CostMeter>>,
    pub backend: &'a mut Backend,
}

impl<'a> Summariser<'a> {
    pub fn new(
        agent: &'a str,
        model: &'a str,
        price_model: &'a str,
        pricing: Pricing,
        prices: &'a PriceTable,
        meter: &'a Arc<Mutex<CostMeter>>,
        backend: &'a mut Backend,
    ) -> Self {
        Self {
            agent,
            model,
            price_model,
            pricing,
            prices,
            meter,
            backend,
        }
    }
}

/// Why a compaction did not happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompactError {
    /// Nothing older than the newest message (or tool pair) is left to summarise.
    #[error("there is nothing older to summarise")]
    NothingToSummarise,
    /// What could be summarised is shorter than a summary would be.
    #[error("the older messages are too short to be worth summarising")]
    TooLittle,
    /// The summary came out no shorter than what it would replace: the messages are kept.
    #[error("the summary was no shorter than the messages it would replace")]
    NoGain,
    #[error("the summary call failed: {0}")]
    Call(ProviderError),
    #[error("{0}")]
    Budget(#[from] crate::engine::cost::BudgetError),
    #[error("cancelled")]
    Cancelled,
}

/// How small a compaction makes the prompt.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Aim {
    /// Half the window: room for several more calls.
    HalfTheWindow,
    /// The server said too long although the window said it fitted: half of what was sent.
    HalfThePrompt { sent: u64 },
    /// The user asked: a quarter of the prompt, a quarter of the window at most.
    QuarterOfThePrompt,
}

/// Replaces the oldest messages by a summary, keeping the newest that fit what `aim` leaves;
/// emits `Compacted` and `Context` and says how many messages the summary replaced.
/// `messages` is untouched when it fails.
pub(crate) async fn compact(
    who: &mut Summariser<'_>,
    keeper: &ContextKeeper,
    frame: Frame<'_>,
    messages: &mut Vec<Message>,
    out: &mut Emitter,
    cancel: &CancellationToken,
    aim: Aim,
) -> Result<usize, CompactError> {
    let window = keeper.window.tokens;
    let target = match aim {
        Aim::HalfTheWindow => window / 2,
        Aim::HalfThePrompt { sent } => (window / 2).min(sent / 2),
        Aim::QuarterOfThePrompt => (window / 4).min(measure(keeper, frame, messages).used / 4),
    };
    // The server is the authority on what is too long: then any summary is worth a try.
    let worth = match aim {
        Aim::HalfThePrompt { .. } => 0,
        Aim::HalfTheWindow | Aim::QuarterOfThePrompt => MIN_WORTH_SUMMARISING,
    };
    let before = measure(keeper, frame, messages).used;
    let summary_tokens = summary::max_summary_tokens(window);
    let fixed = measure(keeper, frame, &[]).used;
    let sizes: Vec<u64> = messages
        .iter()
        .map(|m| keeper.estimator.correct(tokens::estimate_message(m)))
        .collect();
    let room = target.saturating_sub(fixed.saturating_add(u64::from(summary_tokens)));
    let cut = plan_cut(messages, &sizes, room).ok_or(CompactError::NothingToSummarise)?;
    let old_tokens: u64 = sizes[..cut.at].iter().sum();
    if old_tokens < worth {
        return Err(CompactError::TooLittle);
    }
    let text = summarise(
        who,
        keeper,
        &messages[..cut.at],
        summary_tokens,
        out,
        cancel,
    )
    .await?;
    let summary = summary::summary_message(&text, usize::try_from(summary_tokens).unwrap_or(0) * 4);
    let replaced = cut.at;
    let mut compacted = Vec::with_capacity(messages.len() - replaced + 1);
    compacted.push(summary);
    compacted.extend_from_slice(&messages[replaced..]);
    let after = measure(keeper, frame, &compacted).used;
    if after >= before {
        return Err(CompactError::NoGain);
    }
    *messages = compacted;
    out.emit(EventKind::Compacted {
        before_tokens: before,
        after_tokens: after,
        messages: replaced,
    });
    report(out, keeper, frame, messages);
    Ok(replaced)
}

/// Where the current turn starts after a compaction replaced the first `replaced` messages by
/// one (the summary itself when the cut fell inside the turn).
pub(crate) fn start_after(start: usize, replaced: usize) -> usize {
    if replaced <= start {
        start - replaced + 1
    } else {
        1
    }
}

/// One model call that writes the summary of `old`, booked like any other call. Only its text
/// is kept (bounded); tool calls it makes are ignored.
async fn summarise(
    who: &mut Summariser<'_>,
    keeper: &ContextKeeper,
    old: &[Message],
    max_tokens: u32,
    out: &mut Emitter,
    cancel: &CancellationToken,
) -> Result<String, CompactError> {
    let instructions = summary::instructions(max_tokens);
    let window = keeper.window.tokens;
    // The request must fit the window too: the transcript gets what the answer and the
    // instructions leave, with a margin, in characters at the agent's corrected rate.
    let for_input = window
        .saturating_sub(u64::from(max_tokens))
        .saturating_sub(
            keeper
                .estimator
                .correct(tokens::estimate_text(&instructions)),
        )
        .saturating_sub(64)
        .max(64);
    let chars = (for_input as f64 * 4.0 / keeper.estimator.factor()) as usize;
    let transcript = [Message::user(summary::transcript(old, chars))];
    let model = keeper.compaction_model.as_deref().unwrap_or(who.model);
    let price_model = if model == who.model {
        who.price_model
    } else {
        model
    };
    let est = keeper
        .estimator
        .correct(tokens::estimate_request(&instructions, &transcript, &[]));
    let hold = booking::reserve(
        who.meter,
        who.prices,
        who.pricing,
        who.agent,
        price_model,
        est,
        Some(max_tokens),
    )?;
    let req = ModelRequest {
        model,
        system: &instructions,
        messages: &transcript,
        tools: &[],
        temperature: None,
        max_tokens: Some(max_tokens),
    };
    let cap = usize::try_from(max_tokens).unwrap_or(0) * 4;
    let mut text = String::new();
    let mut usage_ctx = UsageContext {
        agent: who.agent,
        upstream_model: model,
        price_model,
        pricing: who.pricing,
        prices: who.prices,
        meter: who.meter,
    };
    let mut sink = |item: StreamItem| {
        let kind = match item {
            StreamItem::TextDelta(piece) => {
                if text.len() < cap {
                    text.push_str(&piece);
                }
                return;
            }
            report => match forward::about_the_call(report, &mut usage_ctx) {
                Some(kind) => kind,
                None => return,
            },
        };
        out.emit(kind);
    };
    let result = who.backend.complete(&req, est, cancel, &mut sink).await;
    for text in hold.settle() {
        out.emit(EventKind::Notice { text });
    }
    let reply = match result {
        Ok(reply) => reply,
        Err(ProviderError::Cancelled) => return Err(CompactError::Cancelled),
        Err(error) => return Err(CompactError::Call(error)),
    };
    if text.trim().is_empty() {
        text = reply.text;
    }
    if text.trim().is_empty() {
        return Err(CompactError::Call(ProviderError::Protocol {
            url: model.to_owned(),
            detail: "the model wrote an empty summary".to_owned(),
        }));
    }
    Ok(text)
}

/// The one line a user reads when the conversation cannot be made to fit.
pub(crate) fn cannot_fit(keeper: &ContextKeeper, used: u64, why: &str) -> String {
    format!(
        "the conversation does not fit the model's context window ({used} tokens estimated, window {}{}) and compaction cannot help: {why}; shorten the message, raise `context_window` under `models:` if the model takes more, or /clear",
        keeper.window.tokens,
        if keeper.window.is_default() {
            ", an assumed default"
        } else {
            ""
        }
    )
}

/// What the agent's next call would send besides the conversation: its system prompt (with the
/// text tool protocol's instructions when it uses them) and the tools offered natively.
fn next_frame<'a>(
    system_prompt: &str,
    protocol: ToolProtocol,
    toolbox: &'a Toolbox,
) -> (String, &'a [ToolSpec]) {
    let specs = toolbox.specs();
    if protocol == ToolProtocol::Text && !specs.is_empty() {
        let system = format!("{system_prompt}\n\n{}", text_protocol::instructions(specs));
        (system, &[])
    } else {
        (system_prompt.to_owned(), specs)
    }
}

/// Reports how full the agent's window is now (at start, after a reset).
pub(in crate::engine::agent) fn report_now(rt: &AgentRuntime, out: &mut Emitter) {
    let (system, tools) = next_frame(&rt.system_prompt, rt.tool_protocol, &rt.toolbox);
    let frame = Frame {
        system: &system,
        tools,
    };
    report(out, &rt.context, frame, &rt.conversation);
}

/// `/compact`: summarises the older part of the conversation now, whatever its size.
pub(in crate::engine::agent) async fn compact_now(
    rt: &mut AgentRuntime,
    out: &mut Emitter,
    cancel: &CancellationToken,
) {
    if matches!(rt.backend, Backend::ClaudeCli(_)) {
        out.emit(EventKind::Notice {
            text: "the Claude CLI keeps its own context; /compact leaves it alone".to_owned(),
        });
        return;
    }
    let (system, tools) = next_frame(&rt.system_prompt, rt.tool_protocol, &rt.toolbox);
    let frame = Frame {
        system: &system,
        tools,
    };
    let mut who = Summariser {
        agent: &rt.name,
        model: &rt.model,
        price_model: &rt.price_model,
        pricing: rt.pricing,
        prices: &rt.prices,
        meter: &rt.meter,
        backend: &mut rt.backend,
    };
    let result = compact(
        &mut who,
        &rt.context,
        frame,
        &mut rt.conversation,
        out,
        cancel,
        Aim::QuarterOfThePrompt,
    )
    .await;
    let text = match result {
        Ok(_) => return,
        Err(error @ (CompactError::NothingToSummarise | CompactError::TooLittle)) => {
            format!("nothing to compact: {error}")
        }
        Err(error) => format!("could not compact: {error}"),
    };
    out.emit(EventKind::Notice { text });
}
