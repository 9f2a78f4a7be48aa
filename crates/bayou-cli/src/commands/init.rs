//! `bayou init [DIR]`: a new project, a project file with a fresh id and a starter model.

use std::path::Path;

use serde_json::json;

use crate::cli::{InitArgs, OutputFormat};
use crate::output::{Exit, emit_message};

const STARTER_MODEL: &str = r#"import bayou


@bayou.model()
@bayou.python("3.11")
def trips_per_zone(trips=bayou.Model("taxi_fhvhv", columns=["PULocationID"])):
    """A starter model: trips per pickup zone (load the demo tables with `bayou demo load`)."""
    return trips.group_by("PULocationID").aggregate([("PULocationID", "count")])
"#;

pub(crate) fn run(format: OutputFormat, args: &InitArgs) -> anyhow::Result<()> {
    let dir = &args.dir;
    if let Some(existing) = bayou_project::PROJECT_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
    {
        return Err(Exit::usage(format!(
            "{} exists already: {} is a project\n  hint: run it with `bayou run -p {}`, or init another directory",
            existing.display(),
            dir.display(),
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir)?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => dir_name(dir),
    };
    let id = uuid::Uuid::new_v4();
    let project = format!(
        "project:\n  id: {id}\n  name: {}\n\ndefaults:\n  python:\n    version: \"{}\"\n",
        serde_json::to_string(&name)?,
        bayou_runtime::DEFAULT_PYTHON
    );
    std::fs::write(dir.join("bayou_project.yml"), project)?;
    let mut written = vec!["bayou_project.yml"];
    let model = dir.join("models.py");
    if !model.exists() {
        std::fs::write(&model, STARTER_MODEL)?;
        written.push("models.py");
    }
    emit_message(
        format,
        &json!({"dir": dir.display().to_string(), "id": id, "name": name, "files": written}),
        &format!(
            "created project {name} in {} ({})\n  next: bayou demo load && bayou run -p {}",
            dir.display(),
            written.join(", "),
            dir.display()
        ),
    )
}

/// The last component of `dir` as written, or of its absolute path for `.`.
fn dir_name(dir: &Path) -> String {
    let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    absolute
        .components()
        .rev()
        .find_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "project".to_string())
}
