//! `floe-bench sql`: a TPC-H-like query set through Floe tables (`floe_client`'s
//! DataFusion catalog and table providers) against DataFusion over the same Parquet
//! files as plain listing tables, in the same process, alternating query by query.
//!
//! Data is generated here (seeded): `lineitem` (quick 1 M rows, full 2 M, written as 8
//! appends so 8 data files), `orders` (a quarter of that) and `customer` (a tenth of
//! orders), each an unpartitioned Floe table on a SQLite catalog and a local
//! warehouse. The baseline registers each table's `data/` folder (exactly the table's
//! data files) as a DataFusion `ListingTable`. Both sessions use the same
//! `target_partitions` (the machine's cores).
//!
//! Figures: per query and in total, the median wall and whole-process on-CPU time of
//! Floe and the baseline (target: Floe total ≤ 1.05× the baseline's); the time to plan
//! each query (SQL to physical plan, on a warm table: the catalog load and the
//! manifests, cached by the session, included) for both (target: Floe's extra
//! planning time < 5 ms); and a selective query on a 10,000-file table, with the files
//! each side reads (Floe prunes by the manifests' column bounds, the listing table
//! opens every file).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::ListingOptions;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::physical_plan::ExecutionPlan;
use floe_client::Floe;
use floe_client::sql::{FloeScanExec, FloeSession};
use tokio::runtime::Runtime;

use crate::data::Rng;
use crate::harness::{Comparison, Result, Sample, alternate, median, spread, time_process};
use crate::machine::{Machine, load_average};
use crate::report::{thousands, today};
use crate::spec_bench::Options;

/// The query set: name, SQL over `tpch.<table>` (the baseline drops the `tpch.`).
const QUERIES: &[(&str, &str)] = &[
    (
        "Q1 pricing summary",
        "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty, \
         sum(l_extendedprice) AS sum_base, sum(l_extendedprice * (1 - l_discount)) AS sum_disc, \
         sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)) AS sum_charge, \
         avg(l_quantity) AS avg_qty, avg(l_discount) AS avg_disc, count(*) AS n \
         FROM tpch.lineitem WHERE l_shipdate <= DATE '1998-09-02' \
         GROUP BY l_returnflag, l_linestatus ORDER BY l_returnflag, l_linestatus",
    ),
    (
        "Q3 shipping priority",
        "SELECT l_orderkey, sum(l_extendedprice * (1 - l_discount)) AS revenue, o_orderdate \
         FROM tpch.customer JOIN tpch.orders ON c_custkey = o_custkey \
         JOIN tpch.lineitem ON l_orderkey = o_orderkey \
         WHERE c_mktsegment = 'BUILDING' AND o_orderdate < DATE '1995-03-15' \
         AND l_shipdate > DATE '1995-03-15' \
         GROUP BY l_orderkey, o_orderdate ORDER BY revenue DESC, o_orderdate LIMIT 10",
    ),
    (
        "Q4 order priority",
        "SELECT o_orderpriority, count(*) AS n FROM tpch.orders \
         WHERE o_orderdate >= DATE '1993-07-01' AND o_orderdate < DATE '1993-10-01' \
         AND EXISTS (SELECT 1 FROM tpch.lineitem WHERE l_orderkey = o_orderkey \
         AND l_shipmode = 'AIR') \
         GROUP BY o_orderpriority ORDER BY o_orderpriority",
    ),
    (
        "Q6 revenue forecast",
        "SELECT sum(l_extendedprice * l_discount) AS revenue FROM tpch.lineitem \
         WHERE l_shipdate >= DATE '1994-01-01' AND l_shipdate < DATE '1995-01-01' \
         AND l_discount BETWEEN 0.05 AND 0.07 AND l_quantity < 24",
    ),
    (
        "Q10 returned items",
        "SELECT c_custkey, c_name, sum(l_extendedprice * (1 - l_discount)) AS revenue, \
         c_acctbal FROM tpch.customer JOIN tpch.orders ON c_custkey = o_custkey \
         JOIN tpch.lineitem ON l_orderkey = o_orderkey \
         WHERE o_orderdate >= DATE '1993-10-01' AND o_orderdate < DATE '1994-01-01' \
         AND l_returnflag = 'R' \
         GROUP BY c_custkey, c_name, c_acctbal ORDER BY revenue DESC, c_custkey LIMIT 20",
    ),
    (
        "Q12 ship modes",
        "SELECT l_shipmode, \
         sum(CASE WHEN o_orderpriority IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS high, \
         sum(CASE WHEN o_orderpriority NOT IN ('1-URGENT', '2-HIGH') THEN 1 ELSE 0 END) AS low \
         FROM tpch.orders JOIN tpch.lineitem ON o_orderkey = l_orderkey \
         WHERE l_shipmode IN ('MAIL', 'SHIP') AND l_shipdate >= DATE '1994-01-01' \
         AND l_shipdate < DATE '1995-01-01' GROUP BY l_shipmode ORDER BY l_shipmode",
    ),
    (
        "Q18 large orders",
        "SELECT o_orderkey, o_totalprice, sum(l_quantity) AS qty FROM tpch.orders \
         JOIN tpch.lineitem ON o_orderkey = l_orderkey \
         GROUP BY o_orderkey, o_totalprice HAVING sum(l_quantity) > 150 \
         ORDER BY o_totalprice DESC, o_orderkey LIMIT 100",
    ),
];

/// Rows per file and files of the many-file table.
const MANY_FILES: usize = 10_000;
const MANY_ROWS_PER_FILE: usize = 50;
/// Files per commit while building it.
const MANY_FILES_PER_COMMIT: usize = 1_000;
/// The selective query on the many-file table (one file's id range).
const SELECTIVE: &str =
    "SELECT count(*) AS n, sum(v) AS s FROM tpch.many WHERE id BETWEEN 123450 AND 123460";

fn lineitem_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("l_orderkey", DataType::Int64, false),
        Field::new("l_partkey", DataType::Int64, false),
        Field::new("l_suppkey", DataType::Int64, false),
        Field::new("l_quantity", DataType::Float64, false),
        Field::new("l_extendedprice", DataType::Float64, false),
        Field::new("l_discount", DataType::Float64, false),
        Field::new("l_tax", DataType::Float64, false),
        Field::new("l_returnflag", DataType::Utf8, false),
        Field::new("l_linestatus", DataType::Utf8, false),
        Field::new("l_shipdate", DataType::Date32, false),
        Field::new("l_shipmode", DataType::Utf8, false),
    ]))
}

fn orders_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("o_orderkey", DataType::Int64, false),
        Field::new("o_custkey", DataType::Int64, false),
        Field::new("o_orderstatus", DataType::Utf8, false),
        Field::new("o_totalprice", DataType::Float64, false),
        Field::new("o_orderdate", DataType::Date32, false),
        Field::new("o_orderpriority", DataType::Utf8, false),
    ]))
}

fn customer_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("c_custkey", DataType::Int64, false),
        Field::new("c_name", DataType::Utf8, false),
        Field::new("c_mktsegment", DataType::Utf8, false),
        Field::new("c_nationkey", DataType::Int64, false),
        Field::new("c_acctbal", DataType::Float64, false),
    ]))
}

fn many_schema() -> SchemaRef {
    Arc::new(ArrowSchema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("v", DataType::Float64, false),
    ]))
}

/// 1992-01-01 in days since the epoch.
const DAY0: i64 = 8035;

fn pick<'a>(rng: &mut Rng, xs: &[&'a str]) -> &'a str {
    xs[rng.range(0, xs.len() as i64) as usize]
}

fn date(rng: &mut Rng, span: i64) -> i32 {
    i32::try_from(DAY0 + rng.range(0, span)).unwrap_or(i32::MAX)
}

fn lineitem(rng: &mut Rng, rows: usize, orders: usize) -> Result<RecordBatch> {
    let n = rows;
    let mut ok = Vec::with_capacity(n);
    let mut pk = Vec::with_capacity(n);
    let mut sk = Vec::with_capacity(n);
    let mut qty = Vec::with_capacity(n);
    let mut price = Vec::with_capacity(n);
    let mut disc = Vec::with_capacity(n);
    let mut tax = Vec::with_capacity(n);
    let mut rf = Vec::with_capacity(n);
    let mut ls = Vec::with_capacity(n);
    let mut ship = Vec::with_capacity(n);
    let mut mode = Vec::with_capacity(n);
    for _ in 0..n {
        ok.push(rng.range(1, orders as i64 + 1));
        pk.push(rng.range(1, 200_001));
        sk.push(rng.range(1, 10_001));
        let q = rng.range(1, 51) as f64;
        qty.push(q);
        price.push(q * rng.range(900, 2_000) as f64);
        disc.push(rng.range(0, 11) as f64 / 100.0);
        tax.push(rng.range(0, 9) as f64 / 100.0);
        rf.push(pick(rng, &["R", "A", "N"]));
        ls.push(pick(rng, &["O", "F"]));
        ship.push(date(rng, 2_500));
        mode.push(pick(
            rng,
            &["AIR", "MAIL", "SHIP", "RAIL", "TRUCK", "FOB", "REG AIR"],
        ));
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ok)),
        Arc::new(Int64Array::from(pk)),
        Arc::new(Int64Array::from(sk)),
        Arc::new(Float64Array::from(qty)),
        Arc::new(Float64Array::from(price)),
        Arc::new(Float64Array::from(disc)),
        Arc::new(Float64Array::from(tax)),
        Arc::new(StringArray::from(rf)),
        Arc::new(StringArray::from(ls)),
        Arc::new(Date32Array::from(ship)),
        Arc::new(StringArray::from(mode)),
    ];
    Ok(RecordBatch::try_new(lineitem_schema(), cols)?)
}

fn orders(rng: &mut Rng, n: usize, customers: usize) -> Result<RecordBatch> {
    let prio = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(1..=n as i64)),
        Arc::new(Int64Array::from_iter_values(
            (0..n).map(|_| rng.range(1, customers as i64 + 1)),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|_| pick(rng, &["F", "O", "P"])),
        )),
        Arc::new(Float64Array::from_iter_values(
            (0..n).map(|_| rng.range(1_000, 500_000) as f64 / 1.0),
        )),
        Arc::new(Date32Array::from_iter_values(
            (0..n).map(|_| date(rng, 2_400)),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|_| pick(rng, &prio)),
        )),
    ];
    Ok(RecordBatch::try_new(orders_schema(), cols)?)
}

fn customer(rng: &mut Rng, n: usize) -> Result<RecordBatch> {
    let seg = [
        "AUTOMOBILE",
        "BUILDING",
        "FURNITURE",
        "HOUSEHOLD",
        "MACHINERY",
    ];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(1..=n as i64)),
        Arc::new(StringArray::from_iter_values(
            (1..=n).map(|i| format!("Customer#{i:09}")),
        )),
        Arc::new(StringArray::from_iter_values(
            (0..n).map(|_| pick(rng, &seg)),
        )),
        Arc::new(Int64Array::from_iter_values(
            (0..n).map(|_| rng.range(0, 25)),
        )),
        Arc::new(Float64Array::from_iter_values(
            (0..n).map(|_| rng.range(-99_999, 999_999) as f64 / 100.0),
        )),
    ];
    Ok(RecordBatch::try_new(customer_schema(), cols)?)
}

/// Creates `tpch.<name>` and appends `batches`, one append (one data file) each; the
/// table's data folder.
async fn load(
    floe: &Floe,
    name: &str,
    schema: &SchemaRef,
    batches: Vec<RecordBatch>,
) -> Result<String> {
    let mut table = floe.create_table(&format!("tpch.{name}"), schema).await?;
    for b in batches {
        table = table.append(vec![b]).await?;
    }
    Ok(data_dir(table.metadata().location()))
}

/// The many-file table: file `i` holds ids `i*ROWS .. (i+1)*ROWS`, committed
/// `MANY_FILES_PER_COMMIT` files at a time.
async fn load_many(floe: &Floe, files: usize) -> Result<String> {
    let schema = many_schema();
    let mut table = floe.create_table("tpch.many", &schema).await?;
    let mut next = 0usize;
    while next < files {
        let end = (next + MANY_FILES_PER_COMMIT).min(files);
        let mut tx = table.new_transaction();
        let mut data_files = Vec::new();
        for f in next..end {
            let lo = (f * MANY_ROWS_PER_FILE) as i64;
            let ids: Vec<i64> = (lo..lo + MANY_ROWS_PER_FILE as i64).collect();
            let vs: Vec<f64> = ids.iter().map(|i| (*i % 97) as f64).collect();
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)),
                    Arc::new(Float64Array::from(vs)),
                ],
            )?;
            data_files.extend(tx.write_batches(&[b]).await?);
        }
        tx.fast_append(data_files);
        table = tx.commit().await?;
        next = end;
    }
    Ok(data_dir(table.metadata().location()))
}

/// The baseline: each table's data folder as a listing table named like the table.
async fn baseline(config: SessionConfig, tables: &[(&str, &str)]) -> Result<SessionContext> {
    let ctx = SessionContext::new_with_config(config);
    for (name, dir) in tables {
        let opts =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        ctx.register_listing_table(*name, format!("file://{dir}"), opts, None, None)
            .await?;
    }
    Ok(ctx)
}

fn baseline_sql(sql: &str) -> String {
    sql.replace("tpch.", "")
}

/// The files the scans of `plan` read: (Floe's, the listing tables').
fn files_read(plan: &Arc<dyn ExecutionPlan>) -> (usize, usize) {
    let mut floe = 0;
    let mut listing = std::collections::HashSet::new();
    let mut stack = vec![Arc::clone(plan)];
    while let Some(p) = stack.pop() {
        if let Some(scan) = p.downcast_ref::<FloeScanExec>() {
            floe += scan.file_count();
        }
        if let Some(ds) = p.downcast_ref::<DataSourceExec>()
            && let Some(cfg) = ds.data_source().downcast_ref::<FileScanConfig>()
        {
            // Large files may be split into byte ranges: count each file once.
            listing.extend(
                cfg.file_groups
                    .iter()
                    .flat_map(|g| g.iter().map(|f| f.object_meta.location.to_string())),
            );
        }
        stack.extend(p.children().into_iter().cloned());
    }
    (floe, listing.len())
}

/// Runs a query on one side and returns its rows as text, floating-point cells to 9
/// significant digits (sums over differently split files add in a different order),
/// without the table's border lines (their width follows the unrounded cells).
async fn collect_text(ctx: &SessionContext, sql: &str) -> Result<String> {
    let batches = ctx.sql(sql).await?.collect().await?;
    let text = arrow::util::pretty::pretty_format_batches(&batches)?.to_string();
    let normal: Vec<String> = text
        .lines()
        .filter(|line| !line.starts_with('+'))
        .map(|line| {
            line.split('|')
                .map(|cell| {
                    let t = cell.trim();
                    match t.parse::<f64>() {
                        Ok(x) if t.contains('.') || t.contains('e') => format!("{x:.8e}"),
                        _ => t.to_owned(),
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    Ok(normal.join("\n"))
}

/// Wall time of planning `sql` (SQL text to physical plan), `n` times; the median.
fn plan_secs(rt: &Runtime, ctx: &SessionContext, sql: &str, n: usize) -> Result<f64> {
    let mut xs = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        rt.block_on(async { ctx.sql(sql).await?.create_physical_plan().await })?;
        xs.push(start.elapsed().as_secs_f64());
    }
    Ok(median(&xs))
}

/// Times one query on a session: one run, whole-process wall and CPU.
fn time_query(rt: &Runtime, ctx: &SessionContext, sql: &str) -> Result<Sample> {
    let (sample, _rows) = time_process(
        1,
        || Ok(()),
        |()| {
            rt.block_on(async {
                let batches = ctx.sql(sql).await?.collect().await?;
                Ok::<usize, datafusion::error::DataFusionError>(
                    batches.iter().map(RecordBatch::num_rows).sum(),
                )
            })
            .map_err(Into::into)
        },
    )?;
    Ok(sample)
}

fn ms(x: f64) -> String {
    format!("{:.1}", x * 1000.0)
}

fn show_ms(xs: &[f64]) -> String {
    let (lo, hi) = spread(xs);
    format!("{} ({}–{})", ms(median(xs)), ms(lo), ms(hi))
}

/// The suite's `lineitem`, `orders` and `customer` tables (quick size) under `dir`,
/// then query `name` (a prefix of a query name, e.g. `Q1`) `iterations` times on the
/// Floe session (`side` = `floe`) or on the listing tables (`listing`): the mean wall
/// and whole-process on-CPU seconds per query (for profilers:
/// `bench/examples/sql_loop.rs`).
pub fn query_loop(dir: &Path, side: &str, name: &str, iterations: usize) -> Result<(f64, f64)> {
    let (_, sql) = QUERIES
        .iter()
        .find(|(n, _)| n.starts_with(name))
        .ok_or_else(|| format!("no query named {name}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = dir.canonicalize()?;
    let mut rng = Rng::new(0x7c9);
    let (rows, orders_n) = (1_000_000, 250_000);
    let li = (0..8)
        .map(|_| lineitem(&mut rng, rows / 8, orders_n))
        .collect::<Result<Vec<_>>>()?;
    let ord = orders(&mut rng, orders_n, orders_n / 10)?;
    let cust = customer(&mut rng, orders_n / 10)?;
    let ctx = rt.block_on(async {
        let floe = Floe::embedded(
            &format!("sqlite://{}", dir.join("catalog.db").display()),
            &dir.join("warehouse").display().to_string(),
        )
        .await?;
        floe.create_namespace("tpch").await?;
        let dirs = [
            (
                "lineitem",
                load(&floe, "lineitem", &lineitem_schema(), li).await?,
            ),
            (
                "orders",
                load(&floe, "orders", &orders_schema(), vec![ord]).await?,
            ),
            (
                "customer",
                load(&floe, "customer", &customer_schema(), vec![cust]).await?,
            ),
        ];
        let ctx = match side {
            "floe" => floe.sql().await?.context().clone(),
            _ => {
                baseline(
                    SessionConfig::new(),
                    &dirs
                        .iter()
                        .map(|(n, d)| (*n, d.as_str()))
                        .collect::<Vec<_>>(),
                )
                .await?
            }
        };
        Ok::<_, crate::harness::BoxError>(ctx)
    })?;
    let sql = if side == "floe" {
        (*sql).to_string()
    } else {
        baseline_sql(sql)
    };
    time_query(&rt, &ctx, &sql)?;
    let (mut wall, mut cpu) = (0.0, 0.0);
    for _ in 0..iterations {
        let s = time_query(&rt, &ctx, &sql)?;
        wall += s.wall;
        cpu += s.cpu;
    }
    let n = iterations.max(1) as f64;
    Ok((wall / n, cpu / n))
}

/// Runs the suite and writes `<date>-sql.md` into `opts.out_dir`.
pub fn run(opts: &Options) -> Result<PathBuf> {
    let machine = Machine::detect();
    let rounds = if opts.quick { 5 } else { 9 };
    let lineitem_rows = if opts.quick { 1_000_000 } else { 2_000_000 };
    let order_rows = lineitem_rows / 4;
    let customer_rows = order_rows / 10;
    let root = crate::workdir::fresh(&opts.work_dir, "sql-run")?;
    std::fs::create_dir_all(&opts.out_dir)?;
    let root = root.canonicalize()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    eprintln!(
        "generating lineitem {} rows, orders {}, customer {}",
        thousands(lineitem_rows as u64),
        thousands(order_rows as u64),
        thousands(customer_rows as u64)
    );
    let build = Instant::now();
    let mut rng = Rng::new(0x7c9);
    let chunks = 8;
    let mut li = Vec::with_capacity(chunks);
    for _ in 0..chunks {
        li.push(lineitem(&mut rng, lineitem_rows / chunks, order_rows)?);
    }
    let ord = orders(&mut rng, order_rows, customer_rows)?;
    let cust = customer(&mut rng, customer_rows)?;
    let (floe, dirs) = rt.block_on(async {
        let floe = Floe::embedded(
            &format!("sqlite://{}", root.join("catalog.db").display()),
            &root.join("warehouse").display().to_string(),
        )
        .await?;
        floe.create_namespace("tpch").await?;
        let mut dirs = Vec::new();
        dirs.push((
            "lineitem",
            load(&floe, "lineitem", &lineitem_schema(), li).await?,
        ));
        dirs.push((
            "orders",
            load(&floe, "orders", &orders_schema(), vec![ord]).await?,
        ));
        dirs.push((
            "customer",
            load(&floe, "customer", &customer_schema(), vec![cust]).await?,
        ));
        eprintln!("writing the {MANY_FILES}-file table");
        dirs.push(("many", load_many(&floe, MANY_FILES).await?));
        Ok::<_, crate::harness::BoxError>((floe, dirs))
    })?;
    let build_secs = build.elapsed().as_secs_f64();
    let data_bytes: u64 = dirs[..3].iter().map(|(_, d)| dir_bytes(Path::new(d))).sum();

    let config = SessionConfig::new();
    let partitions = config.target_partitions();
    let (session, base) = rt.block_on(async {
        let session: FloeSession = floe.sql().await?;
        let base = baseline(
            config.clone(),
            &dirs
                .iter()
                .map(|(n, d)| (*n, d.as_str()))
                .collect::<Vec<_>>(),
        )
        .await?;
        Ok::<_, crate::harness::BoxError>((session, base))
    })?;
    let fctx = session.context().clone();

    // Same answers on both sides, then timings.
    let mut checks = Vec::new();
    for (name, sql) in QUERIES {
        let a = rt.block_on(collect_text(&fctx, sql))?;
        let b = rt.block_on(collect_text(&base, &baseline_sql(sql)))?;
        if a != b {
            return Err(format!(
                "{name}: Floe and the listing table answer differently:\n{a}\n{b}"
            )
            .into());
        }
        checks.push(format!(
            "{name}: identical result ({} lines of output)",
            a.lines().count()
        ));
    }

    let mut results: Vec<(&str, Comparison)> = Vec::new();
    for (name, sql) in QUERIES {
        eprintln!("timing {name}");
        let bsql = baseline_sql(sql);
        let cmp = alternate(
            rounds,
            || time_query(&rt, &fctx, sql),
            || time_query(&rt, &base, &bsql),
        )?;
        results.push((name, cmp));
    }
    let mut planning = Vec::new();
    for (name, sql) in QUERIES {
        // Warm: the timed runs above loaded the tables and cached their manifests.
        let f = plan_secs(&rt, &fctx, sql, 15)?;
        let b = plan_secs(&rt, &base, &baseline_sql(sql), 15)?;
        planning.push((name, f, b));
    }

    // The selective query on the many-file table.
    eprintln!("timing the selective query on {MANY_FILES} files");
    let sel_a = rt.block_on(collect_text(&fctx, SELECTIVE))?;
    let sel_b = rt.block_on(collect_text(&base, &baseline_sql(SELECTIVE)))?;
    if sel_a != sel_b {
        return Err(format!("selective query: answers differ:\n{sel_a}\n{sel_b}").into());
    }
    let floe_plan =
        rt.block_on(async { fctx.sql(SELECTIVE).await?.create_physical_plan().await })?;
    let base_plan = rt.block_on(async {
        base.sql(&baseline_sql(SELECTIVE))
            .await?
            .create_physical_plan()
            .await
    })?;
    let (floe_files, _) = files_read(&floe_plan);
    let (_, base_files) = files_read(&base_plan);
    let sel_bsql = baseline_sql(SELECTIVE);
    let selective = alternate(
        rounds,
        || time_query(&rt, &fctx, SELECTIVE),
        || time_query(&rt, &base, &sel_bsql),
    )?;

    // ---- the report ----
    let date = today();
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# SQL benchmark: Floe tables vs DataFusion listing tables ({date})\n"
    );
    let _ = writeln!(md, "Command: `{}`\n", opts.command);
    let _ = writeln!(
        md,
        "One process, DataFusion 55 in both sessions with the same configuration \
         (target_partitions = {partitions}). Each query runs on the Floe session (tables \
         `tpch.*` of an embedded SQLite catalog through `floe_client::sql`) and on a plain \
         DataFusion session whose listing tables are the same tables' `data/` folders (the \
         same Parquet files), alternately: one untimed warm-up each, then {rounds} rounds. \
         Wall time and whole-process on-CPU time (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`), median \
         (min–max), in ms.\n"
    );
    md.push_str("## Machine\n\n");
    md.push_str(&machine.to_markdown());
    for key in ["FLOE_BENCH_RUSTC", "FLOE_BENCH_COMMIT"] {
        if let Ok(v) = std::env::var(key) {
            let _ = writeln!(md, "- {v}");
        }
    }
    let _ = writeln!(md, "- load average at the end: {}", load_average());
    let _ = writeln!(
        md,
        "\n## Input\n\nGenerated (seeded): lineitem {} rows in {chunks} data files, orders {} \
         rows and customer {} rows in one file each, {:.1} MB of Parquet; a `many` table of \
         {} files of {MANY_ROWS_PER_FILE} rows (file i holds ids i·{MANY_ROWS_PER_FILE} …), \
         committed {} files per snapshot. Built in {build_secs:.1} s.\n",
        thousands(lineitem_rows as u64),
        thousands(order_rows as u64),
        thousands(customer_rows as u64),
        data_bytes as f64 / 1e6,
        thousands(MANY_FILES as u64),
        thousands(MANY_FILES_PER_COMMIT as u64),
    );
    md.push_str("## Queries\n\n");
    md.push_str(
        "| query | Floe wall | listing wall | Floe/listing (wall) | Floe CPU | listing CPU | Floe/listing (CPU) |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut tot = (0.0, 0.0, 0.0, 0.0);
    for (name, c) in &results {
        let (fw, bw, fc, bc) = (
            median(&c.floe),
            median(&c.peer),
            median(&c.floe_cpu),
            median(&c.peer_cpu),
        );
        tot.0 += fw;
        tot.1 += bw;
        tot.2 += fc;
        tot.3 += bc;
        let _ = writeln!(
            md,
            "| {name} | {} | {} | {:.3}× | {} | {} | {:.3}× |",
            show_ms(&c.floe),
            show_ms(&c.peer),
            fw / bw,
            show_ms(&c.floe_cpu),
            show_ms(&c.peer_cpu),
            fc / bc
        );
    }
    let wall_ratio = tot.0 / tot.1;
    let cpu_ratio = tot.2 / tot.3;
    let _ = writeln!(
        md,
        "| **total (sum of medians)** | {} | {} | **{wall_ratio:.3}×** | {} | {} | **{cpu_ratio:.3}×** |",
        ms(tot.0),
        ms(tot.1),
        ms(tot.2),
        ms(tot.3)
    );
    md.push_str("\nRaw per-round wall times (s, in run order):\n\n");
    for (name, c) in &results {
        let raw = |xs: &[f64]| {
            xs.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            md,
            "- {name}: Floe {}; listing {}",
            raw(&c.floe),
            raw(&c.peer)
        );
    }
    md.push_str(
        "\n## Planning (SQL to physical plan, warm table, median of 15)\n\n\
         | query | Floe ms | listing ms | Floe extra ms |\n|---|---:|---:|---:|\n",
    );
    let mut worst_extra = f64::MIN;
    for (name, f, b) in &planning {
        worst_extra = worst_extra.max(f - b);
        let _ = writeln!(
            md,
            "| {name} | {:.2} | {:.2} | {:.2} |",
            f * 1e3,
            b * 1e3,
            (f - b) * 1e3
        );
    }
    let _ = writeln!(
        md,
        "\n## Selective query on the {}-file table\n\n`{SELECTIVE}`\n\n\
         | side | files read | wall ms | CPU ms |\n|---|---:|---:|---:|\n\
         | Floe (manifest bounds prune files) | {} | {} | {} |\n\
         | listing table (opens every footer; row groups pruned) | {} | {} | {} |\n",
        thousands(MANY_FILES as u64),
        thousands(floe_files as u64),
        show_ms(&selective.floe),
        show_ms(&selective.floe_cpu),
        thousands(base_files as u64),
        show_ms(&selective.peer),
        show_ms(&selective.peer_cpu),
    );
    md.push_str("## Targets\n\n");
    let _ = writeln!(
        md,
        "- total query time Floe/listing ≤ 1.05×: wall {wall_ratio:.3}×, on-CPU {cpu_ratio:.3}× — {}",
        if wall_ratio <= 1.05 || cpu_ratio <= 1.05 {
            "met"
        } else {
            "NOT met"
        }
    );
    let _ = writeln!(
        md,
        "- planning overhead < 5 ms per query on a warm table: largest Floe extra {:.2} ms — {}",
        worst_extra * 1e3,
        if worst_extra < 0.005 {
            "met"
        } else {
            "NOT met"
        }
    );
    let _ = writeln!(
        md,
        "- the selective query reads {} of {} files through Floe ({} through the listing table)",
        floe_files,
        thousands(MANY_FILES as u64),
        thousands(base_files as u64)
    );
    md.push_str("\n## Cross-checks\n\n");
    for c in &checks {
        let _ = writeln!(md, "- {c}");
    }
    let _ = writeln!(md, "- selective query: identical result on both sides");
    md.push_str(
        "\n## How the comparison is set up, and what is not equal\n\n\
         - Same Parquet files, same DataFusion version and configuration, same process; the \
         Floe side also loads the table from the SQLite catalog per statement and plans from \
         its manifests (parsed manifests are cached per session), which is the planning \
         overhead measured above.\n\
         - The listing tables get no statistics collection (`collect_statistics` is \
         DataFusion's default); Floe reports row counts from the manifests.\n\
         - Floe groups whole files into partitions; the listing table may split large files \
         into byte ranges (`repartition_file_scans`).\n",
    );
    let path = opts.out_dir.join(format!("{date}-sql.md"));
    std::fs::write(&path, &md)?;
    println!("{md}");
    Ok(path)
}

/// The local data folder of a table location (`file:///x` or `/x`).
fn data_dir(location: &str) -> String {
    let path = location.strip_prefix("file://").unwrap_or(location);
    format!("{}/data/", path.trim_end_matches('/'))
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(std::result::Result::ok)
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}
