//! How much a tool call may print and how long it may take: the output cap and the race of
//! the work against the time limit and the agent's cancel token.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::error::ToolError;

/// The most bytes of output a model receives from one call.
pub const OUTPUT_LIMIT: usize = 100_000;

/// Cuts `text` to `OUTPUT_LIMIT` bytes at a char boundary and says how much was left out.
pub fn cap_output(mut text: String) -> String {
    if text.len() <= OUTPUT_LIMIT {
        return text;
    }
    let end = char_floor(&text, OUTPUT_LIMIT);
    let omitted = text.len() - end;
    text.truncate(end);
    text.push_str(&format!("\n[… {omitted} more bytes not shown]"));
    text
}

/// The largest char boundary of `text` at or below `index`.
pub fn char_floor(text: &str, index: usize) -> usize {
    if index >= text.len() {
        return text.len();
    }
    let mut end = index;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// Runs `work` until it finishes, `timeout` passes or `cancel` fires, whichever comes first.
pub async fn bounded<F>(
    work: F,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<String, ToolError>
where
    F: Future<Output = Result<String, ToolError>>,
{
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(ToolError::Cancelled),
        finished = tokio::time::timeout(timeout, work) => match finished {
            Ok(result) => result,
            Err(_elapsed) => Err(ToolError::TimedOut(timeout)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_untouched() {
        assert_eq!(cap_output("hello".into()), "hello");
        let exact = "x".repeat(OUTPUT_LIMIT);
        assert_eq!(cap_output(exact.clone()), exact);
    }

    #[test]
    fn long_output_is_cut_at_a_char_boundary_with_a_note() {
        // 'é' is two bytes, so the limit falls inside a char after the leading 'a'.
        let text = format!("a{}", "é".repeat(OUTPUT_LIMIT));
        let capped = cap_output(text.clone());
        let (shown, note) = capped.split_once("\n[…").unwrap();
        assert_eq!(shown.len(), OUTPUT_LIMIT - 1);
        assert_eq!(
            note,
            format!(" {} more bytes not shown]", text.len() - shown.len())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_outlasts_the_timeout_times_out() {
        let never = std::future::pending::<Result<String, ToolError>>();
        let result = bounded(never, Duration::from_secs(30), &CancellationToken::new()).await;
        assert_eq!(result.unwrap_err().to_string(), "timed out after 30s");
    }

    #[tokio::test(start_paused = true)]
    async fn cancelling_stops_the_wait() {
        let cancel = CancellationToken::new();
        let canceller = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            canceller.cancel();
        });
        let never = std::future::pending::<Result<String, ToolError>>();
        let result = bounded(never, Duration::from_secs(30), &cancel).await;
        assert_eq!(result.unwrap_err().to_string(), "cancelled");
    }

    #[tokio::test(start_paused = true)]
    async fn finished_work_returns_its_result() {
        let work = async { Ok::<_, ToolError>("done".to_owned()) };
        let result = bounded(work, Duration::from_secs(30), &CancellationToken::new()).await;
        assert_eq!(result.unwrap(), "done");
    }
}
