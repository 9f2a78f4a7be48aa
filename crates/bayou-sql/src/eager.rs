//! Eager aggregation: a query that joins a large table to small ones and groups by the small
//! ones' columns aggregates the large one first, by its join keys, then joins the (few) groups.
//!
//! `SELECT z.Zone, COUNT(*), AVG(t.miles) FROM trips t JOIN zones z ON t.loc = z.id GROUP BY
//! z.Zone` becomes: group `trips` by `loc` (count, sum and count of `miles`), join those 265
//! rows to `zones`, group by `Zone` summing the partial figures. The join and the final
//! group-by then see a few hundred rows instead of millions, and the big group-by runs on
//! integer keys instead of strings. Inner joins only; `COUNT`, `SUM`, `MIN`, `MAX` and `AVG`
//! of floats (decimal averages round differently in two steps, so they are left alone).
//!
//! Trade-off: the rewrite pays a hash aggregation over the large input, a win only when its
//! keys have few distinct values. Without distinct counts, the rule bounds them by the rows of
//! the tables those keys join (a dimension of 265 zones admits at most 265 matching keys) and
//! applies only when that bound is at most a million groups and a quarter of the input's rows,
//! and only when those tables are not filtered (a filtered one makes the join itself drop most
//! of the input, cheaper than grouping it).

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{Column, Result};
use datafusion::datasource::source_as_provider;
use datafusion::functions::core::expr_fn::coalesce;
use datafusion::functions_aggregate::average::Avg;
use datafusion::functions_aggregate::count::Count;
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::functions_aggregate::min_max::{Max, Min};
use datafusion::functions_aggregate::sum::Sum;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::{
    Aggregate, Expr, ExprSchemable, Join, JoinType, LogicalPlan, Projection, cast, lit,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

/// At most this many groups before the join (bounded by the joined tables' rows).
const MAX_GROUPS: usize = 1_000_000;
/// The input must have at least this many rows per group for the rewrite to pay.
const MIN_ROWS_PER_GROUP: usize = 4;
/// Prefix of the partial aggregates' column names.
const PREFIX: &str = "__bayou_eager_";

/// The optimizer rule; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct EagerAggregation;

impl OptimizerRule for EagerAggregation {
    fn name(&self) -> &str {
        "bayou_eager_aggregation"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::TopDown)
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        let LogicalPlan::Aggregate(aggregate) = &plan else {
            return Ok(Transformed::no(plan));
        };
        // The rewrite only ever saves time: where it cannot be built, the query runs as
        // written rather than failing (DataFusion fails a query on a rule's error).
        match rewrite(aggregate) {
            Ok(Some(rewritten)) => Ok(Transformed::yes(rewritten)),
            Ok(None) | Err(_) => Ok(Transformed::no(plan)),
        }
    }
}

/// One aggregate of the query, as the rule splits it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

/// An aggregate function call the rule can split, with its kind.
fn kind_of(expr: &Expr) -> Option<(Kind, &AggregateFunction)> {
    let Expr::AggregateFunction(call) = expr else {
        return None;
    };
    let p = &call.params;
    if p.distinct || p.filter.is_some() || !p.order_by.is_empty() || p.null_treatment.is_some() {
        return None;
    }
    let any = call.func.inner().as_any();
    let kind = if any.is::<Count>() {
        Kind::Count
    } else if any.is::<Sum>() && p.args.len() == 1 {
        Kind::Sum
    } else if any.is::<Min>() && p.args.len() == 1 {
        Kind::Min
    } else if any.is::<Max>() && p.args.len() == 1 {
        Kind::Max
    } else if any.is::<Avg>() && p.args.len() == 1 {
        Kind::Avg
    } else {
        return None;
    };
    Some((kind, call))
}

/// A step from the aggregate down to the input it pushes into (borrowed: most plans the rule
/// looks at it leaves alone).
enum Step<'a> {
    /// A projection of plain columns.
    Projection(&'a Projection),
    /// An inner equi-join; `left` says which side leads on down.
    Join { join: &'a Join, left: bool },
}

fn rewrite(aggregate: &Aggregate) -> Result<Option<LogicalPlan>> {
    if matches!(aggregate.group_expr.as_slice(), [Expr::GroupingSet(_)]) {
        return Ok(None);
    }
    let Some(calls) = aggregate
        .aggr_expr
        .iter()
        .map(kind_of)
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    let mut needed: Vec<&Column> = vec![];
    for (_, call) in &calls {
        for arg in &call.params.args {
            needed.extend(arg.column_refs());
        }
    }
    // Nothing to split, or figures this rule already split (a second optimizer pass).
    if needed.is_empty() || needed.iter().any(|c| c.name.starts_with(PREFIX)) {
        return Ok(None);
    }
    let (steps, input) = descend(&aggregate.input, &needed);
    if matches!(input, LogicalPlan::Aggregate(_))
        || !steps.iter().any(|s| matches!(s, Step::Join { .. }))
    {
        return Ok(None);
    }
    let schema = input.schema();
    let mine = |c: &Column| schema.has_column(c);
    if aggregate
        .group_expr
        .iter()
        .any(|g| g.column_refs().into_iter().any(mine))
    {
        return Ok(None);
    }
    for (kind, call) in &calls {
        if *kind == Kind::Avg && call.params.args[0].get_type(schema)? != DataType::Float64 {
            return Ok(None);
        }
    }
    // The input's columns the joins above use: they become its group keys.
    let mut keys: Vec<Column> = vec![];
    let mut groups: usize = 1;
    for step in &steps {
        let Step::Join { join, left } = step else {
            continue;
        };
        let mut joined = false;
        for (l, r) in &join.on {
            for c in (if *left { l } else { r }).column_refs() {
                if mine(c) {
                    joined = true;
                    if !keys.contains(c) {
                        keys.push(c.clone());
                    }
                }
            }
        }
        let other = if *left { &join.right } else { &join.left };
        // Any filtered table on the way up counts, joined to the input or not (TPC-H q11
        // filters the nation its suppliers join).
        if filtered(other) {
            return Ok(None);
        }
        if joined {
            match rows(other) {
                Some(n) => groups = groups.saturating_mul(n.max(1)),
                None => return Ok(None),
            }
        }
    }
    let pays = rows(input).is_some_and(|n| groups.saturating_mul(MIN_ROWS_PER_GROUP) <= n);
    if keys.is_empty() || groups > MAX_GROUPS || !pays {
        return Ok(None);
    }
    build(aggregate, &calls, steps, input, keys).map(Some)
}

/// Walks down from `plan` through plain projections and inner equi-joins, always to the side
/// holding every column of `needed`, and returns the steps and the input where it stopped.
fn descend<'a>(mut plan: &'a LogicalPlan, needed: &[&Column]) -> (Vec<Step<'a>>, &'a LogicalPlan) {
    let mut steps = vec![];
    loop {
        match plan {
            LogicalPlan::Projection(p) if p.expr.iter().all(|e| matches!(e, Expr::Column(_))) => {
                steps.push(Step::Projection(p));
                plan = &p.input;
            }
            LogicalPlan::Join(j)
                if j.join_type == JoinType::Inner && j.filter.is_none() && !j.null_aware =>
            {
                let holds = |side: &LogicalPlan| needed.iter().all(|c| side.schema().has_column(c));
                let left = if holds(&j.left) {
                    true
                } else if holds(&j.right) {
                    false
                } else {
                    return (steps, plan);
                };
                steps.push(Step::Join { join: j, left });
                plan = if left { &j.left } else { &j.right };
            }
            _ => return (steps, plan),
        }
    }
}

/// Whether `plan` filters rows: a join to it then drops most of the input on its own, for less
/// than a group-by would cost (TPC-H q11: 800k rows to 32k).
fn filtered(plan: &LogicalPlan) -> bool {
    match plan {
        LogicalPlan::Filter(_) => true,
        LogicalPlan::TableScan(scan) => !scan.filters.is_empty(),
        other => other.inputs().into_iter().any(filtered),
    }
}

/// An upper bound on the rows of `plan`, when its tables report their row counts.
fn rows(plan: &LogicalPlan) -> Option<usize> {
    match plan {
        LogicalPlan::TableScan(scan) => {
            let stats = source_as_provider(&scan.source).ok()?.statistics()?;
            let n = *stats.num_rows.get_value()?;
            Some(scan.fetch.map_or(n, |f| f.min(n)))
        }
        LogicalPlan::Filter(f) => rows(&f.input),
        LogicalPlan::Projection(p) => rows(&p.input),
        LogicalPlan::SubqueryAlias(a) => rows(&a.input),
        LogicalPlan::Sort(s) => rows(&s.input),
        LogicalPlan::Aggregate(a) => rows(&a.input),
        LogicalPlan::Join(j) => rows(&j.left)?.checked_mul(rows(&j.right)?),
        _ => None,
    }
}

fn partial_name(i: usize, part: &str) -> String {
    format!("{PREFIX}{i}{part}")
}

fn partial(i: usize, part: &str) -> Expr {
    Expr::Column(Column::new_unqualified(partial_name(i, part)))
}

/// The plan with `input` grouped by `keys` under the joins of `steps`, and the aggregate
/// combining the partial figures above them, its output named and typed as `aggregate`'s.
fn build(
    aggregate: &Aggregate,
    calls: &[(Kind, &AggregateFunction)],
    steps: Vec<Step<'_>>,
    input: &LogicalPlan,
    keys: Vec<Column>,
) -> Result<LogicalPlan> {
    let mut partials = vec![];
    let mut finals = vec![];
    for (i, (kind, call)) in calls.iter().enumerate() {
        let whole = Expr::AggregateFunction((*call).clone());
        match kind {
            Kind::Count | Kind::Sum => {
                partials.push(whole.alias(partial_name(i, "")));
                finals.push(sum(partial(i, "")));
            }
            Kind::Min => {
                partials.push(whole.alias(partial_name(i, "")));
                finals.push(min(partial(i, "")));
            }
            Kind::Max => {
                partials.push(whole.alias(partial_name(i, "")));
                finals.push(max(partial(i, "")));
            }
            Kind::Avg => {
                let arg = call.params.args[0].clone();
                partials.push(sum(arg.clone()).alias(partial_name(i, "_sum")));
                partials.push(count(arg).alias(partial_name(i, "_count")));
                finals.push(sum(partial(i, "_sum")));
                finals.push(sum(partial(i, "_count")));
            }
        }
    }
    let group_keys = keys.into_iter().map(Expr::Column).collect();
    let mut plan = LogicalPlan::Aggregate(Aggregate::try_new(
        Arc::new(input.clone()),
        group_keys,
        partials,
    )?);
    for step in steps.into_iter().rev() {
        plan = match step {
            Step::Projection(p) => reproject(p, plan)?,
            Step::Join { join, left } => {
                let (l, r) = if left {
                    (Arc::new(plan), join.right.clone())
                } else {
                    (join.left.clone(), Arc::new(plan))
                };
                LogicalPlan::Join(Join::try_new(
                    l,
                    r,
                    join.on.clone(),
                    join.filter.clone(),
                    join.join_type,
                    join.join_constraint,
                    join.null_equality,
                    join.null_aware,
                )?)
            }
        };
    }
    let combined = Aggregate::try_new(Arc::new(plan), aggregate.group_expr.clone(), finals)?;
    output(aggregate, calls, combined)
}

/// `p` over its new input: the plain columns still there, then the partial aggregates.
fn reproject(p: &Projection, input: LogicalPlan) -> Result<LogicalPlan> {
    let schema = input.schema().clone();
    let mut expr: Vec<Expr> = p
        .expr
        .iter()
        .filter(|e| matches!(e, Expr::Column(c) if schema.has_column(c)))
        .cloned()
        .collect();
    for (qualifier, field) in schema.iter() {
        if qualifier.is_none() && field.name().starts_with(PREFIX) {
            expr.push(Expr::Column(Column::new_unqualified(field.name())));
        }
    }
    Ok(LogicalPlan::Projection(Projection::try_new(
        expr,
        Arc::new(input),
    )?))
}

/// A projection over `combined` giving `aggregate`'s output: the groups, then each aggregate
/// from its combined parts, named and typed as before.
fn output(
    aggregate: &Aggregate,
    calls: &[(Kind, &AggregateFunction)],
    combined: Aggregate,
) -> Result<LogicalPlan> {
    let groups = aggregate.group_expr.len();
    let target = aggregate.schema.clone();
    let have = combined.schema.clone();
    let column = |i: usize| Expr::Column(Column::from(have.qualified_field(i)));
    let mut expr: Vec<Expr> = (0..groups).map(column).collect();
    let mut next = groups;
    for (i, (kind, _)) in calls.iter().enumerate() {
        let value = match kind {
            Kind::Count => coalesce(vec![column(next), lit(0i64)]),
            Kind::Sum | Kind::Min | Kind::Max => column(next),
            Kind::Avg => {
                next += 1;
                column(next - 1) / cast(column(next), DataType::Float64)
            }
        };
        next += 1;
        let (qualifier, field) = target.qualified_field(groups + i);
        let value = if value.get_type(&have)? == *field.data_type() {
            value
        } else {
            cast(value, field.data_type().clone())
        };
        expr.push(value.alias_qualified(qualifier.cloned(), field.name()));
    }
    Ok(LogicalPlan::Projection(Projection::try_new(
        expr,
        Arc::new(LogicalPlan::Aggregate(combined)),
    )?))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field};
    use arrow::record_batch::RecordBatch;
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::prelude::SessionContext;

    use super::EagerAggregation;
    use crate::MemoryTable;

    /// `f`: `rows` facts with keys `a` (0..50, some null) and `b` (0..20), a float `x` (some
    /// null) and an int `y`. `da`: ids 0..60 named `n{id % 7}`, id 7 twice (a key matching
    /// two rows). `db`: `dims` ids with a category each.
    fn tables(ctx: &SessionContext, rows: i32, dims: i64) {
        let a = Int32Array::from_iter((0..rows).map(|i| (i % 13 != 0).then_some(i * 7 % 50)));
        let b = Int64Array::from_iter_values((0..rows).map(|i| i64::from(i % 20)));
        let x =
            Float64Array::from_iter((0..rows).map(|i| (i % 11 != 0).then_some(f64::from(i) / 8.0)));
        let y = Int32Array::from_iter_values((0..rows).map(|i| i % 1000 - 300));
        let f = RecordBatch::try_from_iter([
            ("a", Arc::new(a) as _),
            ("b", Arc::new(b) as _),
            ("x", Arc::new(x) as _),
            ("y", Arc::new(y) as _),
        ])
        .unwrap();
        let ids: Vec<i32> = (0..60).chain([7]).collect();
        let names: Vec<String> = ids.iter().map(|i| format!("n{}", i % 7)).collect();
        let da = RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(ids)) as _),
            ("name", Arc::new(StringArray::from(names)) as _),
        ])
        .unwrap();
        let db = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from_iter_values(0..dims)) as _),
            (
                "cat",
                Arc::new(StringArray::from_iter_values(
                    (0..dims).map(|i| format!("c{}", i % 3)),
                )) as _,
            ),
        ])
        .unwrap();
        for (name, batch) in [("f", f), ("da", da), ("db", db)] {
            let table = MemoryTable::new(batch.schema(), &[batch], 2);
            ctx.register_table(name, Arc::new(table)).unwrap();
        }
    }

    /// The answer and the optimized plan of `sql`, with the rule or without.
    async fn run(sql: &str, eager: bool, rows: i32, dims: i64) -> (String, String) {
        let ctx = SessionContext::new();
        if eager {
            ctx.add_optimizer_rule(Arc::new(EagerAggregation));
        }
        tables(&ctx, rows, dims);
        let df = ctx.sql(sql).await.unwrap();
        let plan = df
            .clone()
            .into_optimized_plan()
            .unwrap()
            .display_indent()
            .to_string();
        let batches = df.collect().await.unwrap();
        let schema: Vec<(String, DataType, bool)> = batches[0]
            .schema()
            .fields()
            .iter()
            .map(|f: &Arc<Field>| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect();
        let text = pretty_format_batches(&batches).unwrap().to_string();
        (format!("{schema:?}\n{text}"), plan)
    }

    const STAR: &str = "SELECT da.name, db.cat, COUNT(*) AS n, COUNT(f.x) AS nx, SUM(f.y) AS sy, \
        MIN(f.x) AS lo, MAX(f.y) AS hi, ROUND(AVG(f.x), 6) AS mean, SUM(f.x) > 0 AS positive \
        FROM f JOIN da ON f.a = da.id JOIN db ON f.b = db.id \
        GROUP BY da.name, db.cat ORDER BY da.name, db.cat";

    #[tokio::test]
    async fn a_star_join_aggregates_the_facts_first_with_the_same_answer() {
        let (eager, plan) = run(STAR, true, 20_000, 20).await;
        let (plain, before) = run(STAR, false, 20_000, 20).await;
        assert!(plan.contains("__bayou_eager_"), "{plan}");
        assert!(!before.contains("__bayou_eager_"), "{before}");
        // Schema (names, types, nullability) and every row, the duplicate key included.
        assert_eq!(eager, plain);
        assert!(eager.contains("| n0   | c0  |"), "{eager}");
    }

    #[tokio::test]
    async fn a_filtered_single_join_with_a_cast_average_is_rewritten_alike() {
        let sql = "SELECT da.name, COUNT(*) AS n, ROUND(AVG(f.y), 6) AS mean FROM f \
            JOIN da ON da.id = f.a WHERE f.y > 0 GROUP BY da.name ORDER BY n DESC, da.name";
        let (eager, plan) = run(sql, true, 20_000, 20).await;
        let (plain, _) = run(sql, false, 20_000, 20).await;
        assert!(plan.contains("__bayou_eager_"), "{plan}");
        assert_eq!(eager, plain);
    }

    #[tokio::test]
    async fn the_rule_stays_out_where_it_would_not_pay_or_could_not_be_exact() {
        for (sql, rows, dims) in [
            // Grouped by a column of the large table itself.
            (
                "SELECT f.b, COUNT(*) FROM f JOIN da ON f.a = da.id GROUP BY f.b",
                20_000,
                20,
            ),
            // The joined table is as large as the facts: keys may be nearly unique.
            (
                "SELECT db.cat, SUM(f.y) FROM f JOIN db ON f.b = db.id GROUP BY db.cat",
                20_000,
                10_000,
            ),
            // A distinct count does not split into parts.
            (
                "SELECT da.name, COUNT(DISTINCT f.y) FROM f JOIN da ON f.a = da.id GROUP BY da.name",
                20_000,
                20,
            ),
            // The joined table is filtered: the join alone drops most facts.
            (
                "SELECT da.name, SUM(f.y) FROM f JOIN da ON f.a = da.id WHERE da.name = 'n1' GROUP BY da.name",
                20_000,
                20,
            ),
            // A table further up is filtered: the joins drop most facts.
            (
                "SELECT da.name, SUM(f.y) FROM f JOIN da ON f.a = da.id JOIN db ON da.id = db.id WHERE db.cat = 'c1' GROUP BY da.name",
                20_000,
                20,
            ),
            // A left join keeps facts without a match.
            (
                "SELECT da.name, COUNT(f.y) FROM f LEFT JOIN da ON f.a = da.id GROUP BY da.name",
                20_000,
                20,
            ),
        ] {
            let (_, plan) = run(sql, true, rows, dims).await;
            assert!(!plan.contains("__bayou_eager_"), "{sql}\n{plan}");
        }
    }
}
