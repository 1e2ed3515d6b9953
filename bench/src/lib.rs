//! `floe-bench`: Floe's benchmarks, each run beside a peer implementation on the same
//! data in the same run, alternating Floe and peer round by round (see [`harness`]), with
//! a Markdown report of medians, spread and ratios (see [`report`]).
//!
//! Run them with `bench/run [--quick]`, which builds the release binary, prepares the
//! Python venv with the peers and runs every workload. Suites:
//!
//! - [`spec_bench`] (`floe-bench spec`): the format core against PyIceberg — manifest
//!   decode and encode (entries per second) and table metadata JSON parsing.
//!
//! ```no_run
//! use floe_bench::harness::{alternate, time_secs};
//! let cmp = alternate(5, || Ok(time_secs(|| 2 + 2)), || Ok(0.001)).unwrap();
//! println!("Floe is {:.1}x faster", cmp.ratio());
//! ```

pub mod data;
pub mod harness;
pub mod machine;
pub mod peer;
pub mod report;
pub mod spec_bench;
