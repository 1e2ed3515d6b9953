//! A cache of parsed table metadata keyed by metadata location.
//!
//! Metadata files are immutable (written once with create-if-absent), so an entry can
//! never be stale: the catalog row names the current file, and the cache only saves
//! re-reading and re-parsing it. Least recently used entries are evicted beyond the
//! capacity. Hit and miss counters feed the server's metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use floe_spec::table_metadata::TableMetadata;

/// The default number of cached metadata documents.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// Parsed metadata by location, least recently used evicted first.
#[derive(Debug)]
pub struct MetadataCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    tick: u64,
    entries: HashMap<String, (Arc<TableMetadata>, u64)>,
    by_use: BTreeMap<u64, String>,
}

/// Hit and miss counts of a [`MetadataCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that had to read the file.
    pub misses: u64,
    /// Entries held now.
    pub entries: usize,
}

impl MetadataCache {
    /// A cache holding at most `capacity` documents (0 disables caching).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The metadata stored at `location`, if cached.
    pub fn get(&self, location: &str) -> Option<Arc<TableMetadata>> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        let found = inner.entries.get_mut(location).map(|(meta, used)| {
            let old = *used;
            *used = tick;
            (Arc::clone(meta), old)
        });
        if let Some((meta, old)) = found {
            inner.by_use.remove(&old);
            inner.by_use.insert(tick, location.to_owned());
            self.hits.fetch_add(1, Ordering::Relaxed);
            Some(meta)
        } else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            None
        }
    }

    /// Caches the metadata stored at `location`.
    pub fn insert(&self, location: &str, metadata: Arc<TableMetadata>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.tick += 1;
        let tick = inner.tick;
        if let Some((_, old)) = inner.entries.insert(location.to_owned(), (metadata, tick)) {
            inner.by_use.remove(&old);
        }
        inner.by_use.insert(tick, location.to_owned());
        while inner.entries.len() > self.capacity {
            let Some((_, key)) = inner.by_use.pop_first() else {
                break;
            };
            inner.entries.remove(&key);
        }
    }

    /// Hit and miss counts so far.
    pub fn stats(&self) -> CacheStats {
        let entries = self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries,
        }
    }
}

impl Default for MetadataCache {
    fn default() -> Self {
        Self::new(DEFAULT_CACHE_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use floe_spec::commit::TableMetadataBuilder;
    use floe_spec::partition::UnboundPartitionSpec;
    use floe_spec::schema::Schema;
    use floe_spec::sort::SortOrder;
    use floe_spec::types::{NestedField, PrimitiveType, Type};

    use super::*;

    fn metadata() -> Arc<TableMetadata> {
        let schema = Schema::builder()
            .with_fields([NestedField::required(
                1,
                "id",
                Type::Primitive(PrimitiveType::Long),
            )])
            .build()
            .expect("schema");
        let builder = TableMetadataBuilder::new_table(
            schema,
            UnboundPartitionSpec {
                spec_id: None,
                fields: Vec::new(),
            },
            SortOrder::unsorted(),
            "memory:///wh/t".into(),
            HashMap::new(),
        )
        .expect("builder");
        Arc::new(builder.build(0).expect("metadata").metadata)
    }

    #[test]
    fn evicts_least_recently_used() {
        let cache = MetadataCache::new(2);
        let m = metadata();
        cache.insert("a", Arc::clone(&m));
        cache.insert("b", Arc::clone(&m));
        assert!(cache.get("a").is_some()); // a is now more recent than b
        cache.insert("c", Arc::clone(&m));
        assert!(cache.get("b").is_none());
        assert!(cache.get("a").is_some());
        assert!(cache.get("c").is_some());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (3, 1, 2));
        let off = MetadataCache::new(0);
        off.insert("a", m);
        assert!(off.get("a").is_none());
    }
}
