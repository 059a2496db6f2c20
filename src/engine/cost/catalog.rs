//! The built-in price list: USD per million tokens and context windows of each vendor's models,
//! keyed by the id the vendor's API uses. Prices are the vendors' public list prices as of
//! 2025-11-30 (standard tier, no batch discount, the lowest tier of tiered prices).

use super::prices::Price;

/// One model of the built-in list.
#[derive(Clone, Copy, Debug)]
pub(super) struct Listing {
    pub model: &'static str,
    pub price: Price,
    pub context_window: u64,
}

/// Anthropic bills cache reads at 0.1× and (5-minute) cache writes at 1.25× the input price.
const fn anthropic(model: &'static str, input: f64, output: f64, context_window: u64) -> Listing {
    Listing {
        model,
        price: Price {
            input,
            output,
            cache_read: input * 0.1,
            cache_write: input * 1.25,
        },
        context_window,
    }
}

/// A vendor that bills cached input at its own rate and charges nothing extra to fill the cache
/// (OpenAI, Gemini's implicit caching, DeepSeek).
const fn cached(
    model: &'static str,
    input: f64,
    cached_input: f64,
    output: f64,
    context_window: u64,
) -> Listing {
    Listing {
        model,
        price: Price {
            input,
            output,
            cache_read: cached_input,
            cache_write: input,
        },
        context_window,
    }
}

/// A model with no prompt-cache discount: cached tokens, if any are reported, cost as input.
const fn uncached(model: &'static str, input: f64, output: f64, context_window: u64) -> Listing {
    Listing {
        model,
        price: Price {
            input,
            output,
            cache_read: input,
            cache_write: input,
        },
        context_window,
    }
}

/// The Claude CLI's model aliases and the ids they stood for in its 2026 version
/// (see shared/ref/claude-cli.md).
pub(super) const CLAUDE_CLI_ALIASES: [(&str, &str); 3] = [
    ("opus", "claude-opus-5-5"),
    ("sonnet", "claude-sonnet-5-5"),
    ("haiku", "claude-haiku-4-5"),
];

pub(super) const LISTINGS: &[Listing] = &[
    // Anthropic. The 5.5 models have no public price yet: they are priced like their 4.5 siblings.
    // The CLI reports a 1M context window for claude-opus-5-5; sonnet 5.5 is assumed the same.
    anthropic("claude-opus-5-5", 5.0, 25.0, 1_000_000),
    anthropic("claude-sonnet-5-5", 3.0, 15.0, 1_000_000),
    anthropic("claude-opus-4-5", 5.0, 25.0, 200_000),
    anthropic("claude-opus-4-1", 15.0, 75.0, 200_000),
    anthropic("claude-opus-4", 15.0, 75.0, 200_000),
    anthropic("claude-opus-4-0", 15.0, 75.0, 200_000),
    anthropic("claude-sonnet-4-5", 3.0, 15.0, 200_000),
    anthropic("claude-sonnet-4", 3.0, 15.0, 200_000),
    anthropic("claude-sonnet-4-0", 3.0, 15.0, 200_000),
    anthropic("claude-3-7-sonnet", 3.0, 15.0, 200_000),
    anthropic("claude-haiku-4-5", 1.0, 5.0, 200_000),
    anthropic("claude-3-5-haiku", 0.8, 4.0, 200_000),
    anthropic("claude-3-5-sonnet", 3.0, 15.0, 200_000),
    anthropic("claude-3-opus", 15.0, 75.0, 200_000),
    // OpenAI: `cache_read` is the "cached input" price; filling the cache costs nothing extra.
    cached("gpt-5", 1.25, 0.125, 10.0, 400_000),
    cached("gpt-5-mini", 0.25, 0.025, 2.0, 400_000),
    cached("gpt-5-nano", 0.05, 0.005, 0.4, 400_000),
    cached("gpt-4.1", 2.0, 0.5, 8.0, 1_047_576),
    cached("gpt-4.1-mini", 0.4, 0.1, 1.6, 1_047_576),
    cached("gpt-4.1-nano", 0.1, 0.025, 0.4, 1_047_576),
    cached("gpt-4o", 2.5, 1.25, 10.0, 128_000),
    cached("gpt-4o-mini", 0.15, 0.075, 0.6, 128_000),
    uncached("gpt-4-turbo", 10.0, 30.0, 128_000),
    uncached("gpt-4", 30.0, 60.0, 8_192),
    cached("o1", 15.0, 7.5, 60.0, 200_000),
    cached("o1-preview", 15.0, 7.5, 60.0, 128_000),
    cached("o1-mini", 1.1, 0.55, 4.4, 128_000),
    cached("o3", 2.0, 0.5, 8.0, 200_000),
    cached("o3-mini", 1.1, 0.55, 4.4, 200_000),
    cached("o4-mini", 1.1, 0.275, 4.4, 200_000),
    // Gemini: prompts up to 200k tokens (128k for 1.5); longer prompts cost more and are not
    // modelled. `cache_read` is the context-caching price (storage per hour is not counted).
    cached("gemini-2.5-pro", 1.25, 0.125, 10.0, 1_048_576),
    cached("gemini-2.5-flash", 0.3, 0.03, 2.5, 1_048_576),
    cached("gemini-2.5-flash-lite", 0.1, 0.01, 0.4, 1_048_576),
    cached("gemini-2.0-flash", 0.1, 0.025, 0.4, 1_048_576),
    cached("gemini-1.5-pro", 1.25, 0.3125, 5.0, 2_097_152),
    cached("gemini-1.5-flash", 0.075, 0.01875, 0.3, 1_048_576),
    // Groq
    uncached("llama-3.3-70b-versatile", 0.59, 0.79, 131_072),
    uncached("llama-3.1-8b-instant", 0.05, 0.08, 131_072),
    uncached("mixtral-8x7b-32768", 0.24, 0.24, 32_768),
    // Mistral (`-latest` as it pointed in November 2025: Large 24.11, Small 3.2, Codestral 25.08)
    uncached("mistral-large-latest", 2.0, 6.0, 131_072),
    uncached("mistral-small-latest", 0.1, 0.3, 131_072),
    uncached("codestral-latest", 0.3, 0.9, 256_000),
    uncached("open-mixtral-8x22b", 2.0, 6.0, 65_536),
    // DeepSeek (V3.2 prices from 2025-09-29; deepseek-coder is served by deepseek-chat)
    cached("deepseek-chat", 0.28, 0.028, 0.42, 128_000),
    cached("deepseek-reasoner", 0.28, 0.028, 0.42, 128_000),
    cached("deepseek-coder", 0.28, 0.028, 0.42, 128_000),
    // Together AI
    uncached("meta-llama/Llama-3-70b-chat-hf", 0.88, 0.88, 8_192),
    uncached(
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        0.88,
        0.88,
        131_072,
    ),
];
