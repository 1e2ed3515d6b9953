//! Commit retry settings (`commit.retry.*`) and isolation levels
//! (`write.{delete,update,merge}.isolation-level`), read from table properties.

use std::collections::HashMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// Table property: how many times a commit that lost a race is retried.
pub const COMMIT_NUM_RETRIES: &str = "commit.retry.num-retries";
/// Default of [`COMMIT_NUM_RETRIES`].
pub const COMMIT_NUM_RETRIES_DEFAULT: u32 = 4;
/// Table property: the first backoff wait.
pub const COMMIT_MIN_RETRY_WAIT_MS: &str = "commit.retry.min-wait-ms";
/// Default of [`COMMIT_MIN_RETRY_WAIT_MS`].
pub const COMMIT_MIN_RETRY_WAIT_MS_DEFAULT: u64 = 100;
/// Table property: the longest backoff wait.
pub const COMMIT_MAX_RETRY_WAIT_MS: &str = "commit.retry.max-wait-ms";
/// Default of [`COMMIT_MAX_RETRY_WAIT_MS`].
pub const COMMIT_MAX_RETRY_WAIT_MS_DEFAULT: u64 = 60_000;
/// Table property: the longest time spent retrying.
pub const COMMIT_TOTAL_RETRY_TIME_MS: &str = "commit.retry.total-timeout-ms";
/// Default of [`COMMIT_TOTAL_RETRY_TIME_MS`]: 30 minutes.
pub const COMMIT_TOTAL_RETRY_TIME_MS_DEFAULT: u64 = 1_800_000;

/// Table property: isolation level of deletes.
pub const DELETE_ISOLATION_LEVEL: &str = "write.delete.isolation-level";
/// Table property: isolation level of updates (overwrites, partition replaces).
pub const UPDATE_ISOLATION_LEVEL: &str = "write.update.isolation-level";
/// Table property: isolation level of merges (row deltas).
pub const MERGE_ISOLATION_LEVEL: &str = "write.merge.isolation-level";

/// How strictly an overwrite, delete or row delta checks concurrent commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Also fails when data matching the operation's filter was added concurrently.
    #[default]
    Serializable,
    /// Fails only when files the operation depends on were removed or got new deletes.
    Snapshot,
}

impl IsolationLevel {
    /// The level set by table property `key` (default serializable).
    pub fn from_properties(properties: &HashMap<String, String>, key: &str) -> Result<Self> {
        match properties.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(Self::Serializable),
            Some(v) if v == "serializable" => Ok(Self::Serializable),
            Some(v) if v == "snapshot" => Ok(Self::Snapshot),
            Some(v) => Err(Error::invalid(format!(
                "table property `{key}` must be `serializable` or `snapshot`, got `{v}`"
            ))),
        }
    }
}

/// Retry settings of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryConfig {
    /// Retries after the first attempt.
    pub num_retries: u32,
    /// First wait.
    pub min_wait: Duration,
    /// Longest wait.
    pub max_wait: Duration,
    /// Longest total time.
    pub total_timeout: Duration,
}

fn int_prop(properties: &HashMap<String, String>, key: &str, default: u64) -> Result<u64> {
    match properties.get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "table property `{key}` must be a non-negative integer, got `{v}`"
            ))
        }),
    }
}

impl RetryConfig {
    /// The settings of a table's properties.
    pub fn from_properties(properties: &HashMap<String, String>) -> Result<Self> {
        Ok(Self {
            num_retries: u32::try_from(int_prop(
                properties,
                COMMIT_NUM_RETRIES,
                u64::from(COMMIT_NUM_RETRIES_DEFAULT),
            )?)
            .unwrap_or(u32::MAX),
            min_wait: Duration::from_millis(int_prop(
                properties,
                COMMIT_MIN_RETRY_WAIT_MS,
                COMMIT_MIN_RETRY_WAIT_MS_DEFAULT,
            )?),
            max_wait: Duration::from_millis(int_prop(
                properties,
                COMMIT_MAX_RETRY_WAIT_MS,
                COMMIT_MAX_RETRY_WAIT_MS_DEFAULT,
            )?),
            total_timeout: Duration::from_millis(int_prop(
                properties,
                COMMIT_TOTAL_RETRY_TIME_MS,
                COMMIT_TOTAL_RETRY_TIME_MS_DEFAULT,
            )?),
        })
    }

    /// The wait before retry `retry` (0-based): `min × 2^retry`, at most `max`, with up
    /// to 10% jitter so that competing writers spread out.
    pub fn backoff(&self, retry: u32) -> Duration {
        let base = self
            .min_wait
            .saturating_mul(1_u32.checked_shl(retry.min(30)).unwrap_or(u32::MAX))
            .min(self.max_wait);
        let jitter_pct = u64::from(uuid::Uuid::new_v4().as_bytes()[0] % 10);
        let jitter = Duration::from_millis(base.as_millis() as u64 * jitter_pct / 100);
        base + jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let c = RetryConfig::from_properties(&HashMap::from([(
            COMMIT_MAX_RETRY_WAIT_MS.to_string(),
            "250".to_string(),
        )]))
        .unwrap();
        assert_eq!(c.num_retries, 4);
        let b0 = c.backoff(0);
        assert!(b0 >= Duration::from_millis(100) && b0 < Duration::from_millis(111));
        let b1 = c.backoff(1);
        assert!(b1 >= Duration::from_millis(200) && b1 < Duration::from_millis(221));
        assert!(c.backoff(5) < Duration::from_millis(276));
        assert!(
            IsolationLevel::from_properties(
                &HashMap::from([(DELETE_ISOLATION_LEVEL.into(), "bogus".into())]),
                DELETE_ISOLATION_LEVEL
            )
            .is_err()
        );
    }
}
