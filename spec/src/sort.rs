//! Sort orders: how rows are sorted within data files.
//!
//! JSON form: `{"order-id": 1, "fields": [{"transform": "identity", "source-id": 2,
//! "direction": "asc", "null-order": "nulls-first"}]}`. Order id 0 is reserved for the
//! unsorted order, which has no fields.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::transform::Transform;

/// A shared sort order.
pub type SortOrderRef = Arc<SortOrder>;

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending.
    Desc,
}

/// Where nulls sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NullOrder {
    /// Nulls before values.
    NullsFirst,
    /// Nulls after values.
    NullsLast,
}

/// One field of a sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SortField {
    /// The transform applied before sorting.
    pub transform: Transform,
    /// The schema field sorted by.
    pub source_id: i32,
    /// Direction.
    pub direction: SortDirection,
    /// Null placement.
    pub null_order: NullOrder,
}

/// A sort order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct SortOrder {
    /// The order id (0 = unsorted).
    pub order_id: i64,
    /// The fields, most significant first.
    #[serde(default)]
    pub fields: Vec<SortField>,
}

impl SortOrder {
    /// The id of the unsorted order.
    pub const UNSORTED_ORDER_ID: i64 = 0;

    /// The unsorted order.
    pub fn unsorted() -> Self {
        Self::default()
    }

    /// Whether this is the unsorted order.
    pub fn is_unsorted(&self) -> bool {
        self.fields.is_empty()
    }

    /// Whether two orders sort the same way (ignoring order ids).
    pub fn is_equivalent(&self, other: &SortOrder) -> bool {
        self.fields == other.fields
    }
}
