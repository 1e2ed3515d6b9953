//! [`TablePointers`]: an in-process cache of what the catalog's row of a table says
//! (its current metadata location), so that a load of an unchanged table needs no
//! database round trip.
//!
//! # The guarantee
//!
//! - **Commits through this process are seen by the next load, always.** The catalog
//!   announces every commit it made ([`SqlCatalog::subscribe_commits`]: creates and
//!   commits, by the REST handlers, the group committer, the rebaser, maintenance) on a
//!   channel *before* the commit call returns; every lookup here first drains that
//!   channel and drops the entries of the tables named. The server's own drops,
//!   renames, registers and failed commits (whose outcome may be unknown) drop their
//!   entries directly ([`TablePointers::invalidate`]). A lookup that starts after a
//!   commit returned therefore cannot see the pointer from before it.
//! - **Commits by other processes** (another replica on the same PostgreSQL, or a
//!   program using the same SQLite file) are seen by every load that starts at least
//!   `ttl` after the commit returned: an entry is used only while it is younger than
//!   `ttl`, measured from the start of the database read that produced it. `ttl = 0`
//!   turns the cache off (every load reads the row, as before).
//! - A database read that overlapped an invalidation does not fill the cache (a
//!   generation counter, checked and bumped under the one lock), so a pointer read
//!   before a commit cannot be stored after that commit's invalidation.
//! - If the commit channel lagged (more than its capacity of commits between two
//!   lookups) every entry is dropped; if it closed, the cache turns itself off.
//!
//! Entries are small (the value is the caller's, e.g. a location and its ETags); the
//! map holds at most [`MAX_POINTERS`] tables (expired entries are swept, then the map
//! is cleared when full).
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use floe_catalog::TableIdent;
//! use floe_server::pointers::TablePointers;
//!
//! let (tx, rx) = tokio::sync::broadcast::channel(16);
//! let pointers: TablePointers<String> = TablePointers::new(Duration::from_secs(1), Some(rx));
//! let t = TableIdent::from_parts(vec!["db".to_owned()], "t").unwrap();
//! let ticket = pointers.get(&t).unwrap_err(); // a miss: read the catalog
//! assert!(pointers.insert(&t, Arc::new("00001.metadata.json".into()), ticket));
//! assert_eq!(pointers.get(&t).unwrap().as_str(), "00001.metadata.json");
//! tx.send(t.clone()).unwrap(); // a commit through this process
//! assert!(pointers.get(&t).is_err());
//! ```
//!
//! [`SqlCatalog::subscribe_commits`]: floe_catalog::SqlCatalog::subscribe_commits

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use floe_catalog::TableIdent;
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::TryRecvError;

/// The most tables whose pointer is kept.
pub const MAX_POINTERS: usize = 100_000;

/// The default staleness bound for commits by other processes: 1 s.
pub const DEFAULT_POINTER_TTL: Duration = Duration::from_secs(1);

/// Cached pointers of tables, invalidated by the commits of this process.
#[derive(Debug)]
pub struct TablePointers<T> {
    ttl: Duration,
    state: Mutex<State<T>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug)]
struct State<T> {
    /// `None`: the cache is off.
    commits: Option<Receiver<TableIdent>>,
    /// Bumped by every invalidation.
    generation: u64,
    entries: HashMap<TableIdent, (Arc<T>, Instant)>,
}

/// What a miss hands out: pass it back to [`TablePointers::insert`] with what the
/// catalog answered.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    started: Instant,
}

impl<T> TablePointers<T> {
    /// A cache whose entries live `ttl`, invalidated by `commits` (the catalog's
    /// commit notifications). Without `commits`, or with a zero `ttl`, nothing is
    /// cached: every lookup misses.
    pub fn new(ttl: Duration, commits: Option<Receiver<TableIdent>>) -> Self {
        let commits = commits.filter(|_| !ttl.is_zero());
        Self {
            ttl,
            state: Mutex::new(State {
                commits,
                generation: 0,
                entries: HashMap::new(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that is off.
    pub fn disabled() -> Self {
        Self::new(Duration::ZERO, None)
    }

    /// Whether anything is cached at all.
    pub fn enabled(&self) -> bool {
        self.lock().commits.is_some()
    }

    /// The staleness bound for commits by other processes.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The lock, with every pending commit notification applied.
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state_ref = &mut *state;
        let Some(rx) = state_ref.commits.as_mut() else {
            return state;
        };
        loop {
            match rx.try_recv() {
                Ok(ident) => {
                    state_ref.generation += 1;
                    state_ref.entries.remove(&ident);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Lagged(_)) => {
                    state_ref.generation += 1;
                    state_ref.entries.clear();
                }
                Err(TryRecvError::Closed) => {
                    tracing::warn!(
                        "the catalog's commit notifications closed: table pointer cache off"
                    );
                    state_ref.generation += 1;
                    state_ref.entries.clear();
                    state_ref.commits = None;
                    break;
                }
            }
        }
        state
    }

    /// The cached value for `table` if it is younger than the TTL and no commit of
    /// the table through this process happened since it was read; otherwise a ticket
    /// for [`Self::insert`].
    pub fn get(&self, table: &TableIdent) -> Result<Arc<T>, Ticket> {
        let state = self.lock();
        let now = Instant::now();
        if state.commits.is_some()
            && let Some((value, fetched)) = state.entries.get(table)
            && now.duration_since(*fetched) < self.ttl
        {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(value));
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        Err(Ticket {
            generation: state.generation,
            started: now,
        })
    }

    /// Remembers `value`, read from the catalog after `ticket` was handed out, unless
    /// an invalidation happened meanwhile (the read may predate a commit). Returns
    /// whether it was stored.
    pub fn insert(&self, table: &TableIdent, value: Arc<T>, ticket: Ticket) -> bool {
        let mut state = self.lock();
        if state.commits.is_none() || state.generation != ticket.generation {
            return false;
        }
        if state.entries.len() >= MAX_POINTERS && !state.entries.contains_key(table) {
            let ttl = self.ttl;
            let now = Instant::now();
            state
                .entries
                .retain(|_, (_, fetched)| now.duration_since(*fetched) < ttl);
            if state.entries.len() >= MAX_POINTERS {
                state.entries.clear();
            }
        }
        state.entries.insert(table.clone(), (value, ticket.started));
        true
    }

    /// Drops the entry of `table` (a drop, rename or register through this server, or
    /// a commit whose outcome is unknown) and fails the fills in flight.
    pub fn invalidate(&self, table: &TableIdent) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.remove(table);
    }

    /// Lookups answered from the cache and lookups that were not.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// Tables held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no table is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ident(name: &str) -> TableIdent {
        TableIdent::from_parts(vec!["db".to_owned()], name).unwrap()
    }

    #[test]
    fn a_fill_overlapping_an_invalidation_is_not_stored() {
        let (tx, rx) = tokio::sync::broadcast::channel(16);
        let p: TablePointers<u32> = TablePointers::new(Duration::from_mins(1), Some(rx));
        let (a, b) = (ident("a"), ident("b"));
        let ticket = p.get(&a).unwrap_err();
        // A commit of any table lands while `a`'s row is being read.
        tx.send(b.clone()).unwrap();
        assert!(!p.insert(&a, Arc::new(1), ticket));
        assert!(p.get(&a).is_err());
        let ticket = p.get(&a).unwrap_err();
        p.invalidate(&b);
        assert!(!p.insert(&a, Arc::new(1), ticket));
        let ticket = p.get(&a).unwrap_err();
        assert!(p.insert(&a, Arc::new(2), ticket));
        assert_eq!(*p.get(&a).unwrap(), 2);
        assert_eq!(p.hits_and_misses(), (1, 4));
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let (_tx, rx) = tokio::sync::broadcast::channel(16);
        let p: TablePointers<u32> = TablePointers::new(Duration::from_millis(30), Some(rx));
        let a = ident("a");
        let ticket = p.get(&a).unwrap_err();
        assert!(p.insert(&a, Arc::new(1), ticket));
        assert!(p.get(&a).is_ok());
        std::thread::sleep(Duration::from_millis(40));
        assert!(p.get(&a).is_err());
    }

    #[test]
    fn lagging_clears_and_closing_turns_off() {
        let (tx, rx) = tokio::sync::broadcast::channel(2);
        let p: TablePointers<u32> = TablePointers::new(Duration::from_mins(1), Some(rx));
        let a = ident("a");
        let ticket = p.get(&a).unwrap_err();
        assert!(p.insert(&a, Arc::new(1), ticket));
        for name in ["x", "y", "z"] {
            tx.send(ident(name)).unwrap();
        }
        assert!(p.get(&a).is_err(), "a lagged channel drops every entry");
        let ticket = p.get(&a).unwrap_err();
        assert!(p.insert(&a, Arc::new(1), ticket));
        drop(tx);
        assert!(p.get(&a).is_err());
        assert!(!p.enabled());
    }

    #[test]
    fn zero_ttl_or_no_channel_caches_nothing() {
        let (_tx, rx) = tokio::sync::broadcast::channel(2);
        for p in [
            TablePointers::<u32>::new(Duration::ZERO, Some(rx)),
            TablePointers::disabled(),
        ] {
            let a = ident("a");
            let ticket = p.get(&a).unwrap_err();
            assert!(!p.insert(&a, Arc::new(1), ticket));
            assert!(p.get(&a).is_err());
        }
    }
}
