//! [`FloeSession`]: SQL over a Floe catalog.
//!
//! A DataFusion [`SessionContext`] whose default catalog `floe` is a
//! [`FloeCatalogProvider`], so `namespace.table` names a Floe table. The session runs
//! most statements through DataFusion and handles the ones that change the catalog or
//! rows itself:
//!
//! - `CREATE TABLE [IF NOT EXISTS] ns.t (col type [NOT NULL], …) [WITH ('key' =
//!   'value', …)] [PARTITION BY (…)] [AS SELECT …]` creates the namespace when missing, then
//!   the table (properties from `WITH`), and writes the query's rows in one append.
//!   Partition fields are columns (identity) or `year(c)`, `month(c)`, `day(c)`,
//!   `hour(c)`, `bucket(n, c)`, `truncate(w, c)`. SQL `TIMESTAMP` columns become
//!   Iceberg `timestamp` (microseconds).
//! - `DROP TABLE [IF EXISTS] ns.t [PURGE]` drops it (with `PURGE` its files too).
//! - `DELETE FROM` and `UPDATE` (see [`super::dml`]).
//! - `INSERT INTO` goes through DataFusion to [`FloeTableProvider`]'s insert hook.
//!
//! Time travel: `SELECT … FROM snapshot('ns.t', <snapshot id>)` and
//! `SELECT … FROM as_of('ns.t', '<timestamp>')` (a timestamp string such as
//! `'2026-01-02 10:00:00'` or RFC 3339, taken as UTC, or milliseconds since the epoch)
//! read the table as of that snapshot (see [`super::time_travel`]).
//!
//! [`FloeTableProvider`]: super::table::FloeTableProvider

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema, TimeUnit};
use datafusion::common::{Result, TableReference};
use datafusion::dataframe::DataFrame;
use datafusion::execution::context::{SessionConfig, SessionContext};
use datafusion::logical_expr::{Expr, LogicalPlan, WriteOp, cast, col};
use datafusion::sql::parser::{DFParserBuilder, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{
    self as ast, CreateTableOptions, ObjectType, SqlOption, Statement,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use floe_catalog::{TableCreation, TableIdent};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::transform::Transform;
use floe_table::arrow_schema::{FieldIds, arrow_to_schema};
use object_store::ObjectStore;

use super::catalog::FloeCatalogProvider;
use super::dml;
use super::error::{plan_err, to_df};
use super::table::FloeTableProvider;
use super::time_travel::{AsOfFunction, SnapshotFunction};
use super::write::append_stream;
use crate::scan::ScanPlanner;

/// The name of the Floe catalog in a session (the default catalog).
pub const CATALOG_NAME: &str = "floe";

/// A SQL session over a Floe catalog (see the module docs).
#[derive(Clone)]
pub struct FloeSession {
    ctx: SessionContext,
    catalog: FloeCatalogProvider,
}

impl std::fmt::Debug for FloeSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloeSession").finish_non_exhaustive()
    }
}

impl FloeSession {
    /// A session over `catalog`, with table files in `store`; `default` is the default
    /// namespace for unqualified table names.
    pub async fn new(
        catalog: Arc<dyn floe_catalog::Catalog>,
        store: Arc<dyn ObjectStore>,
    ) -> Result<Self> {
        Self::with_config(catalog, store, SessionConfig::new()).await
    }

    /// [`FloeSession::new`] with a DataFusion configuration (the default catalog is
    /// set to Floe's).
    pub async fn with_config(
        catalog: Arc<dyn floe_catalog::Catalog>,
        store: Arc<dyn ObjectStore>,
        config: SessionConfig,
    ) -> Result<Self> {
        Self::with_planner(catalog, store, config, ScanPlanner::client_side()).await
    }

    /// [`FloeSession::with_config`] whose table scans are planned by `planner` (on
    /// the server, when it is a REST catalog's and the server offers planning).
    pub async fn with_planner(
        catalog: Arc<dyn floe_catalog::Catalog>,
        store: Arc<dyn ObjectStore>,
        config: SessionConfig,
        planner: ScanPlanner,
    ) -> Result<Self> {
        let provider = FloeCatalogProvider::try_with_planner(catalog, store, planner).await?;
        let config = config
            .with_default_catalog_and_schema(CATALOG_NAME, "default")
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true);
        let ctx = SessionContext::new_with_config(config);
        ctx.register_catalog(CATALOG_NAME, Arc::new(provider.clone()));
        ctx.register_udtf(
            "snapshot",
            Arc::new(SnapshotFunction::new(provider.clone())),
        );
        ctx.register_udtf("as_of", Arc::new(AsOfFunction::new(provider.clone())));
        Ok(Self {
            ctx,
            catalog: provider,
        })
    }

    /// The DataFusion context (register more tables or functions here).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The Floe catalog provider.
    pub fn catalog(&self) -> &FloeCatalogProvider {
        &self.catalog
    }

    /// Splits a script into statements (separated by `;`); a syntax error names where.
    pub fn parse(&self, sql: &str) -> Result<Vec<DFStatement>> {
        let dialect = GenericDialect {};
        let statements = DFParserBuilder::new(sql)
            .with_dialect(&dialect)
            .build()?
            .parse_statements()?;
        Ok(statements.into_iter().collect())
    }

    /// Runs one statement; a script of several is an error (see [`Self::run_script`]).
    pub async fn sql(&self, sql: &str) -> Result<DataFrame> {
        let mut statements = self.parse(sql)?;
        if statements.len() != 1 {
            return Err(plan_err(format!(
                "expected one SQL statement, got {}",
                statements.len()
            )));
        }
        let Some(stmt) = statements.pop() else {
            return Err(plan_err("expected one SQL statement"));
        };
        Box::pin(self.statement(stmt)).await
    }

    /// Runs one statement and collects its rows.
    pub async fn query(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        Box::pin(self.sql(sql)).await?.collect().await
    }

    /// Runs every statement of a script in order, collecting each one's rows; stops at
    /// the first error.
    pub async fn run_script(&self, sql: &str) -> Result<Vec<Vec<RecordBatch>>> {
        let mut out = Vec::new();
        for stmt in self.parse(sql)? {
            out.push(Box::pin(self.statement(stmt)).await?.collect().await?);
        }
        Ok(out)
    }

    /// Runs one parsed statement.
    pub async fn statement(&self, stmt: DFStatement) -> Result<DataFrame> {
        if let DFStatement::Statement(s) = &stmt {
            match s.as_ref() {
                Statement::CreateTable(ct) if self.is_floe(&object_name(&ct.name)) => {
                    return Box::pin(self.create_table(ct.clone())).await;
                }
                Statement::Drop {
                    object_type: ObjectType::Table,
                    if_exists,
                    names,
                    purge,
                    ..
                } => {
                    let refs: Vec<TableReference> = names.iter().map(object_name).collect();
                    if refs.iter().all(|r| self.is_floe(r)) {
                        return self.drop_tables(&refs, *if_exists, *purge).await;
                    }
                }
                _ => {}
            }
        }
        let state = self.ctx.state();
        let plan = state.statement_to_plan(stmt).await?;
        if let LogicalPlan::Dml(d) = &plan
            && matches!(d.op, WriteOp::Delete | WriteOp::Update)
            && let Some(provider) = self.floe_provider(&d.table_name).await?
        {
            let count = dml::run(&self.ctx, &provider, d).await?;
            return self.count_frame(count);
        }
        self.ctx.execute_logical_plan(plan).await
    }

    /// Whether a table reference names a table of the Floe catalog.
    fn is_floe(&self, name: &TableReference) -> bool {
        let state = self.ctx.state();
        let opts = &state.config().options().catalog;
        name.clone()
            .resolve(&opts.default_catalog, &opts.default_schema)
            .catalog
            .as_ref()
            == CATALOG_NAME
    }

    /// The Floe identifier of a table reference.
    fn ident(&self, name: &TableReference) -> Result<TableIdent> {
        let state = self.ctx.state();
        let opts = &state.config().options().catalog;
        let r = name
            .clone()
            .resolve(&opts.default_catalog, &opts.default_schema);
        FloeCatalogProvider::ident(&r.schema, &r.table)
    }

    async fn floe_provider(&self, name: &TableReference) -> Result<Option<FloeTableProvider>> {
        if !self.is_floe(name) {
            return Ok(None);
        }
        let ident = self.ident(name)?;
        let table = self.catalog.load_existing(&ident).await?;
        Ok(Some(self.catalog.provider(table)?))
    }

    fn count_frame(&self, count: u64) -> Result<DataFrame> {
        let schema = Arc::new(ArrowSchema::new(vec![Field::new(
            "count",
            DataType::UInt64,
            false,
        )]));
        let batch = RecordBatch::try_new(schema, vec![Arc::new(UInt64Array::from(vec![count]))])?;
        self.ctx.read_batch(batch)
    }

    async fn drop_tables(
        &self,
        names: &[TableReference],
        if_exists: bool,
        purge: bool,
    ) -> Result<DataFrame> {
        let mut dropped = 0u64;
        for name in names {
            let ident = self.ident(name)?;
            match self.catalog.catalog().drop_table(&ident, purge).await {
                Ok(()) => dropped += 1,
                Err(e)
                    if if_exists
                        && matches!(
                            e.kind(),
                            floe_spec::ErrorKind::NoSuchTable
                                | floe_spec::ErrorKind::NoSuchNamespace
                        ) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        floe_spec::ErrorKind::NoSuchTable | floe_spec::ErrorKind::NoSuchNamespace
                    ) =>
                {
                    return Err(plan_err(format!("table '{ident}' not found")));
                }
                Err(e) => return Err(to_df(e)),
            }
            self.catalog.note_dropped(&ident);
        }
        self.count_frame(dropped)
    }

    async fn create_table(&self, mut ct: ast::CreateTable) -> Result<DataFrame> {
        let name = object_name(&ct.name);
        let ident = self.ident(&name)?;
        let partition_by = ct.partition_by.take();
        let properties = take_properties(&mut ct.table_options)?;
        if ct.or_replace {
            return Err(plan_err(
                "CREATE OR REPLACE TABLE is not supported for Floe tables: DROP TABLE first",
            ));
        }
        let if_not_exists = ct.if_not_exists;
        // DataFusion plans the columns (types, NOT NULL) and the query.
        let plan = self
            .ctx
            .state()
            .statement_to_plan(DFStatement::Statement(Box::new(Statement::CreateTable(ct))))
            .await?;
        let LogicalPlan::Ddl(datafusion::logical_expr::DdlStatement::CreateMemoryTable(create)) =
            plan
        else {
            return Err(plan_err(format!(
                "CREATE TABLE {ident}: this form of CREATE TABLE is not supported"
            )));
        };
        if self.catalog.load(&ident).await?.is_some() {
            if if_not_exists {
                return self.count_frame(0);
            }
            return Err(plan_err(format!("table '{ident}' already exists")));
        }
        let arrow = iceberg_arrow_schema(create.input.schema().as_arrow());
        let schema = arrow_to_schema(&arrow, FieldIds::AssignFresh).map_err(to_df)?;
        let spec = match partition_by {
            Some(expr) => Some(partition_spec(&expr, &schema)?),
            None => None,
        };
        let mut creation = TableCreation::new(ident.name.clone(), schema);
        creation.partition_spec = spec;
        creation.properties = properties;
        let fc = self.catalog.catalog();
        if !fc.namespace_exists(&ident.namespace).await.map_err(to_df)? {
            match fc.create_namespace(&ident.namespace, HashMap::new()).await {
                Ok(_) => {}
                Err(e) if e.kind() == floe_spec::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(to_df(e)),
            }
        }
        fc.create_table(&ident.namespace, creation)
            .await
            .map_err(to_df)?;
        self.catalog.note_created(&ident);
        let is_query = !matches!(create.input.as_ref(), LogicalPlan::EmptyRelation(_));
        if !is_query {
            return self.count_frame(0);
        }
        // CREATE TABLE AS SELECT: the query's rows, cast to the table's types.
        let table = self.catalog.load_existing(&ident).await?;
        let input = self
            .ctx
            .execute_logical_plan(create.input.as_ref().clone())
            .await?;
        let exprs: Vec<Expr> = arrow
            .fields()
            .iter()
            .zip(input.schema().columns())
            .map(|(f, c)| cast(col(c), f.data_type().clone()).alias(f.name()))
            .collect();
        let stream = input.select(exprs)?.execute_stream().await;
        let result = match stream {
            Ok(s) => append_stream(&table, s, false).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(outcome) => self.count_frame(outcome.rows),
            Err(e) => {
                // Nothing of a failed CREATE TABLE AS SELECT is kept.
                fc.drop_table(&ident, true).await.ok();
                self.catalog.note_dropped(&ident);
                Err(e)
            }
        }
    }
}

/// A SQL object name as a DataFusion table reference (identifiers as written; quoted
/// ones keep their case).
fn object_name(name: &ast::ObjectName) -> TableReference {
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p.as_ident() {
            Some(i) if i.quote_style.is_some() => i.value.clone(),
            Some(i) => i.value.to_lowercase(),
            None => p.to_string(),
        })
        .collect();
    match parts.as_slice() {
        [t] => TableReference::bare(t.as_str()),
        [s, t] => TableReference::partial(s.as_str(), t.as_str()),
        [c, s, t] => TableReference::full(c.as_str(), s.as_str(), t.as_str()),
        _ => TableReference::bare(parts.join(".")),
    }
}

/// `WITH ('k' = 'v', …)` table properties; the options are removed from the statement.
fn take_properties(options: &mut CreateTableOptions) -> Result<HashMap<String, String>> {
    let taken = std::mem::take(options);
    let opts = match taken {
        CreateTableOptions::None => return Ok(HashMap::new()),
        CreateTableOptions::With(o)
        | CreateTableOptions::Options(o)
        | CreateTableOptions::TableProperties(o)
        | CreateTableOptions::Plain(o) => o,
    };
    let mut out = HashMap::new();
    for o in opts {
        let SqlOption::KeyValue { key, value } = o else {
            return Err(plan_err(format!(
                "CREATE TABLE option `{o}`: expected 'key' = 'value'"
            )));
        };
        let value = match value {
            ast::Expr::Value(v) => match v.value {
                ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s,
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        out.insert(key.value, value);
    }
    Ok(out)
}

/// The Arrow schema a new table gets: DataFusion's SQL types mapped to ones Iceberg
/// has (timestamps in microseconds, strings and binaries plain, small integers `int`).
fn iceberg_arrow_schema(schema: &ArrowSchema) -> ArrowSchema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let ty = match f.data_type() {
                DataType::Timestamp(_, tz) => {
                    DataType::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "+00:00".into()))
                }
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
                DataType::Int8 | DataType::Int16 | DataType::UInt8 | DataType::UInt16 => {
                    DataType::Int32
                }
                DataType::UInt32 => DataType::Int64,
                DataType::Float16 => DataType::Float32,
                DataType::Null => DataType::Utf8,
                other => other.clone(),
            };
            Field::new(f.name(), ty, f.is_nullable())
        })
        .collect();
    ArrowSchema::new(fields)
}

/// `PARTITION BY (a, day(ts), bucket(16, id))` as a partition spec over `schema`.
fn partition_spec(
    expr: &ast::Expr,
    schema: &floe_spec::schema::Schema,
) -> Result<UnboundPartitionSpec> {
    let items: Vec<&ast::Expr> = match expr {
        ast::Expr::Tuple(items) => items.iter().collect(),
        ast::Expr::Nested(inner) => vec![inner.as_ref()],
        other => vec![other],
    };
    let mut fields = Vec::with_capacity(items.len());
    for item in items {
        let (column, transform) = partition_item(item)?;
        let field = schema
            .field_by_name(&column)
            .or_else(|| schema.field_by_name_case_insensitive(&column))
            .ok_or_else(|| {
                plan_err(format!(
                    "PARTITION BY {item}: the table has no column `{column}`"
                ))
            })?;
        let name = match transform {
            Transform::Identity => field.name.clone(),
            Transform::Bucket(_) => format!("{}_bucket", field.name),
            Transform::Truncate(_) => format!("{}_trunc", field.name),
            Transform::Year => format!("{}_year", field.name),
            Transform::Month => format!("{}_month", field.name),
            Transform::Day => format!("{}_day", field.name),
            Transform::Hour => format!("{}_hour", field.name),
            _ => format!("{}_{transform}", field.name),
        };
        fields.push(UnboundPartitionField {
            source_id: field.id,
            field_id: None,
            name,
            transform,
        });
    }
    Ok(UnboundPartitionSpec {
        spec_id: None,
        fields,
    })
}

/// One `PARTITION BY` item: a column or `transform([n,] column)`.
fn partition_item(item: &ast::Expr) -> Result<(String, Transform)> {
    let bad = || {
        plan_err(format!(
            "PARTITION BY {item}: expected a column or year(c), month(c), day(c), hour(c), \
             bucket(n, c), truncate(w, c)"
        ))
    };
    match item {
        ast::Expr::Identifier(i) => Ok((i.value.clone(), Transform::Identity)),
        ast::Expr::Function(f) => {
            let name = f.name.to_string().to_lowercase();
            let ast::FunctionArguments::List(list) = &f.args else {
                return Err(bad());
            };
            let args: Vec<&ast::Expr> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
                    _ => None,
                })
                .collect();
            let column = |e: &ast::Expr| match e {
                ast::Expr::Identifier(i) => Ok(i.value.clone()),
                _ => Err(bad()),
            };
            let number = |e: &ast::Expr| match e {
                ast::Expr::Value(v) => match &v.value {
                    ast::Value::Number(n, _) => n.parse::<u32>().map_err(|_| bad()),
                    _ => Err(bad()),
                },
                _ => Err(bad()),
            };
            match (name.as_str(), args.as_slice()) {
                ("year" | "years", [c]) => Ok((column(c)?, Transform::Year)),
                ("month" | "months", [c]) => Ok((column(c)?, Transform::Month)),
                ("day" | "days", [c]) => Ok((column(c)?, Transform::Day)),
                ("hour" | "hours", [c]) => Ok((column(c)?, Transform::Hour)),
                ("identity", [c]) => Ok((column(c)?, Transform::Identity)),
                ("bucket", [n, c]) => Ok((column(c)?, Transform::Bucket(number(n)?))),
                ("truncate", [w, c]) => Ok((column(c)?, Transform::Truncate(number(w)?))),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}
