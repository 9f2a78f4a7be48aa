//! Entry points for `fuzz/` (feature `fuzzing`): each reader of project input, as bayou calls
//! it, on arbitrary text. None may panic; problems are diagnostics.

use std::path::Path;

/// A `.sql` model file (its headers and query).
pub fn sql_model(text: &str) {
    let mut out = Vec::new();
    let _ = crate::sql::read(Path::new("model.sql"), text, &mut out);
}

/// A `.py` file of models, read statically (nothing is run).
pub fn python_models(text: &str) {
    let mut out = Vec::new();
    let _ = crate::python::read(Path::new("models.py"), text, &mut out);
}

/// A project file (`bayou_project.yml`).
pub fn project_file(text: &str) {
    let mut out = Vec::new();
    let _ = crate::config::parse(Path::new("bayou_project.yml"), text, &mut out);
}

/// An input's or an overwrite's filter.
pub fn filter(text: &str) {
    let _ = crate::sql::expression_names(text);
}
