//! [`RewriteManifests`]: merges small manifests of the current snapshot, with their
//! entries clustered by partition, into a `replace` snapshot.
//!
//! Manifests smaller than `commit.manifest.target-size-bytes` (8 MiB) are grouped by
//! content (data or deletes) and partition spec; a group of two or more is read (live
//! entries only, sequence numbers made explicit), sorted by partition, and written as
//! manifests of about the target size whose entries are EXISTING with their original
//! snapshot ids and sequence numbers. Files are unchanged, so the snapshot's totals are
//! the parent's.
//!
//! The commit asserts that `main` still points at the snapshot that was read: if a
//! writer committed meanwhile, the new manifests are deleted and the rewrite is
//! redone on the new head (up to `commit.retry.num-retries` times), so it never hides
//! a concurrent change. v3 tables (row lineage) are not supported yet.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use floe_catalog::TableCommit;
use floe_spec::commit::{TableMetadataBuilder, TableRequirement};
use floe_spec::manifest::{
    ManifestContentType, ManifestEntry, ManifestMetadata, ManifestStatus, ManifestWriter,
};
use floe_spec::manifest_list::{ManifestFile, ManifestListWriter};
use floe_spec::snapshot::{
    MAIN_BRANCH, Operation, Snapshot, SnapshotReference, SnapshotRetention, Summary,
};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Clock, FixedClock, system_clock};
use crate::error::{Error, ErrorKind, Result};
use crate::summary::SummaryBuilder;
use crate::table::Table;
use crate::transaction::{MANIFEST_TARGET_SIZE_BYTES, RetryConfig, WRITE_METADATA_PATH};

/// Default of `commit.manifest.target-size-bytes`: 8 MiB.
const TARGET_DEFAULT: i64 = 8 * 1024 * 1024;

/// What a manifest rewrite did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RewriteManifestsResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Manifests of the current snapshot before.
    pub manifests_before: u64,
    /// Manifests replaced (or that would be).
    pub rewritten_manifests: u64,
    /// Manifests written (0 in a dry run).
    pub added_manifests: u64,
    /// Live entries moved.
    pub entries: u64,
    /// The `replace` snapshot committed.
    pub snapshot_id: Option<i64>,
    /// Commit attempts made.
    pub commit_attempts: u32,
}

/// Rewrites the manifests of a table; see the module docs.
#[derive(Debug, Clone)]
pub struct RewriteManifests {
    table: Table,
    clock: Arc<dyn Clock>,
    target: Option<i64>,
    dry_run: bool,
}

/// One attempt's output.
struct Attempt {
    commit: TableCommit,
    written: Vec<String>,
    rewritten: u64,
    added: u64,
    entries: u64,
    snapshot_id: i64,
}

fn metadata_dir(md: &TableMetadata) -> String {
    match md.properties().get(WRITE_METADATA_PATH) {
        Some(p) if !p.trim().is_empty() => p.trim().trim_end_matches('/').to_string(),
        _ => format!("{}/metadata", md.location().trim_end_matches('/')),
    }
}

impl RewriteManifests {
    /// A manifest rewrite of `table`'s current snapshot.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            clock: system_clock(),
            target: None,
            dry_run: false,
        }
    }

    /// Uses `clock` for the snapshot timestamp.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses a fixed current time (ms since the epoch).
    #[must_use]
    pub fn now_ms(self, now_ms: i64) -> Self {
        self.clock(Arc::new(FixedClock::new(now_ms)))
    }

    /// Target manifest size (default `commit.manifest.target-size-bytes`, 8 MiB).
    #[must_use]
    pub fn target_size_bytes(mut self, bytes: i64) -> Self {
        self.target = Some(bytes.max(1));
        self
    }

    /// Only reports what would be merged.
    #[must_use]
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    fn target(&self, md: &TableMetadata) -> Result<i64> {
        if let Some(t) = self.target {
            return Ok(t);
        }
        match md.properties().get(MANIFEST_TARGET_SIZE_BYTES) {
            None => Ok(TARGET_DEFAULT),
            Some(v) => v.trim().parse::<i64>().map(|t| t.max(1)).map_err(|_| {
                Error::invalid(format!(
                    "table property `{MANIFEST_TARGET_SIZE_BYTES}` must be an integer, got `{v}`"
                ))
            }),
        }
    }

    /// Groups of small manifests to merge (content, spec id → manifests), and the
    /// manifests kept as they are.
    fn groups(
        manifests: Vec<ManifestFile>,
        target: i64,
    ) -> (Vec<Vec<ManifestFile>>, Vec<ManifestFile>) {
        let mut by_key: BTreeMap<(u8, i32), Vec<ManifestFile>> = BTreeMap::new();
        let mut kept = Vec::new();
        for m in manifests {
            if m.manifest_length >= target {
                kept.push(m);
                continue;
            }
            let content = u8::from(m.content == ManifestContentType::Deletes);
            by_key
                .entry((content, m.partition_spec_id))
                .or_default()
                .push(m);
        }
        let mut groups = Vec::new();
        for (_, g) in by_key {
            if g.len() > 1 {
                groups.push(g);
            } else {
                kept.extend(g);
            }
        }
        (groups, kept)
    }

    /// Plans and commits (unless a dry run).
    pub async fn execute(self) -> Result<RewriteManifestsResult> {
        let mut table = self.table.clone();
        let config = RetryConfig::from_properties(table.properties())?;
        let started = Instant::now();
        let mut result = RewriteManifestsResult {
            dry_run: self.dry_run,
            ..RewriteManifestsResult::default()
        };
        loop {
            let md = table.metadata().clone();
            if md.format_version() >= FormatVersion::V3 {
                return Err(Error::unsupported(format!(
                    "rewrite manifests: table {} is format v3 (row lineage): not supported yet",
                    table.ident()
                )));
            }
            let Some(head) = md.current_snapshot().cloned() else {
                return Ok(result);
            };
            let manifests = table.manifests(None).await?;
            result.manifests_before = manifests.len() as u64;
            let target = self.target(&md)?;
            let (groups, kept) = Self::groups(manifests, target);
            if groups.is_empty() {
                return Ok(result);
            }
            if self.dry_run {
                result.rewritten_manifests = groups.iter().map(|g| g.len() as u64).sum();
                result.entries = groups
                    .iter()
                    .flatten()
                    .map(|m| {
                        u64::try_from(
                            m.added_files_count.unwrap_or(0) + m.existing_files_count.unwrap_or(0),
                        )
                        .unwrap_or(0)
                    })
                    .sum();
                return Ok(result);
            }
            let attempt = self.attempt(&table, &md, &head, groups, kept, target).await;
            let attempt = match attempt {
                Ok(a) => a,
                Err(e) => return Err(e),
            };
            result.commit_attempts += 1;
            match table.catalog().commit_table(attempt.commit).await {
                Ok(loaded) => {
                    table.set_loaded(loaded);
                    result.rewritten_manifests = attempt.rewritten;
                    result.added_manifests = attempt.added;
                    result.entries = attempt.entries;
                    result.snapshot_id = Some(attempt.snapshot_id);
                    return Ok(result);
                }
                Err(e) if e.kind() == ErrorKind::CommitStateUnknown => return Err(e),
                Err(e) => {
                    for p in &attempt.written {
                        table.storage().delete(p).await.ok();
                    }
                    if e.kind() != ErrorKind::CommitFailed
                        || result.commit_attempts > config.num_retries
                        || started.elapsed() >= config.total_timeout
                    {
                        return Err(e);
                    }
                    tokio::time::sleep(config.backoff(result.commit_attempts - 1)).await;
                    table.refresh().await?;
                }
            }
        }
    }

    /// Writes the merged manifests and the manifest list; returns the commit.
    async fn attempt(
        &self,
        table: &Table,
        md: &TableMetadata,
        head: &Snapshot,
        groups: Vec<Vec<ManifestFile>>,
        kept: Vec<ManifestFile>,
        target: i64,
    ) -> Result<Attempt> {
        let snapshot_id = crate::transaction::new_snapshot_id();
        let commit_uuid = Uuid::new_v4();
        let dir = metadata_dir(md);
        let storage = table.storage();
        let mut written = Vec::new();
        let mut new_manifests = Vec::new();
        let mut rewritten = 0_u64;
        let mut entries_moved = 0_u64;
        let out: Result<()> = async {
            for group in groups {
                rewritten += group.len() as u64;
                let spec_id = group.first().map_or(0, |m| m.partition_spec_id);
                let content = group
                    .first()
                    .map_or(ManifestContentType::Data, |m| m.content);
                let spec = md.partition_spec_by_id(spec_id).ok_or_else(|| {
                    Error::invalid(format!(
                        "rewrite manifests: unknown partition spec {spec_id}"
                    ))
                })?;
                let bytes: i64 = group.iter().map(|m| m.manifest_length).sum();
                let mut entries: Vec<ManifestEntry> = Vec::new();
                for m in &group {
                    for e in storage.manifest_entries(m).await? {
                        if e.status != ManifestStatus::Deleted {
                            entries.push(ManifestEntry {
                                status: ManifestStatus::Existing,
                                ..e
                            });
                        }
                    }
                }
                let total_entries: i64 = group
                    .iter()
                    .map(|m| {
                        i64::from(
                            m.added_files_count.unwrap_or(0)
                                + m.existing_files_count.unwrap_or(0)
                                + m.deleted_files_count.unwrap_or(0),
                        )
                    })
                    .sum::<i64>()
                    .max(1);
                let per_entry = (bytes / total_entries).max(1);
                let per_manifest = usize::try_from((target / per_entry).max(1)).unwrap_or(1);
                entries_moved += entries.len() as u64;
                let mut keyed: Vec<(String, ManifestEntry)> = entries
                    .into_iter()
                    .map(|e| (format!("{:?}", e.data_file.partition), e))
                    .collect();
                keyed.sort_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| a.1.data_file.file_path.cmp(&b.1.data_file.file_path))
                });
                let sorted: Vec<ManifestEntry> = keyed.into_iter().map(|(_, e)| e).collect();
                for chunk in sorted.chunks(per_manifest) {
                    let mut w = ManifestWriter::new(
                        ManifestMetadata {
                            schema: md.current_schema().clone(),
                            partition_spec: spec.as_ref().clone(),
                            format_version: md.format_version(),
                            content,
                        },
                        Some(snapshot_id),
                    );
                    for e in chunk {
                        w.add_entry(e.clone())?;
                    }
                    let path = format!("{dir}/{commit_uuid}-m{}.avro", new_manifests.len());
                    let (bytes, file) = w.finish(&path)?;
                    storage.write_new(&path, bytes).await?;
                    written.push(path);
                    new_manifests.push(file);
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = out {
            for p in &written {
                storage.delete(p).await.ok();
            }
            return Err(e);
        }
        let added = new_manifests.len() as u64;
        let sequence_number = md.last_sequence_number() + 1;
        let list_path = format!("{dir}/snap-{snapshot_id}-1-{commit_uuid}.avro");
        let mut list = ManifestListWriter::new(
            md.format_version(),
            snapshot_id,
            Some(head.snapshot_id),
            sequence_number,
        );
        let kept_count = kept.len();
        list.add_manifests(new_manifests.into_iter().chain(kept))?;
        let list_bytes = list.finish()?;
        if let Err(e) = storage.write_new(&list_path, list_bytes).await {
            for p in &written {
                storage.delete(p).await.ok();
            }
            return Err(e);
        }
        written.push(list_path.clone());
        let mut summary = SummaryBuilder::default();
        summary.set("manifests-created", &added);
        summary.set("manifests-kept", &kept_count);
        summary.set("manifests-replaced", &rewritten);
        summary.set("entries-processed", &entries_moved);
        summary.set("floe.maintenance", &"rewrite-manifests");
        let empty = HashMap::new();
        let snapshot = Snapshot {
            snapshot_id,
            parent_snapshot_id: Some(head.snapshot_id),
            sequence_number,
            timestamp_ms: self.clock.now_ms().max(md.last_updated_ms()),
            manifest_list: list_path,
            summary: Summary {
                operation: Operation::Replace,
                additional_properties: summary.build(Some(
                    if head.summary.additional_properties.is_empty() {
                        &empty
                    } else {
                        &head.summary.additional_properties
                    },
                )),
            },
            schema_id: Some(md.current_schema_id()),
            first_row_id: None,
            added_rows: None,
            key_id: None,
        };
        let mut builder = TableMetadataBuilder::from(md);
        builder.add_snapshot(snapshot)?;
        let retention = md
            .refs()
            .get(MAIN_BRANCH)
            .map_or_else(SnapshotRetention::branch, |r| r.retention.clone());
        builder.set_ref(
            MAIN_BRANCH,
            SnapshotReference {
                snapshot_id,
                retention,
            },
        )?;
        let requirements = vec![
            TableRequirement::AssertTableUuid {
                uuid: md.table_uuid(),
            },
            TableRequirement::AssertRefSnapshotId {
                r#ref: MAIN_BRANCH.to_string(),
                snapshot_id: Some(head.snapshot_id),
            },
        ];
        Ok(Attempt {
            commit: TableCommit::new(
                table.ident().clone(),
                requirements,
                builder.changes().to_vec(),
            ),
            written,
            rewritten,
            added,
            entries: entries_moved,
            snapshot_id,
        })
    }
}
