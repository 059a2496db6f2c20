//! Prices in USD per million tokens and context windows, per model name. Built-in defaults cover
//! each vendor's current models; `models:` in the config adds or overrides entries.

use indexmap::IndexMap;

use super::catalog::{CLAUDE_CLI_ALIASES, LISTINGS};
use crate::engine::config::ModelSpec;
use crate::engine::protocol::TokenUsage;

/// USD per million tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Price {
    pub input: f64,
    pub output: f64,
    pub cache_read: f64,
    pub cache_write: f64,
}

impl Price {
    pub const FREE: Price = Price {
        input: 0.0,
        output: 0.0,
        cache_read: 0.0,
        cache_write: 0.0,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct ModelInfo {
    pub price: Option<Price>,
    pub context_window: Option<u64>,
}

/// LiteLLM's vendor prefixes, which name the route, not the model.
const VENDOR_PREFIXES: [&str; 7] = [
    "anthropic/",
    "openai/",
    "gemini/",
    "groq/",
    "mistral/",
    "deepseek/",
    "together_ai/",
];

/// Prefixes of models served by a local Ollama: they cost nothing.
const LOCAL_PREFIXES: [&str; 2] = ["ollama/", "ollama_chat/"];

static LOCAL_MODEL: ModelInfo = ModelInfo {
    price: Some(Price::FREE),
    context_window: None,
};

#[derive(Clone, Debug, Default)]
pub struct PriceTable {
    entries: IndexMap<String, ModelInfo>,
}

impl PriceTable {
    pub fn builtin() -> Self {
        let entries = LISTINGS
            .iter()
            .map(|listing| {
                let info = ModelInfo {
                    price: Some(listing.price),
                    context_window: Some(listing.context_window),
                };
                (listing.model.to_owned(), info)
            })
            .collect();
        Self { entries }
    }

    /// The built-in table with the config's `models:` entries laid over it.
    ///
    /// An entry's prices and context window apply to its name and, when it is an alias, to its
    /// target too. What an entry leaves out keeps the value the name (or target) already had;
    /// a model priced only by the user pays its input price for cached tokens unless told
    /// otherwise, and a price it leaves out is 0.
    pub fn with_overrides(models: &IndexMap<String, ModelSpec>) -> Self {
        let mut table = Self::builtin();
        for (name, spec) in models {
            let known = match spec.model.as_deref() {
                Some(target) => table.lookup(target),
                None => table.lookup(name),
            };
            let info = overlay(known.copied().unwrap_or_default(), spec);
            if let Some(target) = &spec.model {
                table.entries.insert(target.clone(), info);
            }
            table.entries.insert(name.clone(), info);
        }
        table
    }

    /// The entry for a model name: exact, then without a vendor prefix (`groq/…`), then without
    /// a date suffix (`-20250514`, `-2024-08-06`) or `-latest`; the Claude CLI's `opus`,
    /// `sonnet` and `haiku` stand for the current models; `ollama/…` models are free.
    pub fn lookup(&self, model: &str) -> Option<&ModelInfo> {
        if let Some(info) = self.entries.get(model) {
            return Some(info);
        }
        if LOCAL_PREFIXES.iter().any(|p| model.starts_with(p)) {
            return Some(&LOCAL_MODEL);
        }
        let bare = strip_vendor_prefix(model);
        let candidates = [
            Some(bare),
            strip_version_suffix(model),
            strip_version_suffix(bare),
        ];
        if let Some(info) = candidates
            .into_iter()
            .flatten()
            .find_map(|name| self.lookup_undated(name))
        {
            return Some(info);
        }
        CLAUDE_CLI_ALIASES
            .iter()
            .find(|(alias, _)| *alias == bare)
            .and_then(|(_, target)| self.entries.get(*target))
    }

    /// `name` itself, or the `-latest` entry of the same family (`mistral-large-2411` →
    /// `mistral-large-latest`).
    fn lookup_undated(&self, name: &str) -> Option<&ModelInfo> {
        self.entries
            .get(name)
            .or_else(|| self.entries.get(&format!("{name}-latest")))
    }

    /// The cost of `usage` on `model`, `None` when the model has no price.
    ///
    /// `usage.input` counts uncached input only (as Anthropic reports it); cached tokens are in
    /// `cache_read`, so an OpenAI-style `prompt_tokens` must have its cached part taken out.
    pub fn cost(&self, model: &str, usage: &TokenUsage) -> Option<f64> {
        let price = self.lookup(model)?.price?;
        let per_token = |tokens: u64, usd_per_million: f64| tokens as f64 * usd_per_million / 1e6;
        Some(
            per_token(usage.input, price.input)
                + per_token(usage.output, price.output)
                + per_token(usage.cache_read, price.cache_read)
                + per_token(usage.cache_write, price.cache_write),
        )
    }

    /// The model's context window in tokens, if known.
    pub fn context_window(&self, model: &str) -> Option<u64> {
        self.lookup(model)?.context_window
    }
}

/// `known` with what `spec` sets laid over it.
fn overlay(known: ModelInfo, spec: &ModelSpec) -> ModelInfo {
    let sets_a_price = spec.input.is_some()
        || spec.output.is_some()
        || spec.cache_read.is_some()
        || spec.cache_write.is_some();
    let price = match (known.price, sets_a_price) {
        (price, false) => price,
        (Some(known), true) => Some(Price {
            input: spec.input.unwrap_or(known.input),
            output: spec.output.unwrap_or(known.output),
            cache_read: spec.cache_read.unwrap_or(known.cache_read),
            cache_write: spec.cache_write.unwrap_or(known.cache_write),
        }),
        (None, true) => {
            let input = spec.input.unwrap_or(0.0);
            Some(Price {
                input,
                output: spec.output.unwrap_or(0.0),
                cache_read: spec.cache_read.unwrap_or(input),
                cache_write: spec.cache_write.unwrap_or(input),
            })
        }
    };
    ModelInfo {
        price,
        context_window: spec.context_window.or(known.context_window),
    }
}

fn strip_vendor_prefix(model: &str) -> &str {
    VENDOR_PREFIXES
        .iter()
        .find_map(|prefix| model.strip_prefix(prefix))
        .unwrap_or(model)
}

/// `model` without a trailing `-latest` or date (`-20250514`, `-2024-08-06`, `-0613`, `-2411`),
/// `None` when it has none.
fn strip_version_suffix(model: &str) -> Option<&str> {
    if let Some(stem) = model.strip_suffix("-latest") {
        return Some(stem);
    }
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // Split from the right into day, month, year and what comes before them.
    let mut parts = model.rsplitn(4, '-');
    let last = parts.next()?;
    if !is_digits(last) {
        return None;
    }
    match last.len() {
        4 | 8 => model.rsplit_once('-').map(|(stem, _)| stem),
        2 => {
            let (month, year, stem) = (parts.next()?, parts.next()?, parts.next()?);
            let is_iso_date =
                month.len() == 2 && year.len() == 4 && is_digits(month) && is_digits(year);
            is_iso_date.then_some(stem)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V6_PRICED_MODELS: [&str; 11] = [
        "claude-opus-4-20250514",
        "claude-sonnet-4-20250514",
        "claude-3-5-haiku-latest",
        "gpt-4o",
        "gpt-4o-mini",
        "gpt-4-turbo",
        "o1-preview",
        "o1-mini",
        "gemini/gemini-1.5-pro",
        "gemini/gemini-1.5-flash",
        "claude-3-5-haiku-20241022",
    ];

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> TokenUsage {
        TokenUsage {
            input,
            output,
            cache_read,
            cache_write,
        }
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "expected {expected}, got {actual}"
        );
    }

    fn spec(f: impl FnOnce(&mut ModelSpec)) -> ModelSpec {
        let mut spec = ModelSpec::default();
        f(&mut spec);
        spec
    }

    fn price_of(table: &PriceTable, model: &str) -> Price {
        table.lookup(model).and_then(|i| i.price).unwrap()
    }

    #[test]
    fn every_model_v6_priced_has_a_price() {
        let table = PriceTable::builtin();
        for model in V6_PRICED_MODELS {
            assert!(
                table.lookup(model).and_then(|i| i.price).is_some(),
                "{model} has no price"
            );
        }
    }

    #[test]
    fn every_builtin_model_has_a_price_and_a_context_window() {
        let table = PriceTable::builtin();
        for listing in LISTINGS {
            let info = table.lookup(listing.model).unwrap();
            assert!(info.price.is_some() && info.context_window.is_some());
        }
        assert_eq!(table.entries.len(), LISTINGS.len(), "no model listed twice");
    }

    #[test]
    fn lookup_drops_a_litellm_vendor_prefix() {
        let table = PriceTable::builtin();
        for (name, bare) in [
            ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
            ("openai/gpt-4.1", "gpt-4.1"),
            ("gemini/gemini-2.5-pro", "gemini-2.5-pro"),
            ("groq/llama-3.3-70b-versatile", "llama-3.3-70b-versatile"),
            ("mistral/mistral-large-latest", "mistral-large-latest"),
            ("deepseek/deepseek-chat", "deepseek-chat"),
            (
                "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo",
                "meta-llama/Llama-3.3-70B-Instruct-Turbo",
            ),
        ] {
            assert_eq!(table.lookup(name), table.lookup(bare), "{name}");
            assert!(table.lookup(name).is_some(), "{name}");
        }
    }

    #[test]
    fn lookup_drops_a_date_suffix_or_latest() {
        let table = PriceTable::builtin();
        let sonnet = table.lookup("claude-sonnet-4");
        assert_eq!(table.lookup("claude-sonnet-4-20250514"), sonnet);
        assert_eq!(table.lookup("anthropic/claude-sonnet-4-20250514"), sonnet);
        assert_eq!(table.lookup("gpt-4o-2024-08-06"), table.lookup("gpt-4o"),);
        assert_eq!(table.lookup("gpt-4-0613"), table.lookup("gpt-4"));
        assert_eq!(
            table.lookup("claude-3-7-sonnet-latest"),
            table.lookup("claude-3-7-sonnet")
        );
        assert_eq!(
            table.lookup("mistral/mistral-large-2411"),
            table.lookup("mistral-large-latest")
        );
    }

    #[test]
    fn claude_cli_aliases_stand_for_the_current_models() {
        let table = PriceTable::builtin();
        assert_eq!(table.lookup("opus"), table.lookup("claude-opus-5-5"));
        assert_eq!(table.lookup("sonnet"), table.lookup("claude-sonnet-5-5"));
        assert_eq!(table.lookup("haiku"), table.lookup("claude-haiku-4-5"));
    }

    #[test]
    fn unknown_models_have_no_entry_and_no_cost() {
        let table = PriceTable::builtin();
        assert_eq!(table.lookup("my-fine-tune"), None);
        assert_eq!(table.lookup("gpt-4o-ish"), None);
        assert_eq!(table.cost("my-fine-tune", &usage(1000, 10, 0, 0)), None);
        assert_eq!(table.context_window("my-fine-tune"), None);
    }

    #[test]
    fn ollama_models_are_free_but_priced() {
        let table = PriceTable::builtin();
        assert_eq!(
            table.cost("ollama/llama3", &usage(10_000, 5_000, 0, 0)),
            Some(0.0)
        );
        assert_eq!(
            table.cost("ollama_chat/qwen2.5", &usage(1, 1, 1, 1)),
            Some(0.0)
        );
    }

    #[test]
    fn cost_sums_the_four_token_kinds() {
        let table = PriceTable::builtin();
        // claude-sonnet-4-5: $3 in, $15 out, $0.30 cache read, $3.75 cache write per million.
        let cost = table
            .cost(
                "claude-sonnet-4-5-20250929",
                &usage(1_000, 2_000, 10_000, 4_000),
            )
            .unwrap();
        assert_close(cost, 0.003 + 0.030 + 0.003 + 0.015);
    }

    #[test]
    fn openai_bills_cached_input_at_its_cached_price() {
        let table = PriceTable::builtin();
        // gpt-4o: $2.50 in, $1.25 cached in, $10 out.
        let cost = table
            .cost("gpt-4o", &usage(1_000_000, 100_000, 1_000_000, 0))
            .unwrap();
        assert_close(cost, 2.5 + 1.0 + 1.25);
    }

    #[test]
    fn anthropic_cache_prices_follow_the_input_price() {
        let price = price_of(&PriceTable::builtin(), "claude-opus-4-5");
        assert_close(price.cache_read, 0.5);
        assert_close(price.cache_write, 6.25);
    }

    #[test]
    fn an_override_prices_a_new_model_with_cache_at_the_input_price() {
        let models = IndexMap::from([(
            "my-fine-tune".to_owned(),
            spec(|s| {
                s.input = Some(2.0);
                s.output = Some(4.0);
                s.context_window = Some(32_000);
            }),
        )]);
        let table = PriceTable::with_overrides(&models);
        let info = table.lookup("my-fine-tune").unwrap();
        assert_eq!(
            info.price,
            Some(Price {
                input: 2.0,
                output: 4.0,
                cache_read: 2.0,
                cache_write: 2.0
            })
        );
        assert_eq!(info.context_window, Some(32_000));
    }

    #[test]
    fn an_alias_override_prices_both_the_alias_and_its_target() {
        let models = IndexMap::from([(
            "fast".to_owned(),
            spec(|s| {
                s.model = Some("groq/llama-3.1-8b-instant".to_owned());
                s.input = Some(0.1);
                s.output = Some(0.2);
            }),
        )]);
        let table = PriceTable::with_overrides(&models);
        for name in ["fast", "groq/llama-3.1-8b-instant"] {
            let price = price_of(&table, name);
            assert_close(price.input, 0.1);
            assert_close(price.output, 0.2);
            // The builtin cache prices and context window of the target stay.
            assert_close(price.cache_read, 0.05);
            assert_eq!(table.context_window(name), Some(131_072));
        }
    }

    #[test]
    fn an_alias_without_prices_takes_its_targets_entry() {
        let models = IndexMap::from([(
            "sonnet".to_owned(),
            spec(|s| s.model = Some("anthropic/claude-sonnet-4-5".to_owned())),
        )]);
        let table = PriceTable::with_overrides(&models);
        assert_eq!(table.lookup("sonnet"), table.lookup("claude-sonnet-4-5"));
        assert_eq!(table.context_window("sonnet"), Some(200_000));
    }

    #[test]
    fn a_partial_override_keeps_the_rest_of_the_builtin_entry() {
        let models = IndexMap::from([
            (
                "gpt-4o".to_owned(),
                spec(|s| s.context_window = Some(64_000)),
            ),
            (
                "claude-haiku-4-5".to_owned(),
                spec(|s| {
                    s.input = Some(2.0);
                    s.output = Some(8.0);
                }),
            ),
        ]);
        let table = PriceTable::with_overrides(&models);
        assert_eq!(
            table.lookup("gpt-4o").unwrap().price,
            PriceTable::builtin().lookup("gpt-4o").unwrap().price
        );
        assert_eq!(
            table.context_window("openai/gpt-4o-2024-08-06"),
            Some(64_000)
        );
        let haiku = price_of(&table, "anthropic/claude-haiku-4-5-20251001");
        assert_close(haiku.input, 2.0);
        assert_close(haiku.output, 8.0);
        assert_close(haiku.cache_read, 0.1);
        assert_close(haiku.cache_write, 1.25);
        assert_eq!(table.context_window("claude-haiku-4-5"), Some(200_000));
    }

    #[test]
    fn an_ollama_model_can_be_given_a_context_window_and_stays_free() {
        let models = IndexMap::from([(
            "ollama/llama3".to_owned(),
            spec(|s| s.context_window = Some(8_192)),
        )]);
        let table = PriceTable::with_overrides(&models);
        assert_eq!(table.context_window("ollama/llama3"), Some(8_192));
        assert_eq!(table.cost("ollama/llama3", &usage(5, 5, 0, 0)), Some(0.0));
    }

    #[test]
    fn version_suffixes_are_recognised_only_at_the_end() {
        assert_eq!(
            strip_version_suffix("claude-opus-4-20250514"),
            Some("claude-opus-4")
        );
        assert_eq!(strip_version_suffix("gpt-4o-2024-08-06"), Some("gpt-4o"));
        assert_eq!(strip_version_suffix("codestral-latest"), Some("codestral"));
        assert_eq!(strip_version_suffix("gpt-4-0613"), Some("gpt-4"));
        assert_eq!(strip_version_suffix("claude-opus-4-5"), None);
        assert_eq!(strip_version_suffix("mixtral-8x7b-32768"), None);
        assert_eq!(strip_version_suffix("gpt-4o"), None);
        assert_eq!(strip_version_suffix("2024-08-06"), None);
    }
}
