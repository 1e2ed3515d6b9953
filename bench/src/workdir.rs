//! The suites' working folders, and why their files are not deleted during a run.
//!
//! Deleting files right before a timed case slows the file creations of the case down:
//! on an ext4 file system without a journal (as on the benchmark machines), the inode
//! allocator skips, one by one, every inode deleted in the last 60 to 300 s, and with
//! tens of thousands of them it spends more time there than Floe spends writing the
//! files (seen in `perf`: `recently_deleted` at 35% of the stream suite's samples, and
//! 874 vs 1,897 batches/s for 16 stream writers). So a run never deletes: a folder it
//! is done with is renamed into `<work dir>/.discarded/` (a rename frees no inode),
//! and `bench/run` deletes that folder after the last suite.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::harness::Result;

/// The folder under a work dir that `bench/run` empties after the last suite.
pub const DISCARDED: &str = ".discarded";

/// `work_dir/name`, new and empty: a folder of that name left by an earlier run is
/// discarded first.
pub fn fresh(work_dir: &Path, name: &str) -> Result<PathBuf> {
    let dir = work_dir.join(name);
    discard(work_dir, &dir)?;
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// Moves `dir` (if it exists) into `work_dir/.discarded/`, under a name no other
/// discarded folder has.
pub fn discard(work_dir: &Path, dir: &Path) -> Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if !dir.exists() {
        return Ok(());
    }
    let bin = work_dir.join(DISCARDED);
    std::fs::create_dir_all(&bin)?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = dir
        .file_name()
        .map_or_else(|| "dir".into(), |n| n.to_string_lossy());
    let target = bin.join(format!(
        "{name}-{stamp}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::rename(dir, &target)
        .map_err(|e| format!("cannot move {} to {}: {e}", dir.display(), target.display()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_folders_start_empty_and_old_ones_are_kept_aside() {
        let work = std::env::temp_dir().join(format!("floe-workdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        let first = fresh(&work, "suite").unwrap();
        std::fs::write(first.join("f"), b"x").unwrap();
        let second = fresh(&work, "suite").unwrap();
        assert_eq!(first, second);
        assert_eq!(std::fs::read_dir(&second).unwrap().count(), 0);
        let kept: Vec<_> = std::fs::read_dir(work.join(DISCARDED)).unwrap().collect();
        assert_eq!(kept.len(), 1);
        discard(&work, &second).unwrap();
        discard(&work, &second).unwrap(); // gone already: nothing to do
        assert!(!second.exists());
        assert_eq!(std::fs::read_dir(work.join(DISCARDED)).unwrap().count(), 2);
        std::fs::remove_dir_all(&work).unwrap();
    }
}
