//! Entry points for `fuzz/` (feature `fuzzing`): what bayou reads from files others may have
//! written, on arbitrary bytes. None may panic; problems are errors.

use iceberg::spec::{FormatVersion, NestedField, PrimitiveType, Schema, Type};

/// A partition spec as `partitioned_by=` gives it, over a table of a few columns.
pub fn partition_spec(text: &str) {
    let fields = [
        ("d", PrimitiveType::Date),
        ("t", PrimitiveType::Timestamp),
        ("n", PrimitiveType::Long),
        ("s", PrimitiveType::String),
    ];
    let schema = Schema::builder()
        .with_fields(fields.iter().enumerate().map(|(i, (name, ty))| {
            NestedField::optional(i as i32 + 1, *name, Type::Primitive(ty.clone())).into()
        }))
        .build();
    if let Ok(schema) = schema {
        let _ = crate::partition::parse(text, &schema);
    }
}

/// A table metadata file, then what bayou derives from it (schema, partitioning, counts).
pub fn table_metadata(bytes: &[u8]) {
    let Ok(metadata) = serde_json::from_slice::<iceberg::spec::TableMetadata>(bytes) else {
        return;
    };
    let version = crate::TableVersion {
        metadata_location: "memory://fuzz/metadata.json".into(),
        metadata: std::sync::Arc::new(metadata),
    };
    let _ = version.arrow_schema();
    let _ = version.row_count();
    let _ = version.snapshot_id();
    let _ = crate::table::partitioning(&version.metadata);
}

/// A manifest and a manifest list, read as bayou reads them.
pub fn manifest(bytes: &[u8]) {
    let _ = crate::table::parse_manifest(bytes, "fuzz");
    let _ = crate::table::parse_manifest_list(bytes, FormatVersion::V2, "fuzz");
}
