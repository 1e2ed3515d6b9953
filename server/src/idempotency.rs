//! Expiry of `Idempotency-Key` records: `floe serve` deletes the catalog's records of
//! commits older than [`IDEMPOTENCY_KEY_LIFETIME`] (advertised in `/v1/config` as
//! `idempotency-key-lifetime`, ISO 8601 [`IDEMPOTENCY_KEY_LIFETIME_ISO`]) every
//! [`EXPIRY_INTERVAL`]. A client may retry a commit with the same key for at least
//! the lifetime; a retry after that (and after the next sweep) is a new request.
//!
//! ```no_run
//! # async fn demo(catalog: floe_catalog::SqlCatalog) {
//! use floe_server::idempotency::{EXPIRY_INTERVAL, IDEMPOTENCY_KEY_LIFETIME, start};
//! let (stop, stopped) = tokio::sync::watch::channel(false);
//! let task = start(catalog, IDEMPOTENCY_KEY_LIFETIME, EXPIRY_INTERVAL, stopped);
//! let _ = stop.send(true);
//! task.await.unwrap();
//! # }
//! ```

use std::time::Duration;

use floe_catalog::SqlCatalog;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long an idempotency key is honoured.
pub const IDEMPOTENCY_KEY_LIFETIME: Duration = Duration::from_mins(30);

/// [`IDEMPOTENCY_KEY_LIFETIME`] as an ISO 8601 duration, for `/v1/config`.
pub const IDEMPOTENCY_KEY_LIFETIME_ISO: &str = "PT30M";

/// How often expired keys are deleted.
pub const EXPIRY_INTERVAL: Duration = Duration::from_mins(1);

/// Deletes the records older than `lifetime` once; returns how many.
pub async fn expire_once(catalog: &SqlCatalog, lifetime: Duration) -> floe_catalog::Result<u64> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
    catalog
        .expire_idempotency_keys(now_ms.saturating_sub(lifetime_ms))
        .await
}

/// Runs [`expire_once`] every `interval` (the first time at once) until `stopped`
/// turns true; failures are logged and retried at the next tick.
pub fn start(
    catalog: SqlCatalog,
    lifetime: Duration,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval.max(Duration::from_millis(10)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        return;
                    }
                    continue;
                }
            }
            match expire_once(&catalog, lifetime).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(expired = n, "expired idempotency keys"),
                Err(e) => tracing::warn!(error = %e, "cannot expire idempotency keys"),
            }
        }
    })
}
