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

impl SortField {
    /// Whether data sorted by this field is also sorted by `other` (Java
    /// `SortField.satisfies`): same source, direction and null order, and a transform
    /// that satisfies the other's order ([`Transform::satisfies_order_of`]).
    pub fn satisfies(&self, other: &SortField) -> bool {
        self == other
            || (self.source_id == other.source_id
                && self.direction == other.direction
                && self.null_order == other.null_order
                && self.transform.satisfies_order_of(&other.transform))
    }
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

    /// Whether data sorted by this order is also sorted by `other` (Java
    /// `SortOrder.satisfies`): every order satisfies the unsorted order; otherwise
    /// `other` may not have more fields, and each of its fields must be satisfied by the
    /// field at the same position here.
    pub fn satisfies(&self, other: &SortOrder) -> bool {
        other.is_unsorted()
            || (other.fields.len() <= self.fields.len()
                && self
                    .fields
                    .iter()
                    .zip(&other.fields)
                    .all(|(mine, theirs)| mine.satisfies(theirs)))
    }

    /// Whether two orders sort the same way (ignoring order ids).
    pub fn is_equivalent(&self, other: &SortOrder) -> bool {
        self.fields == other.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(transform: Transform, source_id: i32, direction: SortDirection) -> SortField {
        SortField {
            transform,
            source_id,
            direction,
            null_order: NullOrder::NullsFirst,
        }
    }

    fn order(fields: Vec<SortField>) -> SortOrder {
        SortOrder {
            order_id: 1,
            fields,
        }
    }

    #[test]
    fn satisfies_like_java() {
        use SortDirection::{Asc, Desc};
        let by_hour_then_id = order(vec![
            f(Transform::Hour, 1, Asc),
            f(Transform::Identity, 2, Asc),
        ]);
        assert!(by_hour_then_id.satisfies(&SortOrder::unsorted()));
        assert!(SortOrder::unsorted().satisfies(&SortOrder::unsorted()));
        assert!(!SortOrder::unsorted().satisfies(&by_hour_then_id));
        assert!(by_hour_then_id.satisfies(&by_hour_then_id));
        assert!(by_hour_then_id.satisfies(&order(vec![f(Transform::Day, 1, Asc)])));
        assert!(by_hour_then_id.satisfies(&order(vec![
            f(Transform::Year, 1, Asc),
            f(Transform::Truncate(4), 2, Asc),
        ])));
        // Finer transforms, other columns, directions or null orders are not satisfied.
        let by_day = order(vec![f(Transform::Day, 1, Asc)]);
        assert!(!by_day.satisfies(&order(vec![f(Transform::Hour, 1, Asc)])));
        assert!(!by_day.satisfies(&order(vec![f(Transform::Day, 2, Asc)])));
        assert!(!by_day.satisfies(&order(vec![f(Transform::Day, 1, Desc)])));
        let mut nulls_last = f(Transform::Day, 1, Asc);
        nulls_last.null_order = NullOrder::NullsLast;
        assert!(!by_day.satisfies(&order(vec![nulls_last])));
        // Another order with more fields is never satisfied.
        assert!(!by_day.satisfies(&by_hour_then_id));
        assert!(
            !order(vec![f(Transform::Bucket(4), 1, Asc)]).satisfies(&order(vec![f(
                Transform::Bucket(8),
                1,
                Asc
            )]))
        );
    }
}
