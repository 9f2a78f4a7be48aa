//! Arrow <-> Iceberg schemas: which Arrow types a table stores, and checking that new data
//! fits a table.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use iceberg::spec::Schema as IcebergSchema;

use crate::{Error, Result};

/// The Arrow type a column of `ty` is stored as. Iceberg v2 has no unsigned, 8/16-bit, nanosecond
/// or view types, so those widen to the nearest type that holds every value.
pub(crate) fn storage_type(ty: &DataType) -> Option<DataType> {
    use DataType as T;
    Some(match ty {
        T::Boolean
        | T::Int32
        | T::Int64
        | T::Float32
        | T::Float64
        | T::Date32
        | T::Utf8
        | T::Binary
        | T::Decimal128(_, _) => ty.clone(),
        T::Int8 | T::Int16 | T::UInt8 | T::UInt16 => T::Int32,
        T::UInt32 => T::Int64,
        T::UInt64 => T::Decimal128(20, 0),
        T::Float16 => T::Float32,
        T::Date64 => T::Date32,
        T::Utf8View | T::LargeUtf8 => T::Utf8,
        T::BinaryView | T::LargeBinary | T::FixedSizeBinary(_) => T::Binary,
        T::Timestamp(_, tz) => {
            T::Timestamp(TimeUnit::Microsecond, tz.as_ref().map(|_| "+00:00".into()))
        }
        T::Time32(_) | T::Time64(_) => T::Time64(TimeUnit::Microsecond),
        T::Dictionary(_, value) => storage_type(value)?,
        T::Null => T::Utf8,
        T::List(f) | T::LargeList(f) | T::ListView(f) | T::LargeListView(f) => {
            T::List(Arc::new(storage_field(f)?))
        }
        T::Struct(fields) => T::Struct(
            fields
                .iter()
                .map(|f| storage_field(f))
                .collect::<Option<Vec<_>>>()?
                .into(),
        ),
        _ => return None,
    })
}

fn storage_field(f: &Field) -> Option<Field> {
    Some(Field::new(f.name(), storage_type(f.data_type())?, true))
}

/// The schema new data is stored with: supported types, every column nullable, no metadata.
pub(crate) fn storage_schema(schema: &Schema, source: &str) -> Result<SchemaRef> {
    let mut fields = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let ty = storage_type(f.data_type()).ok_or_else(|| Error::SchemaMismatch {
            source_name: source.to_string(),
            detail: format!(
                "column '{}' has type {} which bayou tables cannot store yet",
                f.name(),
                f.data_type()
            ),
        })?;
        fields.push(Field::new(f.name(), ty, true));
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The Arrow schema of an Iceberg schema, with `PARQUET:field_id` metadata on every field.
pub(crate) fn arrow_schema(schema: &IcebergSchema) -> Result<SchemaRef> {
    Ok(Arc::new(iceberg::arrow::schema_to_arrow_schema(schema)?))
}

/// Checks that data with schema `incoming` can be appended to a table with schema `table`:
/// same column names, each type equal to or safely castable to the table's. Reports every
/// problem at once, naming the columns.
pub(crate) fn check_append(table: &Schema, incoming: &Schema, source: &str) -> Result<()> {
    let mut problems = Vec::new();
    for f in incoming.fields() {
        match table.field_with_name(f.name()) {
            Err(_) => problems.push(format!("column '{}' is not in the table", f.name())),
            Ok(t) => {
                let stored = storage_type(f.data_type());
                let fits = stored.as_ref() == Some(t.data_type())
                    || matches!(
                        (stored.as_ref(), t.data_type()),
                        (Some(DataType::Int32), DataType::Int64)
                            | (Some(DataType::Float32), DataType::Float64)
                            | (Some(DataType::Int32 | DataType::Int64), DataType::Float64)
                    )
                    || same_ignoring_field_ids(stored.as_ref(), t.data_type());
                if !fits {
                    problems.push(format!(
                        "column '{}' is {} in the data but {} in the table",
                        f.name(),
                        f.data_type(),
                        t.data_type()
                    ));
                }
            }
        }
    }
    for t in table.fields() {
        if incoming.field_with_name(t.name()).is_err() && !t.is_nullable() {
            problems.push(format!("required column '{}' is missing", t.name()));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::SchemaMismatch {
            source_name: source.to_string(),
            detail: problems.join("; "),
        })
    }
}

/// The columns of `incoming` that can be appended to a table of schema `table`, and why each
/// other one cannot (for an import that takes what fits).
pub fn fitting_columns(table: &Schema, incoming: &Schema) -> (Schema, Vec<String>) {
    let mut fits = Vec::new();
    let mut rest = Vec::new();
    for f in incoming.fields() {
        let one = Schema::new(vec![f.as_ref().clone()]);
        match check_append(table, &one, "") {
            Ok(()) => fits.push(f.as_ref().clone()),
            Err(Error::SchemaMismatch { detail, .. }) => rest.push(detail),
            Err(e) => rest.push(e.to_string()),
        }
    }
    (Schema::new(fits), rest)
}

fn same_ignoring_field_ids(a: Option<&DataType>, b: &DataType) -> bool {
    match (a, b) {
        (Some(DataType::List(x)), DataType::List(y)) => {
            same_ignoring_field_ids(Some(x.data_type()), y.data_type())
        }
        (Some(DataType::Struct(x)), DataType::Struct(y)) => {
            x.len() == y.len()
                && x.iter().zip(y.iter()).all(|(x, y)| {
                    x.name() == y.name()
                        && same_ignoring_field_ids(Some(x.data_type()), y.data_type())
                })
        }
        (Some(a), b) => a == b,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanosecond_timestamps_and_small_ints_widen() {
        let s = Schema::new(vec![
            Field::new("t", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            Field::new("n", DataType::UInt16, true),
            Field::new("s", DataType::Utf8View, true),
        ]);
        let stored = storage_schema(&s, "x").unwrap();
        assert_eq!(
            stored.field(0).data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(stored.field(1).data_type(), &DataType::Int32);
        assert_eq!(stored.field(2).data_type(), &DataType::Utf8);
    }

    #[test]
    fn append_mismatch_names_every_column() {
        let table = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let incoming = Schema::new(vec![
            Field::new("a", DataType::Utf8, true),
            Field::new("c", DataType::Int64, true),
        ]);
        let err = check_append(&table, &incoming, "new.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("'a' is Utf8 in the data but Int64"), "{err}");
        assert!(err.contains("'c' is not in the table"), "{err}");
        assert!(err.contains("new.csv"), "{err}");
    }

    #[test]
    fn narrower_numbers_append_to_wider_columns() {
        let table = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let incoming = Schema::new(vec![Field::new("a", DataType::Int32, true)]);
        check_append(&table, &incoming, "x").unwrap();
    }
}
