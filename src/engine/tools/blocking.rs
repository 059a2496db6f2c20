//! File work runs on a thread of its own, not on tokio's blocking pool: a runtime waits for its
//! blocking pool when it shuts down, so one regex stuck on a huge line would keep tzzr from
//! exiting. A detached thread is simply left behind when the process ends.

use std::future::Future;
use std::thread;

use tokio::sync::oneshot;

use super::error::ToolError;

/// Runs `work` on a new thread; the future gives its result. Dropping the future does not stop
/// the thread: `work` must watch its own stop token.
pub fn run<F>(work: F) -> impl Future<Output = Result<String, ToolError>>
where
    F: FnOnce() -> Result<String, ToolError> + Send + 'static,
{
    let (done, result) = oneshot::channel();
    let spawned = thread::Builder::new()
        .name("tzzr-tool".to_owned())
        .spawn(move || {
            // The caller may have stopped waiting (timeout, cancel): nobody to tell then.
            let _ = done.send(work());
        });
    async move {
        spawned.map_err(|e| ToolError::Crashed(format!("cannot start a thread: {e}")))?;
        result
            .await
            .unwrap_or_else(|_| Err(ToolError::Crashed("the tool's thread panicked".to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_result_comes_back() {
        assert_eq!(run(|| Ok("done".to_owned())).await.unwrap(), "done");
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_crash() {
        let outcome = run(|| panic!("boom")).await;
        assert_eq!(
            outcome.unwrap_err().to_string(),
            "the tool stopped unexpectedly: the tool's thread panicked"
        );
    }
}
