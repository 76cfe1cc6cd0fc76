//! Removing expired short-lived rows on a schedule, `[cleanup] interval` apart, each pass bounded
//! by `[cleanup] timeout`: logins in flight, codes, device authorizations, refresh tokens, retired
//! signing keys and remembered CI token ids (each kept until its replay window has closed).

use tokio::time::MissedTickBehavior;

use crate::{clock, db, state::AppState};

/// Runs until aborted: one pass at start, then one per interval; a failed or overlong pass is
/// logged and retried at the next tick.
pub async fn run(state: AppState) {
    let cleanup = state.config.cleanup.clone();
    let mut tick = tokio::time::interval(cleanup.interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pass = db::cleanup::expired(&state.db, clock::now());
        match tokio::time::timeout(cleanup.timeout, pass).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(rows = n, "removed expired login state"),
            Ok(Err(e)) => tracing::warn!(error = %e, "cleanup failed; will retry"),
            Err(_) => tracing::warn!(
                timeout = ?cleanup.timeout,
                "cleanup took too long and was abandoned; will retry"
            ),
        }
    }
}
