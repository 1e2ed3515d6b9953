//! Manifest lists: the Avro file a snapshot points to, listing its manifests with
//! counts and partition summaries.

use crate::values::Datum;

/// Summary of one partition field over all files of a manifest (manifest-list field
/// 508), used to skip whole manifests during planning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSummary {
    /// Whether any file has a null value for the field (509).
    pub contains_null: bool,
    /// Whether any file has a NaN value for the field (518), if known.
    pub contains_nan: Option<bool>,
    /// Lowest non-null, non-NaN value (510), if any.
    pub lower_bound: Option<Datum>,
    /// Highest non-null, non-NaN value (511), if any.
    pub upper_bound: Option<Datum>,
}
