//! Server-level caches, bounded by weight (moka), with hit counters for `/metrics`.
//!
//! - [`LoadResultCache`]: the serialized `LoadTableResult` body per (metadata location,
//!   snapshots mode). Metadata files are immutable, so a location names its content: a
//!   load of an unchanged table is answered from here without reading the object store
//!   or serializing JSON (the catalog still reads the pointer). Weighted by body bytes.
//! - [`ServerManifestCache`]: parsed manifests by path for server-side scan planning
//!   (immutable files too), weighted by entry count.
//!
//! ```
//! use floe_server::cache::LoadResultCache;
//! let cache = LoadResultCache::new(1 << 20);
//! assert!(cache.get("file:///wh/t/metadata/00000.metadata.json", "all").is_none());
//! cache.insert("file:///wh/t/metadata/00000.metadata.json", "all", bytes::Bytes::from_static(b"{}"));
//! assert!(cache.get("file:///wh/t/metadata/00000.metadata.json", "all").is_some());
//! assert_eq!(cache.stats().hits, 1);
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use floe_spec::manifest::Manifest;
use floe_table::scan::ManifestCache;
use moka::sync::Cache;

/// The default weight bound of the load-result cache: 256 MiB of JSON.
pub const DEFAULT_LOAD_RESULT_CACHE_BYTES: u64 = 256 * 1024 * 1024;

/// The default weight bound of the manifest cache: 2 million manifest entries.
pub const DEFAULT_MANIFEST_CACHE_ENTRIES: u64 = 2_000_000;

/// Hit and miss counts of one cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HitStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that were not.
    pub misses: u64,
    /// Entries held.
    pub entries: u64,
    /// Their total weight (bytes or manifest entries).
    pub weight: u64,
}

impl HitStats {
    /// Hits over lookups (0 before any lookup).
    pub fn ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl Counters {
    fn record<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn stats<K, V>(&self, cache: &Cache<K, V>) -> HitStats
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        cache.run_pending_tasks();
        HitStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: cache.entry_count(),
            weight: cache.weighted_size(),
        }
    }
}

/// Serialized `LoadTableResult` bodies by (metadata location, snapshots mode).
#[derive(Debug, Clone)]
pub struct LoadResultCache {
    cache: Cache<(Arc<str>, &'static str), Bytes>,
    counters: Arc<Counters>,
}

impl LoadResultCache {
    /// A cache holding at most `max_bytes` of bodies.
    pub fn new(max_bytes: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build(),
            counters: Arc::default(),
        }
    }

    /// The body for `location` in `mode` (`all` or `refs`), if cached.
    pub fn get(&self, location: &str, mode: &'static str) -> Option<Bytes> {
        let key = (Arc::<str>::from(location), mode);
        self.counters.record(self.cache.get(&key))
    }

    /// Remembers the body for `location` in `mode`.
    pub fn insert(&self, location: &str, mode: &'static str, body: Bytes) {
        self.cache.insert((Arc::from(location), mode), body);
    }

    /// [`Self::get`] with a shared location (no copy of it).
    pub fn get_at(&self, location: &Arc<str>, mode: &'static str) -> Option<Bytes> {
        let key = (Arc::clone(location), mode);
        self.counters.record(self.cache.get(&key))
    }

    /// [`Self::insert`] with a shared location (no copy of it).
    pub fn insert_at(&self, location: &Arc<str>, mode: &'static str, body: Bytes) {
        self.cache.insert((Arc::clone(location), mode), body);
    }

    /// Hits, misses and size.
    pub fn stats(&self) -> HitStats {
        self.counters.stats(&self.cache)
    }
}

/// Parsed manifests by path, for server-side scan planning.
#[derive(Debug, Clone)]
pub struct ServerManifestCache {
    cache: Cache<Arc<str>, Arc<Manifest>>,
    counters: Arc<Counters>,
}

impl ServerManifestCache {
    /// A cache holding at most `max_entries` manifest entries in total.
    pub fn new(max_entries: u64) -> Self {
        Self {
            cache: Cache::builder()
                .max_capacity(max_entries)
                .weigher(|_, m: &Arc<Manifest>| {
                    u32::try_from(m.entries.len().max(1)).unwrap_or(u32::MAX)
                })
                .build(),
            counters: Arc::default(),
        }
    }

    /// Hits, misses and size (weight = manifest entries).
    pub fn stats(&self) -> HitStats {
        self.counters.stats(&self.cache)
    }
}

impl ManifestCache for ServerManifestCache {
    fn get(&self, path: &str) -> Option<Arc<Manifest>> {
        self.counters.record(self.cache.get(path))
    }

    fn insert(&self, path: &str, manifest: Arc<Manifest>) {
        self.cache.insert(Arc::from(path), manifest);
    }
}

/// The caches of one server.
#[derive(Debug, Clone)]
pub struct Caches {
    /// Serialized load results.
    pub load_results: LoadResultCache,
    /// Parsed manifests.
    pub manifests: ServerManifestCache,
}

impl Default for Caches {
    fn default() -> Self {
        Self {
            load_results: LoadResultCache::new(DEFAULT_LOAD_RESULT_CACHE_BYTES),
            manifests: ServerManifestCache::new(DEFAULT_MANIFEST_CACHE_ENTRIES),
        }
    }
}
