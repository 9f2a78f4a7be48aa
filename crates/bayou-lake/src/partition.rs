//! `--partitioned-by`: parsing a partition spec such as `day(pickup_datetime), PULocationID` or
//! `bucket(16, id)` into an Iceberg partition spec.

use iceberg::spec::{Schema as IcebergSchema, Transform, UnboundPartitionSpec};

use crate::{Error, Result};

/// Splits on commas outside parentheses.
fn items(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn bad(text: &str, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!(
        "cannot partition by '{text}': {why}\n  hint: use columns and transforms such as `day(pickup_datetime)`, `month(col)`, `year(col)`, `hour(col)`, `bucket(16, col)`, `truncate(4, col)`"
    ))
}

/// Parses a partition spec against a table schema.
pub(crate) fn parse(text: &str, schema: &IcebergSchema) -> Result<UnboundPartitionSpec> {
    let mut builder = UnboundPartitionSpec::builder();
    for item in items(text) {
        let (transform, column, suffix) = match item.split_once('(') {
            None => (Transform::Identity, item.clone(), String::new()),
            Some((func, rest)) => {
                let args = rest
                    .strip_suffix(')')
                    .ok_or_else(|| bad(&item, "a parenthesis is not closed"))?;
                let args: Vec<&str> = args.split(',').map(str::trim).collect();
                let number = |s: &str| {
                    s.parse::<u32>()
                        .map_err(|_| bad(&item, format!("'{s}' is not a positive number")))
                };
                match (func.trim().to_ascii_lowercase().as_str(), args.as_slice()) {
                    ("year" | "years", [c]) => (Transform::Year, c.to_string(), "_year".into()),
                    ("month" | "months", [c]) => (Transform::Month, c.to_string(), "_month".into()),
                    ("day" | "days", [c]) => (Transform::Day, c.to_string(), "_day".into()),
                    ("hour" | "hours", [c]) => (Transform::Hour, c.to_string(), "_hour".into()),
                    ("identity", [c]) => (Transform::Identity, c.to_string(), String::new()),
                    ("bucket", [n, c]) => (
                        Transform::Bucket(number(n)?),
                        c.to_string(),
                        "_bucket".into(),
                    ),
                    ("truncate", [w, c]) => (
                        Transform::Truncate(number(w)?),
                        c.to_string(),
                        "_trunc".into(),
                    ),
                    (f, _) => {
                        return Err(bad(
                            &item,
                            format!("unknown transform '{f}' or wrong arguments"),
                        ));
                    }
                }
            }
        };
        let column = column.trim_matches('"').to_string();
        let field = schema.field_by_name(&column).ok_or_else(|| {
            let names: Vec<String> = schema
                .as_struct()
                .fields()
                .iter()
                .map(|f| f.name.clone())
                .collect();
            bad(
                &item,
                format!("no column '{column}' (columns: {})", names.join(", ")),
            )
        })?;
        let result_type = transform.result_type(&field.field_type);
        if result_type.is_err() {
            return Err(bad(
                &item,
                format!(
                    "{transform} does not apply to a {} column",
                    field.field_type
                ),
            ));
        }
        builder = builder
            .add_partition_field(field.id, format!("{column}{suffix}"), transform)
            .map_err(|e| bad(&item, e))?;
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    use super::*;

    fn schema() -> IcebergSchema {
        let arrow = Schema::new(vec![
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("id", DataType::Int64, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        iceberg::arrow::arrow_schema_to_schema_auto_assign_ids(&Arc::new(arrow).as_ref().clone())
            .unwrap()
    }

    #[test]
    fn transforms_and_identity_columns_parse() {
        let spec = parse("DAY(ts), bucket(16, id), name", &schema()).unwrap();
        let names: Vec<&str> = spec.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["ts_day", "id_bucket", "name"]);
    }

    #[test]
    fn unknown_columns_and_bad_transforms_are_named() {
        let err = parse("day(nope)", &schema()).unwrap_err().to_string();
        assert!(
            err.contains("no column 'nope'") && err.contains("ts, id, name"),
            "{err}"
        );
        let err = parse("day(name)", &schema()).unwrap_err().to_string();
        assert!(err.contains("does not apply"), "{err}");
        let err = parse("weekly(ts)", &schema()).unwrap_err().to_string();
        assert!(err.contains("unknown transform"), "{err}");
    }
}
