//! [`ColumnMap`]: a small map from column field id to a value, stored as a vector of
//! pairs sorted by id: the type of a data file's per-column metrics (sizes, counts,
//! bounds).
//!
//! A data file has a handful to a few hundred columns; one allocation holding the pairs
//! in id order is cheaper to build, read, clone and drop than a hash map, iterates in
//! id order (stable output for manifests and JSON), and keeps the methods callers use on
//! a `HashMap<i32, V>` (`get`, `insert`, `entry`, `retain`, `iter`, `collect`, `[&id]`).
//! Decoders insert ids in ascending order, which appends.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// Column field id → `V`, sorted by id, one value per id.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ColumnMap<V> {
    entries: Vec<(i32, V)>,
}

impl<V> Default for ColumnMap<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for ColumnMap<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<V> ColumnMap<V> {
    /// An empty map (allocates nothing).
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// An empty map with room for `n` columns.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no column.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Reserves room for `n` more columns.
    pub fn reserve(&mut self, n: usize) {
        self.entries.reserve(n);
    }

    /// Removes every column.
    pub fn clear(&mut self) {
        self.entries.clear();
    }

    fn position(&self, id: i32) -> Result<usize, usize> {
        // Ids are usually inserted and looked up in ascending order over few columns.
        self.entries.binary_search_by_key(&id, |(k, _)| *k)
    }

    /// The value of column `id`.
    #[inline]
    #[allow(clippy::trivially_copy_pass_by_ref)] // the signature of `HashMap::get`
    pub fn get(&self, id: &i32) -> Option<&V> {
        let i = self.position(*id).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    /// The value of column `id`, mutable.
    #[allow(clippy::trivially_copy_pass_by_ref)] // the signature of `HashMap::get_mut`
    pub fn get_mut(&mut self, id: &i32) -> Option<&mut V> {
        let i = self.position(*id).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Whether column `id` has a value.
    #[allow(clippy::trivially_copy_pass_by_ref)] // the signature of `HashMap::contains_key`
    pub fn contains_key(&self, id: &i32) -> bool {
        self.position(*id).is_ok()
    }

    /// Sets the value of column `id`, returning the previous one.
    #[inline]
    pub fn insert(&mut self, id: i32, value: V) -> Option<V> {
        // Fast path: ids arriving in ascending order append.
        if self.entries.last().is_none_or(|(k, _)| *k < id) {
            self.entries.push((id, value));
            return None;
        }
        match self.position(id) {
            Ok(i) => self
                .entries
                .get_mut(i)
                .map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    /// Removes column `id`, returning its value.
    #[allow(clippy::trivially_copy_pass_by_ref)] // the signature of `HashMap::remove`
    pub fn remove(&mut self, id: &i32) -> Option<V> {
        let i = self.position(*id).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// Keeps only the columns for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&i32, &mut V) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// The entry of column `id`, for in-place updates
    /// (`*map.entry(id).or_default() += n`).
    pub fn entry(&mut self, id: i32) -> Entry<'_, V> {
        let pos = self.position(id);
        Entry { map: self, id, pos }
    }

    /// `(id, value)` pairs in ascending id order.
    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            inner: self.entries.iter(),
        }
    }

    /// `(id, value)` pairs in ascending id order, values mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&i32, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The column ids, ascending.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &i32> + DoubleEndedIterator {
        self.entries.iter().map(|(k, _)| k)
    }

    /// The values, in ascending id order.
    pub fn values(&self) -> impl ExactSizeIterator<Item = &V> + DoubleEndedIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The values, mutable, in ascending id order.
    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    /// The `(id, value)` pairs, sorted by id.
    pub fn as_slice(&self) -> &[(i32, V)] {
        &self.entries
    }

    /// The `(id, value)` pairs, sorted by id.
    pub fn into_vec(self) -> Vec<(i32, V)> {
        self.entries
    }

    /// From pairs in any order; of repeated ids the last value wins (as inserting
    /// each into a map).
    pub fn from_vec(mut entries: Vec<(i32, V)>) -> Self {
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable: of equal ids the later pair stays after the earlier one.
            entries.sort_by_key(|(k, _)| *k);
            let mut out: Vec<(i32, V)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                match out.last_mut() {
                    Some(last) if last.0 == k => last.1 = v,
                    _ => out.push((k, v)),
                }
            }
            entries = out;
        }
        Self { entries }
    }
}

/// A column's slot in a [`ColumnMap`], from [`ColumnMap::entry`].
pub struct Entry<'a, V> {
    map: &'a mut ColumnMap<V>,
    id: i32,
    pos: Result<usize, usize>,
}

impl<'a, V> Entry<'a, V> {
    /// The column id.
    pub fn key(&self) -> &i32 {
        &self.id
    }

    /// The value, inserting `make()` first when the column has none.
    pub fn or_insert_with(self, make: impl FnOnce() -> V) -> &'a mut V {
        let i = match self.pos {
            Ok(i) => i,
            Err(i) => {
                self.map.entries.insert(i, (self.id, make()));
                i
            }
        };
        // `i` is in bounds: found, or just inserted there.
        &mut self.map.entries[i].1
    }

    /// The value, inserting `value` first when the column has none.
    pub fn or_insert(self, value: V) -> &'a mut V {
        self.or_insert_with(|| value)
    }

    /// The value, inserting `V::default()` first when the column has none.
    pub fn or_default(self) -> &'a mut V
    where
        V: Default,
    {
        self.or_insert_with(V::default)
    }
}

/// Iterator over `(&id, &value)` in ascending id order.
#[derive(Clone, Debug)]
pub struct Iter<'a, V> {
    inner: std::slice::Iter<'a, (i32, V)>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a i32, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(|(k, v)| (k, v))
    }
}

impl<V> std::ops::Index<&i32> for ColumnMap<V> {
    type Output = V;

    /// The value of column `id`; panics when it has none (as `HashMap` does).
    fn index(&self, id: &i32) -> &V {
        self.get(id)
            .unwrap_or_else(|| panic!("ColumnMap has no value for column {id}"))
    }
}

impl<'a, V> IntoIterator for &'a ColumnMap<V> {
    type Item = (&'a i32, &'a V);
    type IntoIter = Iter<'a, V>;

    fn into_iter(self) -> Iter<'a, V> {
        self.iter()
    }
}

impl<V> IntoIterator for ColumnMap<V> {
    type Item = (i32, V);
    type IntoIter = std::vec::IntoIter<(i32, V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<V> FromIterator<(i32, V)> for ColumnMap<V> {
    fn from_iter<I: IntoIterator<Item = (i32, V)>>(iter: I) -> Self {
        Self::from_vec(iter.into_iter().collect())
    }
}

impl<V> Extend<(i32, V)> for ColumnMap<V> {
    fn extend<I: IntoIterator<Item = (i32, V)>>(&mut self, iter: I) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

impl<V, const N: usize> From<[(i32, V); N]> for ColumnMap<V> {
    fn from(pairs: [(i32, V); N]) -> Self {
        Self::from_vec(Vec::from(pairs))
    }
}

impl<V, S> From<HashMap<i32, V, S>> for ColumnMap<V> {
    fn from(map: HashMap<i32, V, S>) -> Self {
        Self::from_vec(map.into_iter().collect())
    }
}

impl<V> From<BTreeMap<i32, V>> for ColumnMap<V> {
    fn from(map: BTreeMap<i32, V>) -> Self {
        Self {
            entries: map.into_iter().collect(),
        }
    }
}

impl<V, S: std::hash::BuildHasher + Default> From<ColumnMap<V>> for HashMap<i32, V, S> {
    fn from(map: ColumnMap<V>) -> Self {
        map.entries.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn behaves_like_a_map_in_id_order() {
        let mut m = ColumnMap::new();
        assert_eq!(m.insert(5, "e"), None);
        assert_eq!(m.insert(1, "a"), None);
        assert_eq!(m.insert(3, "c"), None);
        assert_eq!(m.insert(3, "C"), Some("c"));
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(&3), Some(&"C"));
        assert_eq!(m.get(&4), None);
        assert!(m.contains_key(&5) && !m.contains_key(&2));
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 3, 5]);
        assert_eq!(m[&1], "a");
        assert_eq!(m.remove(&1), Some("a"));
        assert_eq!(m.remove(&1), None);
        m.retain(|id, _| *id != 5);
        assert_eq!(m.into_vec(), vec![(3, "C")]);
    }

    #[test]
    fn entry_updates_in_place() {
        let mut m: ColumnMap<i64> = ColumnMap::new();
        *m.entry(7).or_default() += 2;
        *m.entry(7).or_default() += 3;
        *m.entry(2).or_insert(10) += 1;
        assert_eq!(m.as_slice(), &[(2, 11), (7, 5)]);
        assert_eq!(*m.entry(2).key(), 2);
    }

    #[test]
    fn collect_sorts_and_keeps_the_last_of_repeated_ids() {
        let m: ColumnMap<&str> = [(4, "x"), (2, "y"), (4, "z"), (-1, "n")]
            .into_iter()
            .collect();
        assert_eq!(m.as_slice(), &[(-1, "n"), (2, "y"), (4, "z")]);
        assert_eq!(ColumnMap::from([(1, 1), (1, 2)]).as_slice(), &[(1, 2)]);
        assert_eq!(format!("{m:?}"), r#"{-1: "n", 2: "y", 4: "z"}"#);
    }

    proptest! {
        #[test]
        fn agrees_with_btreemap(ops in proptest::collection::vec((-20i32..20, any::<i16>(), 0u8..4), 0..80)) {
            let mut m = ColumnMap::new();
            let mut reference = BTreeMap::new();
            for (k, v, op) in ops {
                match op {
                    0 | 1 => prop_assert_eq!(m.insert(k, v), reference.insert(k, v)),
                    2 => prop_assert_eq!(m.remove(&k), reference.remove(&k)),
                    _ => {
                        *m.entry(k).or_default() += 1;
                        *reference.entry(k).or_default() += 1;
                    }
                }
                prop_assert_eq!(m.len(), reference.len());
            }
            let pairs: Vec<(i32, i16)> = reference.clone().into_iter().collect();
            prop_assert_eq!(m.as_slice(), pairs.as_slice());
            prop_assert_eq!(ColumnMap::from(reference), m);
        }
    }
}
