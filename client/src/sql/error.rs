//! Errors crossing between Floe and DataFusion.

use datafusion::common::DataFusionError;

/// A Floe error (spec, catalog or table) as a DataFusion error, its message kept.
pub(crate) fn to_df(e: floe_spec::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// A plan error with a message.
pub(crate) fn plan_err(msg: impl Into<String>) -> DataFusionError {
    DataFusionError::Plan(msg.into())
}
