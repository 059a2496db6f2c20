//! Time to render assistant messages to lines at width 100, the figures the README reports.
//! Run with `cargo bench --bench markdown` (an optimised build).
//!
//! - syntect's one-time load, and the first Rust block (syntect compiles its regexes on first use)
//! - (a) a 2 KB chat answer: a list, bold, inline code and a 20-line Rust block (target well < 1 ms)
//! - (b) a 300-line Rust code block
//! - (c) 1,000 short messages

#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use tzzr::tui::markdown::{MarkdownTheme, preload_highlighting, render};

const WIDTH: u16 = 100;

fn main() {
    let theme = MarkdownTheme::dark();
    println!("tzzr markdown benchmarks (width {WIDTH})\n");

    let started = Instant::now();
    preload_highlighting();
    println!(
        "{:<52} {:>12}",
        "syntect load (once)",
        show(started.elapsed())
    );
    let started = Instant::now();
    black_box(render("```rust\nfn main() {}\n```", WIDTH, &theme));
    println!(
        "{:<52} {:>12}",
        "first Rust block (regex compile, once)",
        show(started.elapsed())
    );
    println!();

    let answer = chat_answer("");
    let block = rust_block(300, "");
    let messages: Vec<String> = (0..1_000).map(short_message).collect();
    // A message never rendered before: its code differs from every earlier one.
    let mut fresh = 0;
    let mut unseen = |make: &dyn Fn(&str) -> String| {
        fresh += 1;
        make(&format!("// variant {fresh}\n"))
    };

    println!(
        "{:<52} {:>12} {:>12} {:>8}",
        "case", "median", "min", "runs"
    );
    let name = format!("(a) chat answer, {} bytes, 20-line Rust", answer.len());
    time(&format!("{name}: first render"), 100, || {
        render(&unseen(&chat_answer), WIDTH, &theme)
    });
    time("(a) same, rendered again (a resize)", 200, || {
        render(&answer, WIDTH, &theme)
    });
    time("(a) same, plain theme (no highlighting)", 200, || {
        render(&answer, WIDTH, &MarkdownTheme::plain())
    });
    let streamed = unseen(&chat_answer);
    let prefixes: Vec<&str> = (1..=streamed.len() / 16)
        .map(|chunk| chunk * 16)
        .chain([streamed.len()])
        .filter(|&end| streamed.is_char_boundary(end))
        .map(|end| &streamed[..end])
        .collect();
    let started = std::time::Instant::now();
    for prefix in &prefixes {
        black_box(render(prefix, WIDTH, &theme));
    }
    let per_render = started.elapsed() / u32::try_from(prefixes.len()).unwrap_or(u32::MAX);
    println!(
        "{:<52} {:>12} {:>12} {:>8}",
        "(a) streamed 16 bytes at a time: mean per render",
        show(per_render),
        "",
        prefixes.len()
    );
    time("(b) 300-line Rust code block: first render", 10, || {
        render(&unseen(&|variant| rust_block(300, variant)), WIDTH, &theme)
    });
    time("(b) same, rendered again (a resize)", 20, || {
        render(&block, WIDTH, &theme)
    });
    time("(c) 1,000 short messages", 20, || {
        messages
            .iter()
            .map(|message| render(message, WIDTH, &theme).len())
            .sum::<usize>()
    });
}

fn time<T>(name: &str, runs: usize, mut work: impl FnMut() -> T) {
    black_box(work());
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            black_box(work());
            started.elapsed()
        })
        .collect();
    samples.sort();
    println!(
        "{:<52} {:>12} {:>12} {:>8}",
        name,
        show(samples[runs / 2]),
        show(samples[0]),
        runs
    );
}

fn show(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 1_000.0 {
        format!("{micros:.1} µs")
    } else {
        format!("{:.2} ms", micros / 1_000.0)
    }
}

fn chat_answer(variant: &str) -> String {
    let mut answer = String::from(
        "## Why the borrow checker complains\n\n\
         The call to `items.push(x)` needs a **mutable borrow** of `items`, but `first` still holds \
         a *shared* borrow from `items.first()`. Rust refuses both at once because pushing may \
         reallocate the vector and leave `first` dangling. There are a few ways out:\n\n\
         1. **Copy the value** out before pushing: `let first = *items.first().unwrap();` works \
         for `Copy` types such as `u32`.\n\
         2. **Clone it** when the type is not `Copy`: `let first = items[0].clone();` costs an \
         allocation for `String` but keeps the code simple.\n\
         3. **Use an index** instead of a reference, and read `items[i]` again after the push.\n\
         4. **Restructure** so the borrow ends earlier, e.g. move the read into its own block.\n\n\
         Here is the copy version in full:\n\n```rust\n",
    );
    answer.push_str(variant);
    answer.push_str(&rust_lines(20 - variant.lines().count()));
    answer.push_str(
        "```\n\nWith this change the program compiles and prints the sum. If `items` can be \
         empty, replace the `unwrap()` with a `match` or `if let` so an empty list does not \
         panic; see [the book](https://doc.rust-lang.org/book/ch08-01-vectors.html) for more.\n\n\
         - `Vec::first` returns `Option<&T>`\n\
         - `Vec::push` may reallocate\n\
         - indices stay valid across pushes\n\n\
         > **Tip:** `cargo clippy` often suggests the smallest fix; run it before restructuring \
         anything larger, and keep the borrow as short as the code allows.\n",
    );
    answer
}

fn rust_block(lines: usize, variant: &str) -> String {
    let count = lines - variant.lines().count();
    format!("```rust\n{variant}{}```\n", rust_lines(count))
}

fn rust_lines(count: usize) -> String {
    const BODY: [&str; 10] = [
        "use std::collections::HashMap;",
        "",
        "/// Counts the words in `text`, case-insensitively.",
        "pub fn count_words(text: &str) -> HashMap<String, usize> {",
        "    let mut counts = HashMap::new();",
        "    for word in text.split_whitespace().map(str::to_lowercase) {",
        "        *counts.entry(word).or_insert(0) += 1; // 'static lifetimes aside",
        "    }",
        "    counts",
        "}",
    ];
    (0..count)
        .map(|i| format!("{}\n", BODY[i % BODY.len()]))
        .collect()
}

fn short_message(index: usize) -> String {
    match index % 4 {
        0 => format!("Done: wrote `src/file_{index}.rs` and ran the tests."),
        1 => format!("**Step {index}** — reading the config, then *checking* the keys."),
        2 => "- one\n- two\n- three".to_owned(),
        _ => format!("See [issue {index}](https://example.com/{index}) for details."),
    }
}
