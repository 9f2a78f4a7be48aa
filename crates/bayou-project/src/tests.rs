use std::collections::BTreeMap;

use super::*;

fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project, Vec<Diagnostic>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let (p, d) = Project::load(dir.path()).unwrap();
    (dir, p, d)
}

const YML: &str =
    "project:\n  name: taxi\nparameters:\n  min_miles:\n    type: float\n    default: 1.0\n";

#[test]
fn sql_and_python_models_form_one_dag() {
    let (_d, p, diags) = project(&[
        ("bauplan_project.yml", YML),
        (
            "trips.sql",
            "SELECT pickup_datetime, PULocationID FROM taxi_fhvhv WHERE trip_miles > $min_miles",
        ),
        (
            "models.py",
            "import bauplan\n@bauplan.model()\ndef pickups(trips=bauplan.Model('trips')):\n    return trips\n",
        ),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(p.nodes.len(), 2);
    assert_eq!(p.node("pickups").unwrap().inputs[0].source, "trips");
    let tables = BTreeMap::from([(
        "taxi_fhvhv".to_string(),
        vec!["pickup_datetime".to_string()],
    )]);
    assert!(p.check_inputs(&tables).is_empty());
    assert_eq!(p.code_hash().len(), 64);
}

#[test]
fn every_problem_is_reported_at_once() {
    let (_d, p, diags) = project(&[
        ("bayou_project.yml", YML),
        ("a.sql", "SELECT * FROM b"),
        ("b.sql", "SELECT * FROM a WHERE x > $nope"),
        (
            "models.py",
            "import bayou\n@bayou.model(name='a')\ndef f(x=bayou.Model('trps', filter='x >')):\n    return x\n",
        ),
    ]);
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    let all = text.join("\n");
    assert!(all.contains("duplicate model 'a'"), "{all}");
    assert!(all.contains("unknown parameter 'nope'"), "{all}");
    assert!(all.contains("does not parse"), "{all}");
    assert!(all.contains("cycle: "), "{all}");
    assert!(all.contains("b.sql:1") || all.contains("a.sql:1"), "{all}");
    let tables = BTreeMap::from([("trips".to_string(), vec!["x".to_string()])]);
    let lake = p.check_inputs(&tables);
    assert!(
        lake[0].to_string().contains("did you mean trips?"),
        "{}",
        lake[0]
    );
}

#[test]
fn columns_missing_from_a_parent_are_named() {
    let (_d, p, diags) = project(&[
        ("bayou_project.yml", "project:\n  name: x\n"),
        (
            "models.py",
            "import bayou\n@bayou.model()\ndef f(t=bayou.Model('taxi', columns=['PULocationId'])):\n    return t\n",
        ),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    let tables = BTreeMap::from([("taxi".to_string(), vec!["PULocationID".to_string()])]);
    let out = p.check_inputs(&tables);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].line, 3);
    assert!(
        out[0].to_string().contains("no column 'PULocationId'")
            && out[0].to_string().contains("PULocationID"),
        "{}",
        out[0]
    );
}

#[test]
fn project_file_rules() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        Project::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("no bayou_project.yml")
    );
    std::fs::write(dir.path().join("bayou_project.yml"), "project: {name: a}\n").unwrap();
    std::fs::write(
        dir.path().join("bauplan_project.yml"),
        "project: {name: a}\n",
    )
    .unwrap();
    assert!(
        Project::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("several project files")
    );
}

#[test]
fn gitignored_files_are_not_part_of_the_project() {
    let (_d, p, diags) = project(&[
        ("bayou_project.yml", "project: {name: a}\n"),
        (".gitignore", "scratch_*.sql\n"),
        ("scratch_1.sql", "SELEC broken"),
        ("keep.sql", "SELECT 1 AS one FROM t"),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(p.nodes.len(), 1);
}

#[test]
fn helper_modules_in_subdirectories_are_project_files_but_not_models() {
    let (_d, p, diags) = project(&[
        ("bayou_project.yml", "project: {name: a}\n"),
        (".gitignore", "scratch/\n"),
        (
            "m.py",
            "import bayou\n@bayou.model()\ndef m(d=bayou.Model('t')):\n    return d\n",
        ),
        (
            "lib/helpers.py",
            "import bayou\n@bayou.model()\ndef not_a_model(d=bayou.Model('t')):\n    return d\n",
        ),
        ("lib/notes.txt", "not code"),
        ("scratch/tmp.py", "x = 1\n"),
        (".venv/site.py", "x = 1\n"),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(p.nodes.len(), 1, "subdirectories hold helpers, not models");
    let files: Vec<String> = p
        .files
        .iter()
        .map(|(f, _)| f.display().to_string())
        .collect();
    assert_eq!(files, ["bayou_project.yml", "m.py", "lib/helpers.py"]);
}

#[test]
fn a_model_without_a_version_runs_on_the_project_default() {
    let yml = "project:\n  name: p\ndefaults:\n  python:\n    version: \"3.12\"\n    packages:\n      - name: pandas\n        version: \"2.2.0\"\n";
    let models = r#"
import bauplan

@bauplan.model()
@bauplan.python(pip={"pandas": "2.2.3", "polars": "1.9.0"})
def own_pins(data=bauplan.Model("taxi_fhvhv")):
    return data

@bauplan.model()
@bauplan.python("3.13")
def own_version(data=bauplan.Model("taxi_fhvhv")):
    return data

@bauplan.model()
def bare(data=bauplan.Model("taxi_fhvhv")):
    return data
"#;
    let (_d, p, diags) = project(&[("bauplan_project.yml", yml), ("models.py", models)]);
    assert!(diags.is_empty(), "{diags:?}");
    let spec = |name: &str| p.python_spec(p.node(name).unwrap());
    assert_eq!(spec("own_pins").version.as_deref(), Some("3.12"));
    assert_eq!(
        spec("own_pins").requirements(),
        ["pandas==2.2.3", "polars==1.9.0"]
    );
    assert_eq!(spec("own_version").version.as_deref(), Some("3.13"));
    assert_eq!(spec("own_version").requirements(), ["pandas==2.2.0"]);
    assert_eq!(spec("bare").version.as_deref(), Some("3.12"));
    // Without any default, the built-in version.
    let (_d, p, _) = project(&[
        ("bauplan_project.yml", "project: {name: p}\n"),
        ("models.py", models),
    ]);
    assert_eq!(
        p.python_spec(p.node("bare").unwrap()).version.as_deref(),
        Some(DEFAULT_PYTHON)
    );
}

#[test]
fn include_paths_add_sql_models_from_subdirectories() {
    let yml = "project:\n  name: p\ninclude_paths:\n  - \"sql/*.sql\"\n  - \"../outside/*.sql\"\n";
    let (_d, p, diags) = project(&[
        ("bauplan_project.yml", yml),
        ("sql/trips.sql", "SELECT 1 AS one FROM taxi_fhvhv"),
        ("top.sql", "SELECT one FROM trips"),
    ]);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert!(
        diags[0]
            .message
            .contains("'../outside/*.sql' is not inside"),
        "{diags:?}"
    );
    let trips = p.node("trips").expect("included");
    assert_eq!(trips.file, std::path::Path::new("sql/trips.sql"));
    assert_eq!(p.node("top").unwrap().inputs[0].source, "trips");
}

#[test]
fn one_dag_orders_selects_and_finds_cycles() {
    let models = r#"
import bauplan

@bauplan.model()
def c(b=bauplan.Model('b')):
    return b

@bauplan.model()
def b(a=bauplan.Model('a')):
    return a

@bauplan.expectation()
def b_ok(b=bauplan.Model('b')):
    return True
"#;
    let (_d, p, diags) = project(&[
        ("bauplan_project.yml", YML),
        ("a.sql", "SELECT 1 AS one FROM taxi_fhvhv"),
        ("models.py", models),
    ]);
    assert!(diags.is_empty(), "{diags:?}");
    let dag = p.dag();
    let name = |i: usize| p.nodes[i].name.as_str();
    let order: Vec<&str> = dag.order().into_iter().map(name).collect();
    let at = |n: &str| order.iter().position(|o| *o == n).unwrap();
    assert!(
        at("a") < at("b") && at("b") < at("c") && at("b") < at("b_ok"),
        "{order:?}"
    );
    let chosen = |patterns: &[&str]| -> Vec<&str> {
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        let selected = dag.select(&p, &patterns).unwrap();
        (0..selected.len())
            .filter(|&i| selected[i])
            .map(name)
            .collect()
    };
    assert_eq!(chosen(&["b"]), ["b", "b_ok"]);
    assert_eq!(chosen(&["b+"]), ["c", "b", "b_ok"]);
    // An earlier pattern's pick does not stop a later one's walk through it.
    assert_eq!(chosen(&["b", "+c"]), ["a", "c", "b", "b_ok"]);
    let selected = dag.select(&p, &["c".to_string()]).unwrap();
    let needed: Vec<&str> = (0..p.nodes.len())
        .filter(|&i| dag.needed(&selected)[i])
        .map(name)
        .collect();
    assert_eq!(needed, ["b"]);
    let err = dag.select(&p, &["cc".to_string()]).unwrap_err().to_string();
    assert!(
        err.contains("no model 'cc'") && err.contains("did you mean c"),
        "{err}"
    );
    assert!(dag.cycle().is_none());
}
