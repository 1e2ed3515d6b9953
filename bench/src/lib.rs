//! `floe-bench`: Floe's benchmarks, each run beside a peer implementation on the same
//! data in the same run, alternating Floe and peer round by round (see [`harness`]), with
//! a Markdown report of medians, spread and ratios (see [`report`]).
//!
//! Run them with `bench/run [--quick]`, which builds the release binary, prepares the
//! Python venv with the peers and runs every workload. Suites:
//!
//! - [`spec_bench`] (`floe-bench spec`): the format core against PyIceberg — manifest
//!   decode and encode (entries per second) and table metadata JSON parsing.
//! - [`catalog_bench`] (`floe-bench catalog`): commits through `SqlCatalog` on SQLite and
//!   PostgreSQL (1 and 8 writers, metadata-only and append commits, latency by table size)
//!   beside PyIceberg's `SqlCatalog` on SQLite.
//! - [`table_bench`] (`floe-bench table`): writers, scans and planning against raw
//!   arrow-rs Parquet and PyIceberg — append throughput, full scans, planning on a table
//!   with 10,000 snapshots and 100,000 data files.
//! - [`maintenance_bench`] (`floe-bench maintenance`): compaction against a raw arrow-rs
//!   Parquet rewrite of the same files, and planning and full-scan time on a
//!   many-small-file table before and after compaction.
//! - [`server_bench`] (`floe-bench server`): `loadTable` over HTTP against `floe serve`
//!   (cold, cached, 304; 16 clients) beside PyIceberg's `SqlCatalog` and `RestCatalog`.
//! - [`stream_bench`] (`floe-bench stream`): 1, 4, 16 and 64 writers appending 1,000-row
//!   micro-batches to one table — batches per second, ack latency and manifests per
//!   1,000 batches, Floe with and without group commit beside PyIceberg's `SqlCatalog`.
//!
//! - [`sql_bench`] (`floe-bench sql`): a TPC-H-like query set through Floe tables
//!   against DataFusion listing tables over the same Parquet files; planning overhead;
//!   pruning on a 10,000-file table.
//!
//! Working folders come from [`workdir`]: nothing is deleted while a run is timing.
//!
//! ```no_run
//! use floe_bench::harness::{Sample, alternate, time_mean_secs};
//! let floe = || time_mean_secs(10, || Ok(2 + 2));
//! let cmp = alternate(5, floe, || Ok(Sample { wall: 0.001, cpu: 0.001 })).unwrap();
//! println!("Floe is {:.1}x faster", cmp.ratio());
//! ```

pub mod catalog_bench;
pub mod charts;
pub mod data;
pub mod harness;
pub mod machine;
pub mod maintenance_bench;
pub mod memory;
pub mod peer;
pub mod report;
pub mod server_bench;
pub mod spec_bench;
pub mod sql_bench;
pub mod static_http;
pub mod stream_bench;
pub mod table_bench;
pub mod workdir;

/// Every binary that links this crate (`floe-bench`, the profiling examples, the
/// criterion benches) allocates with mimalloc, as the `floe` binary does, so Floe is
/// measured as it ships; the raw arrow-rs baselines run in the same process with it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
