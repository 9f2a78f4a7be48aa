//! SQL models: every `.sql` file at the project root. Parents are the tables the query reads
//! (parsed with sqlparser; CTE names are not parents). `$param` placeholders are parameters.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::path::Path;

use sqlparser::ast::{Expr, Statement, Value, Visit, Visitor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use crate::diagnostics::Diagnostic;
use crate::model::{Input, Materialization, Node, NodeKind, ParamUse};

/// Header comment prefixes that set model options: `-- bayou: name=trips`.
const HEADERS: [&str; 2] = ["bayou:", "bauplan:"];

/// Reads one SQL model; problems go to `out`.
pub(crate) fn read(file: &Path, text: &str, out: &mut Vec<Diagnostic>) -> Option<Node> {
    let stem = file.file_stem()?.to_string_lossy().to_string();
    let mut node = Node::new(
        stem,
        NodeKind::Sql {
            sql: text.to_string(),
        },
        file.to_path_buf(),
        1,
    );
    node.source = text.to_string();
    // Header comments, before the first statement line.
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some(comment) = t.strip_prefix("--") else {
            break;
        };
        let comment = comment.trim();
        let Some(rest) = HEADERS.iter().find_map(|h| comment.strip_prefix(h)) else {
            continue;
        };
        for option in header_options(rest) {
            let (key, value) = match option {
                Ok(pair) => pair,
                Err(text) => {
                    out.push(
                        Diagnostic::new(
                            file,
                            i + 1,
                            format!("header option '{text}' is not key=value"),
                        )
                        .hint("write `-- bayou: materialization_strategy=REPLACE`"),
                    );
                    continue;
                }
            };
            match key {
                "name" => match bayou_types::validate_name("model", value) {
                    Ok(()) => node.name = value.to_string(),
                    Err(e) => out.push(Diagnostic::new(file, i + 1, e.to_string())),
                },
                "materialization_strategy" | "materialize" => match Materialization::parse(value) {
                    Some(m) => node.materialization = m,
                    None => out.push(
                        Diagnostic::new(
                            file,
                            i + 1,
                            format!("unknown materialization_strategy '{value}'"),
                        )
                        .hint("use NONE, REPLACE, APPEND or OVERWRITE_PARTITIONS"),
                    ),
                },
                "cache_strategy" => node.cache = !value.eq_ignore_ascii_case("none"),
                "partitioned_by" | "partitioned-by" => {
                    node.partitioned_by = Some(value.to_string());
                }
                "overwrite_filter" => node.overwrite_filter = Some(value.to_string()),
                // bauplan's semantic annotations name a schema class; bayou has none to check.
                "output_schema" => {}
                other => {
                    const KNOWN: [&str; 6] = [
                        "name",
                        "materialization_strategy",
                        "cache_strategy",
                        "partitioned_by",
                        "overwrite_filter",
                        "output_schema",
                    ];
                    let hint = match crate::diagnostics::closest(other, KNOWN).first() {
                        Some(meant) => format!("did you mean {meant}?"),
                        None => format!("SQL model options are {}", KNOWN.join(", ")),
                    };
                    out.push(
                        Diagnostic::new(file, i + 1, format!("unknown header option '{other}'"))
                            .hint(hint),
                    );
                }
            }
        }
    }
    // Without a filter, "the partitions to overwrite" would be the whole table.
    if node.materialization == Materialization::OverwritePartitions
        && node.overwrite_filter.is_none()
    {
        out.push(
            Diagnostic::new(file, 1, "OVERWRITE_PARTITIONS needs an overwrite_filter").hint(
                "say which rows to replace: `-- bayou: overwrite_filter=\"day = '2023-01-01'\"`",
            ),
        );
    }
    // The model is named after the file unless a header names it: either way, a valid name.
    if let Err(e) = bayou_types::validate_name("model", &node.name) {
        out.push(
            Diagnostic::new(file, 1, e.to_string()).hint(
                "rename the file, or name the model with a header: `-- bayou: name=trips_2024`",
            ),
        );
    }
    let statements = match Parser::parse_sql(&GenericDialect {}, text) {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            out.push(Diagnostic::new(
                file,
                error_line(&msg),
                format!("SQL syntax error: {msg}"),
            ));
            return Some(node);
        }
    };
    // Printed back from the parse: comments and formatting do not reach the fingerprint.
    node.code = statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(";\n");
    match statements.as_slice() {
        [Statement::Query(_)] => {}
        [] => {
            out.push(
                Diagnostic::new(file, 0, "the file has no query").hint("a SQL model is one SELECT"),
            );
            return Some(node);
        }
        [_] => {
            out.push(Diagnostic::new(
                file,
                1,
                "a SQL model must be a single SELECT query",
            ));
            return Some(node);
        }
        _ => {
            out.push(Diagnostic::new(
                file,
                1,
                "a SQL model must be one query, not several statements",
            ));
            return Some(node);
        }
    }
    let mut refs = References::default();
    let _ = statements.visit(&mut refs);
    for table in refs.tables.difference(&refs.ctes) {
        node.inputs.push(Input {
            argument: table.clone(),
            source: table.clone(),
            columns: None,
            filter: None,
            reference: None,
            line: find_line(text, table),
        });
    }
    for p in &refs.params {
        node.parameters.push(ParamUse {
            name: p.clone(),
            argument: None,
            line: find_line(text, &format!("${p}")),
        });
    }
    Some(node)
}

/// The `key=value` options of a header comment, separated by commas or spaces, with any spacing
/// around `=` and values optionally quoted: `name = trips, materialization_strategy=REPLACE`.
/// A token that is no option is returned as the error.
fn header_options(text: &str) -> Vec<Result<(&str, &str), &str>> {
    let separator = |c: char| c == ',' || c.is_whitespace();
    let mut out = Vec::new();
    let mut rest = text.trim_start_matches(separator);
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = &rest[..key_end];
        let after = rest[key_end..].trim_start();
        match after.strip_prefix('=') {
            Some(value) if !key.is_empty() => {
                let value = value.trim_start();
                let (value, next) = match value.chars().next() {
                    Some(q @ ('\'' | '"')) => match value[1..].find(q) {
                        Some(end) => (&value[1..1 + end], &value[2 + end..]),
                        None => (&value[1..], ""),
                    },
                    _ => {
                        let end = value
                            .find(|c: char| c == ',' || c.is_whitespace())
                            .unwrap_or(value.len());
                        value.split_at(end)
                    }
                };
                out.push(Ok((key, value)));
                rest = next;
            }
            _ => {
                // Not an option: report the token as written, up to the next separator (at
                // least one character, so the loop always moves on).
                let first = rest.chars().next().map_or(1, char::len_utf8);
                let end = rest.find(separator).unwrap_or(rest.len()).max(first);
                out.push(Err(&rest[..end]));
                rest = &rest[end..];
            }
        }
        rest = rest.trim_start_matches(separator);
    }
    out
}

/// The line sqlparser names in an error ("... at Line: 3, Column: 7").
pub(crate) fn error_line(msg: &str) -> usize {
    msg.split("Line: ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

fn find_line(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| !l.trim_start().starts_with("--") && l.contains(needle))
        .map_or(1, |i| i + 1)
}

#[derive(Default)]
struct References {
    tables: BTreeSet<String>,
    ctes: BTreeSet<String>,
    params: BTreeSet<String>,
    /// Columns an expression names (the last part of a compound name).
    columns: BTreeSet<String>,
}

impl Visitor for References {
    type Break = ();

    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.clone());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &sqlparser::ast::ObjectName) -> ControlFlow<()> {
        let parts: Vec<String> = relation
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.clone()))
            .collect();
        self.tables.insert(parts.join("."));
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Identifier(i) => {
                self.columns.insert(i.value.clone());
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    self.columns.insert(last.value.clone());
                }
            }
            _ => {}
        }
        if let Expr::Value(v) = expr
            && let Value::Placeholder(p) = &v.value
            && let Some(name) = p.strip_prefix('$')
            && !name.is_empty()
            && !name.chars().all(|c| c.is_ascii_digit())
        {
            self.params.insert(name.to_string());
        }
        ControlFlow::Continue(())
    }
}

/// Parameters (`$name`) used in a SQL expression such as a `filter=`; an error names what does
/// not parse.
/// The parameters (`$name`) and the columns a SQL condition names.
pub(crate) fn expression_names(expr: &str) -> Result<(BTreeSet<String>, BTreeSet<String>), String> {
    let dialect = GenericDialect {};
    let parsed = Parser::new(&dialect)
        .try_with_sql(expr)
        .and_then(|mut p| {
            let e = p.parse_expr()?;
            p.expect_token(&sqlparser::tokenizer::Token::EOF)?;
            Ok(e)
        })
        .map_err(|e| e.to_string())?;
    let mut refs = References::default();
    let _ = parsed.visit(&mut refs);
    Ok((refs.params, refs.columns))
}

pub(crate) fn expression_params(expr: &str) -> Result<BTreeSet<String>, String> {
    expression_names(expr).map(|(params, _)| params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_name_that_is_no_model_name_is_reported_unless_a_header_names_it() {
        let mut out = vec![];
        read(Path::new("2024-trips.sql"), "SELECT 1 AS one", &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].to_string().contains("2024-trips.sql:1"),
            "{}",
            out[0]
        );
        let mut out = vec![];
        let node = read(
            Path::new("2024-trips.sql"),
            "-- bayou: name=trips_2024\nSELECT 1 AS one",
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(node.unwrap().name, "trips_2024");
    }

    fn read_ok(text: &str) -> Node {
        let mut out = vec![];
        let node = read(Path::new("trips.sql"), text, &mut out).unwrap();
        assert!(out.is_empty(), "{out:?}");
        node
    }

    #[test]
    fn parents_are_the_tables_read_and_not_ctes() {
        let n = read_ok(
            "WITH recent AS (SELECT * FROM taxi_fhvhv WHERE x > $min_x)\nSELECT r.*, z.Borough FROM recent r JOIN raw.zones z ON r.a = z.b",
        );
        let parents: Vec<&str> = n.inputs.iter().map(|i| i.source.as_str()).collect();
        assert_eq!(parents, ["raw.zones", "taxi_fhvhv"]);
        assert_eq!(n.parameters[0].name, "min_x");
        assert_eq!(n.name, "trips");
    }

    #[test]
    fn headers_set_name_and_materialization() {
        let n = read_ok(
            "-- bauplan: name=clean_trips\n-- bayou: materialization_strategy=REPLACE\nSELECT 1 AS a FROM t",
        );
        assert_eq!(n.name, "clean_trips");
        assert_eq!(n.materialization, Materialization::Replace);
    }

    #[test]
    fn header_options_take_any_spacing_around_equals() {
        for header in [
            "-- bauplan: materialization_strategy = REPLACE",
            "-- bauplan: materialization_strategy= REPLACE",
            "-- bauplan:materialization_strategy =REPLACE, name = 'clean_trips'",
            "--bauplan: materialization_strategy=\"REPLACE\"  name=clean_trips",
        ] {
            let n = read_ok(&format!("{header}\nSELECT 1 AS a FROM t"));
            assert_eq!(n.materialization, Materialization::Replace, "{header}");
        }
        let n = read_ok("-- bauplan: name = clean_trips\nSELECT 1 AS a FROM t");
        assert_eq!(n.name, "clean_trips");
    }

    #[test]
    fn partitioning_and_overwrite_filters_come_from_headers_too() {
        let n = read_ok(
            "-- bauplan: materialization_strategy=OVERWRITE_PARTITIONS\n-- bauplan: partitioned-by=\"day(pickup_datetime), PULocationID\"\n-- bauplan: overwrite_filter = \"pickup_datetime >= $start\"\nSELECT 1 AS a FROM t",
        );
        assert_eq!(
            n.partitioned_by.as_deref(),
            Some("day(pickup_datetime), PULocationID")
        );
        assert_eq!(
            n.overwrite_filter.as_deref(),
            Some("pickup_datetime >= $start")
        );
    }

    #[test]
    fn any_unicode_spacing_in_headers_is_spacing_not_a_crash() {
        let n = read_ok(
            "-- bauplan:\u{a0}name=x\u{a0}materialization_strategy\u{2003}=\u{a0}REPLACE\nSELECT 1 AS a FROM t",
        );
        assert_eq!(
            (n.name.as_str(), n.materialization),
            ("x", Materialization::Replace)
        );
        let mut out = vec![];
        read(
            Path::new("t.sql"),
            "-- bauplan: =\u{e9}t\u{e9}\nSELECT 1 AS a",
            &mut out,
        );
        assert!(!out.is_empty());
    }

    #[test]
    fn real_header_mistakes_are_still_reported_with_their_line() {
        let mut out = vec![];
        read(
            Path::new("trips.sql"),
            "-- bauplan: name=trips\n-- bauplan: materialisation_strategy = REPLACE, colour\nSELECT 1 AS a FROM t",
            &mut out,
        );
        let msgs: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(out.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].contains("trips.sql:2")
                && msgs[0].contains("unknown header option 'materialisation_strategy'"),
            "{msgs:?}"
        );
        assert!(
            msgs[1].contains("header option 'colour' is not key=value"),
            "{msgs:?}"
        );
        let mut out = vec![];
        read(
            Path::new("t.sql"),
            "-- bauplan: materialization_strategy = SOMETIMES\nSELECT 1 AS a",
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0]
                .message
                .contains("unknown materialization_strategy 'SOMETIMES'"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let mut out = vec![];
        read(
            Path::new("bad.sql"),
            "SELECT a\nFROM t\nWHERE a = = 1",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].line, 3, "{}", out[0]);
    }

    #[test]
    fn filters_parse_as_expressions() {
        assert_eq!(
            expression_params("a > $x AND b IN (1, 2)").unwrap(),
            BTreeSet::from(["x".to_string()])
        );
        assert!(expression_params("a > > 1").is_err());
        assert!(expression_params("a > 1; DROP TABLE t").is_err());
    }
}
