//! The engine's string types: view types inside ([`view_schema`]), plain types out
//! ([`plain_types`]), so readers, Python functions and Iceberg writers see the types the
//! tables declare.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::Column;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, cast};
use datafusion::prelude::DataFrame;

/// `schema` with its top-level strings and binaries as view types.
pub(crate) fn view_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let viewed = match f.data_type() {
                DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
                DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
                other => other.clone(),
            };
            f.as_ref().clone().with_data_type(viewed)
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `ty` with every view type in it (nested ones too) as its plain counterpart.
fn plain(ty: &DataType) -> DataType {
    match ty {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::ListView(f) | DataType::List(f) => DataType::List(plain_field(f)),
        DataType::LargeListView(f) | DataType::LargeList(f) => DataType::LargeList(plain_field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(plain_field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(plain_field).collect()),
        other => other.clone(),
    }
}

fn plain_field(f: &Arc<Field>) -> Arc<Field> {
    Arc::new(f.as_ref().clone().with_data_type(plain(f.data_type())))
}

/// `df` with every column of a view type cast to its plain type (`Utf8View` to `Utf8`, ...),
/// names kept; `df` itself when it has none.
pub fn plain_types(df: DataFrame) -> DfResult<DataFrame> {
    let schema = df.schema().clone();
    if schema
        .fields()
        .iter()
        .all(|f| plain(f.data_type()) == *f.data_type())
    {
        return Ok(df);
    }
    let columns: Vec<Expr> = schema
        .iter()
        .map(|(qualifier, field)| {
            let column = Expr::Column(Column::from((qualifier, field)));
            let ty = plain(field.data_type());
            if ty == *field.data_type() {
                column
            } else {
                cast(column, ty).alias_qualified(qualifier.cloned(), field.name())
            }
        })
        .collect();
    df.select(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_views_become_plain() {
        let item = Arc::new(Field::new("item", DataType::Utf8View, true));
        let listed = DataType::List(item);
        let plain_list = DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
        assert_eq!(plain(&listed), plain_list);
        assert_eq!(plain(&DataType::Int64), DataType::Int64);
    }

    #[test]
    fn strings_and_binaries_read_as_views() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, true),
            Field::new("b", DataType::Binary, false),
            Field::new("n", DataType::Int32, true),
        ]));
        let viewed = view_schema(&schema);
        let types: Vec<&DataType> = viewed.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(
            types,
            [&DataType::Utf8View, &DataType::BinaryView, &DataType::Int32]
        );
        assert!(!viewed.field(1).is_nullable());
    }
}
