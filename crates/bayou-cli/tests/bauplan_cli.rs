//! bauplan projects run unchanged: fixtures written the way bauplan's public projects are
//! (`bauplan_project.yml`, `import bauplan`, `-- bauplan:` headers, the `bauplan` namespace,
//! `taxi_fhvhv`/`taxi_zones`), run by the real binary on a lake holding those tables.

mod common;

use std::path::{Path, PathBuf};

use common::{Mode, TestLake, git, in_both_modes, node, run_json, s, write_project};
use serde_json::{Value, json};

in_both_modes!(a_project_run_in_a_namespace_reads_what_another_wrote_there_first,);

const PROJECT: &str = "project:\n  id: 6f0b2c1e-8d1f-4f55-b0a6-0d1e2f3a4b5c\n  name: compat\ndefaults:\n  python:\n    version: \"3.11\"\n";

fn run(t: &TestLake, args: &[&str]) -> (i32, Value, String) {
    run_json(&mut t.cmd(), args)
}

/// A lake with bauplan's demo tables and a project directory `name` of `files`.
fn lake_with(files: &[(&str, &str)]) -> (TestLake, PathBuf) {
    let t = TestLake::new();
    t.ok(&["demo", "load", "--rows", "2000"]);
    let dir = t.path("project");
    write_project(&dir, &[("bauplan_project.yml", PROJECT)]);
    write_project(&dir, files);
    (t, dir)
}

fn logged(record: &Value, name: &str, line: &str) -> bool {
    node(record, name)["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().is_some_and(|l| l.contains(line)))
}

#[test]
fn sql_headers_with_spaces_none_strategies_and_the_bauplan_namespace_run() {
    let (t, dir) = lake_with(&[
        (
            "trips.sql",
            "-- bauplan: materialization_strategy = NONE\nSELECT pickup_datetime, PULocationID, trip_miles\nFROM taxi_fhvhv\nWHERE trip_miles > 1.0\n",
        ),
        (
            "zone_trips.sql",
            "-- bauplan: materialization_strategy = REPLACE\nSELECT z.Borough, COUNT(*) AS trips\nFROM trips t JOIN bauplan.taxi_zones z ON t.PULocationID = z.LocationID\nGROUP BY z.Borough\n",
        ),
        (
            "models.py",
            "import bauplan\n\n\n@bauplan.model(materialization_strategy=None)\n@bauplan.python()\ndef boroughs(zones=bauplan.Model('bauplan.taxi_zones', columns=['Borough'])):\n    return zones\n\n\n@bauplan.model(materialization_strategy='REPLACE')\n@bauplan.python('3.11')\ndef borough_count(data=bauplan.Model('boroughs')):\n    return [{'boroughs': len(set(data.column('Borough').to_pylist()))}]\n",
        ),
    ]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["status"], json!("succeeded"));
    let expected = t.scalar(
        "SELECT COUNT(*) FROM taxi_fhvhv f JOIN taxi_zones z ON f.PULocationID = z.LocationID WHERE trip_miles > 1.0",
        "main",
    );
    assert_eq!(
        t.scalar("SELECT SUM(trips) FROM zone_trips", "main"),
        expected
    );
    assert_eq!(
        t.scalar("SELECT boroughs FROM borough_count", "main"),
        t.scalar("SELECT COUNT(DISTINCT Borough) FROM taxi_zones", "main")
    );
    // NONE, however spelt, writes nothing.
    let tables = t.json(&["table", "ls"]).to_string();
    assert!(
        !tables.contains("\"trips\"") && !tables.contains("\"boroughs\""),
        "{tables}"
    );
}

#[test]
fn a_misspelt_header_is_still_reported_with_its_file_and_line() {
    let (t, dir) = lake_with(&[(
        "trips.sql",
        "-- bauplan: materialisation_strategy = REPLACE\nSELECT * FROM taxi_fhvhv\n",
    )]);
    let out = t.cmd().args(["run", "-p", s(&dir)]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("trips.sql:1")
            && stderr.contains("unknown header option 'materialisation_strategy'")
            && stderr.contains("did you mean materialization_strategy?"),
        "{stderr}"
    );
}

/// A model that reports the Python it ran on as its output.
const VERSION_MODEL: &str = "import bauplan\n\n\n@bauplan.model(materialization_strategy='REPLACE')\n@bauplan.python()\ndef python_version(data=bauplan.Model('taxi_zones', columns=['LocationID'])):\n    import sys\n    return [{'version': '%d.%d' % sys.version_info[:2]}]\n";

/// A directory holding only `python<version>`, for PATH, if this machine has that Python
/// somewhere uv may not look (pyenv keeps them apart); else None.
fn interpreter_dir(t: &TestLake, version: &str) -> Option<PathBuf> {
    let found = std::process::Command::new("uv")
        .args(["python", "find", version])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let pyenv = || {
        let root = PathBuf::from(std::env::var_os("HOME")?).join(".pyenv/versions");
        let mut dirs: Vec<_> = std::fs::read_dir(root).ok()?.flatten().collect();
        dirs.sort_by_key(|d| d.file_name());
        dirs.into_iter()
            .map(|d| d.path().join("bin").join(format!("python{version}")))
            .find(|p| p.is_file())
    };
    let python = found.or_else(pyenv)?;
    let dir = t.path(&format!("python-{version}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::symlink(&python, dir.join(format!("python{version}"))).unwrap();
    Some(dir)
}

/// `t.cmd()` with `extra` in front of PATH and no managed-Python downloads (no machine here
/// may fetch them; a version must come from the machine).
fn cmd_with_path(t: &TestLake, extra: Option<&Path>) -> assert_cmd::Command {
    let mut cmd = t.cmd();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = extra.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).unwrap())
        .env("UV_PYTHON_DOWNLOADS", "never");
    cmd
}

#[test]
fn a_model_without_a_version_runs_on_the_projects_python_or_says_why_not() {
    for version in ["3.12", "3.13"] {
        let (t, dir) = lake_with(&[("models.py", VERSION_MODEL)]);
        // The same project on the default 3.11 first: its cached output must not serve 3.12.
        let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(
            t.scalar("SELECT version FROM python_version", "main"),
            json!("3.11")
        );
        let head = t.json(&["log", "main", "--limit", "1"]);
        write_project(
            &dir,
            &[(
                "bauplan_project.yml",
                &PROJECT.replace("\"3.11\"", &format!("\"{version}\"")),
            )],
        );
        let extra = interpreter_dir(&t, version);
        let (code, record, stderr) =
            run_json(&mut cmd_with_path(&t, extra.as_deref()), &["-p", s(&dir)]);
        if extra.is_some() {
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(node(&record, "python_version")["cached"], json!(false));
            assert_eq!(
                t.scalar("SELECT version FROM python_version", "main"),
                json!(version)
            );
        } else {
            // This machine has no such Python: the run stops before reading any data, naming
            // the model, the version and what to do, and the target is untouched.
            assert_eq!(code, 1, "{stderr}");
            assert!(
                stderr.contains("'python_version'")
                    && stderr.contains(&format!("Python {version} is not available"))
                    && stderr.contains(&format!("uv python install {version}")),
                "{stderr}"
            );
            assert_eq!(t.json(&["log", "main", "--limit", "1"]), head);
        }
    }
}

#[test]
fn a_python_this_machine_cannot_provide_fails_the_run_before_any_data_is_read() {
    let (t, dir) = lake_with(&[("models.py", VERSION_MODEL)]);
    write_project(
        &dir,
        &[(
            "bauplan_project.yml",
            &PROJECT.replace("\"3.11\"", "\"3.99\""),
        )],
    );
    let (code, record, stderr) = run_json(&mut cmd_with_path(&t, None), &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("'python_version'") && stderr.contains("Python 3.99 is not available"),
        "{stderr}"
    );
    let node = node(&record, "python_version");
    assert_eq!(node["status"], json!("failed"));
    assert!(node["rows"].is_null(), "nothing was read: {node}");
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'python_version'",
            "main"
        ),
        json!(0)
    );
}

#[test]
fn old_pandas_and_numpy_pins_and_major_only_pins_import_with_the_runtimes_pyarrow() {
    let models = r#"import bauplan


@bauplan.model(materialization_strategy='REPLACE')
@bauplan.python('3.11', pip={'pandas': '1.5.3', 'numpy': '1.23.2'})
def old_pandas(zones=bauplan.Model('taxi_zones', columns=['Borough', 'LocationID'])):
    import numpy, pandas, pyarrow
    print('numpy', numpy.__version__, 'pandas', pandas.__version__, 'pyarrow', pyarrow.__version__)
    return zones.to_pandas().groupby('Borough').size().reset_index(name='zones')


@bauplan.model(materialization_strategy='REPLACE')
@bauplan.python('3.11', pip={'pandas': '2.2.0'})
def pandas_2_2_0(zones=bauplan.Model('taxi_zones', columns=['Borough'])):
    import numpy
    print('numpy', numpy.__version__)
    return zones.to_pandas().drop_duplicates()


@bauplan.model()
@bauplan.python('3.11', pip={'pandas': '2'})
def major_only(zones=bauplan.Model('taxi_zones', columns=['Borough'])):
    import pandas
    print('pandas', pandas.__version__)
    return zones.to_pandas()


@bauplan.model()
@bauplan.python('3.11', pip={'pyarrow': '14.0.0', 'numpy': '1.26.4'})
def own_pyarrow(zones=bauplan.Model('taxi_zones', columns=['Borough'])):
    import pyarrow
    print('pyarrow', pyarrow.__version__)
    return zones
"#;
    let (t, dir) = lake_with(&[("models.py", models)]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        logged(&record, "old_pandas", "numpy 1.23.2 pandas 1.5.3 pyarrow "),
        "{record}"
    );
    assert!(logged(&record, "pandas_2_2_0", "numpy 1.26."), "{record}");
    assert!(logged(&record, "major_only", "pandas 2."), "{record}");
    assert!(
        logged(&record, "own_pyarrow", "pyarrow 14.0.0"),
        "the user's own pin wins: {record}"
    );
    assert_eq!(
        t.scalar("SELECT SUM(zones) FROM old_pandas", "main"),
        t.scalar("SELECT COUNT(*) FROM taxi_zones", "main")
    );
}

#[test]
fn functions_receive_tables_without_parquet_field_ids() {
    let models = r#"import bauplan

ID = b'PARQUET:field_id'


def ids(table):
    return [f.name for f in table.schema if f.metadata and ID in f.metadata]


@bauplan.model()
@bauplan.python('3.11')
def scanned(zones=bauplan.Model('taxi_zones')):
    import pyarrow as pa
    print('scan field ids:', ids(zones))
    # Hand the child a table whose fields carry ids, as a careless parent might.
    fields = [f.with_metadata({ID: str(i).encode()}) for i, f in enumerate(zones.schema)]
    return zones.cast(pa.schema(fields))


@bauplan.model(materialization_strategy='REPLACE')
@bauplan.python('3.11')
def child(parent=bauplan.Model('scanned')):
    print('parent field ids:', ids(parent))
    return [{'ids': len(ids(parent))}]
"#;
    let (t, dir) = lake_with(&[("models.py", models)]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(logged(&record, "scanned", "scan field ids: []"), "{record}");
    assert!(logged(&record, "child", "parent field ids: []"), "{record}");
    assert_eq!(t.scalar("SELECT ids FROM child", "main"), json!(0));
}

fn a_project_run_in_a_namespace_reads_what_another_wrote_there_first(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "2000"]);
    // A decoy in the default namespace: the run's namespace must win over it.
    t.table_from_csv("clean_trips", "PULocationID,trip_miles\n1,1.0\n");
    t.ok(&["namespace", "create", "analytics"]);
    let first = t.path("first");
    write_project(
        &first,
        &[
            ("bauplan_project.yml", PROJECT),
            (
                "clean_trips.sql",
                "-- bauplan: materialization_strategy = REPLACE\nSELECT PULocationID, trip_miles FROM taxi_fhvhv WHERE trip_miles > 2\n",
            ),
        ],
    );
    let (code, _, stderr) = run(&t, &["-p", s(&first), "-n", "analytics"]);
    assert_eq!(code, 0, "{stderr}");
    let second = t.path("second");
    write_project(
        &second,
        &[
            ("bauplan_project.yml", PROJECT),
            (
                "long_trips.sql",
                "-- bauplan: materialization_strategy = REPLACE\nSELECT COUNT(*) AS n FROM clean_trips\n",
            ),
            (
                "models.py",
                "import bauplan\n\n\n@bauplan.model(materialization_strategy='REPLACE')\n@bauplan.python('3.11')\ndef py_long_trips(trips=bauplan.Model('clean_trips', columns=['trip_miles'])):\n    return [{'n': trips.num_rows}]\n",
            ),
        ],
    );
    let (code, record, stderr) = run(&t, &["-p", s(&second), "-n", "analytics"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["status"], json!("succeeded"));
    let expected = t.scalar(
        "SELECT COUNT(*) FROM taxi_fhvhv WHERE trip_miles > 2",
        "main",
    );
    assert_ne!(expected, json!(1));
    assert_eq!(
        t.scalar("SELECT n FROM analytics.long_trips", "main"),
        expected
    );
    assert_eq!(
        t.scalar("SELECT n FROM analytics.py_long_trips", "main"),
        expected
    );
    // Without -n, bare names mean the default namespace, decoy and all.
    let (code, _, stderr) = run(&t, &["-p", s(&second)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(t.scalar("SELECT n FROM long_trips", "main"), json!(1));
}

#[test]
fn declared_columns_missing_from_the_output_warn_and_fail_under_strict() {
    let models = "import bauplan\n\n\n@bauplan.model(columns=['Borough', 'zones', 'share'], materialization_strategy='REPLACE')\n@bauplan.python('3.11')\ndef per_borough(zones=bauplan.Model('taxi_zones', columns=['Borough'])):\n    return [{'Borough': 'Queens', 'zones': 1}]\n";
    let (t, dir) = lake_with(&[("models.py", models)]);
    let head = t.json(&["log", "main", "--limit", "1"]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--strict"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        record["error"]
            .as_str()
            .is_some_and(|e| e.contains("'per_borough' declares column share")),
        "{record}"
    );
    assert_eq!(
        t.json(&["log", "main", "--limit", "1"]),
        head,
        "main untouched"
    );
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    let warnings = record["warnings"].to_string();
    assert!(
        warnings.contains("'per_borough' declares column share")
            && warnings.contains("it has: Borough, zones"),
        "{warnings}"
    );
    assert_eq!(t.scalar("SELECT zones FROM per_borough", "main"), json!(1));
}

/// A directory with a link to `uv` (from PATH) and nothing else.
fn only_uv(t: &TestLake) -> PathBuf {
    let dir = t.path("only-uv");
    std::fs::create_dir_all(&dir).unwrap();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let uv = std::env::split_paths(&path)
        .map(|d| d.join("uv"))
        .find(|p| p.is_file())
        .expect("uv on PATH (dev/test.sh puts it there)");
    std::os::unix::fs::symlink(uv, dir.join("uv")).unwrap();
    dir
}

#[test]
fn without_bubblewrap_python_models_are_refused_unless_the_user_opts_out() {
    let (t, dir) = lake_with(&[("models.py", VERSION_MODEL)]);
    let head = t.json(&["branch", "ls"]).to_string();
    let bin = only_uv(&t);
    let mut cmd = t.cmd();
    cmd.env("PATH", &bin).env_remove("BAYOU_BWRAP");
    let (code, _, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("bubblewrap")
            && stderr.contains("apt-get install bubblewrap")
            && stderr.contains("BAYOU_SANDBOX=off"),
        "{stderr}"
    );
    assert_eq!(t.json(&["branch", "ls"]).to_string(), head);
    assert_eq!(t.json(&["runs", "ls"]), json!([]), "no run was started");
    // A bubblewrap named by BAYOU_BWRAP that is not there is no sandbox either.
    let mut cmd = t.cmd();
    cmd.env("BAYOU_BWRAP", t.path("no-bwrap-here"))
        .env("PATH", &bin);
    let (code, _, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("no-bwrap-here (from BAYOU_BWRAP) does not exist"),
        "{stderr}"
    );
    // Opting out runs them, with a warning.
    let mut cmd = t.cmd();
    cmd.env("PATH", &bin).env("BAYOU_SANDBOX", "off");
    let (code, record, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        record["warnings"].to_string().contains("without a sandbox"),
        "{record}"
    );
}

#[test]
fn bayou_fetches_its_own_uv_when_none_is_installed() {
    let (t, dir) = lake_with(&[("models.py", VERSION_MODEL)]);
    // No uv anywhere: not on PATH, not in BAYOU_UV, not yet in this (fresh) cache directory.
    let cache = t.path("cache");
    let mut cmd = t.cmd();
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("BAYOU_UV")
        .env("BAYOU_CACHE_DIR", &cache);
    let (code, _, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("fetching uv 0.13.9 from PyPI"),
        "a progress line says so: {stderr}"
    );
    assert!(cache.join("tools/uv-0.13.9/uv").is_file());
    // Once there, it is used without a word.
    let mut cmd = t.cmd();
    cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env_remove("BAYOU_UV")
        .env("BAYOU_CACHE_DIR", &cache);
    let (code, _, stderr) = run_json(&mut cmd, &["-p", s(&dir), "--no-cache"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("fetching uv"), "{stderr}");
}

#[test]
fn the_git_branch_of_the_project_picks_the_data_branch() {
    let (t, dir) = lake_with(&[(
        "zones_by_borough.sql",
        "-- bauplan: materialization_strategy = REPLACE\nSELECT Borough, COUNT(*) AS zones FROM taxi_zones GROUP BY Borough\n",
    )]);
    git(&dir, &["init", "--quiet", "-b", "feat_1"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "--quiet", "-m", "first"]);
    let main_before = t.json(&["log", "main", "--limit", "1"]);
    let mut cmd = t.cmd();
    cmd.env_remove("BAYOU_GIT_BRANCH");
    let (code, record, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("created data branch feat_1 from main"),
        "{stderr}"
    );
    assert_eq!(record["target_branch"], json!("feat_1"));
    assert!(
        t.scalar("SELECT COUNT(*) FROM zones_by_borough", "feat_1")
            .as_i64()
            > Some(0)
    );
    assert_eq!(
        t.json(&["log", "main", "--limit", "1"]),
        main_before,
        "main untouched"
    );
    // On git's main (or master), the data branch is main.
    git(&dir, &["checkout", "--quiet", "-b", "master"]);
    let mut cmd = t.cmd();
    cmd.env_remove("BAYOU_GIT_BRANCH");
    let (code, record, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["target_branch"], json!("main"));
    // -r wins; BAYOU_GIT_BRANCH=off, or the profile's git_branch setting, turns it off.
    git(&dir, &["checkout", "--quiet", "feat_1"]);
    let mut cmd = t.cmd();
    cmd.env_remove("BAYOU_GIT_BRANCH");
    let (code, record, stderr) = run_json(&mut cmd, &["-p", s(&dir), "-r", "main"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["target_branch"], json!("main"));
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["target_branch"], json!("main"));
    t.ok(&["config", "set", "git_branch", "off"]);
    let mut cmd = t.cmd();
    cmd.env_remove("BAYOU_GIT_BRANCH");
    let (code, record, stderr) = run_json(&mut cmd, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["target_branch"], json!("main"), "the setting is off");
}

#[test]
fn run_takes_bauplans_no_transaction_preview_and_arg_flags() {
    let (t, dir) = lake_with(&[(
        "numbered.sql",
        "-- bauplan: materialization_strategy = REPLACE\nSELECT LocationID FROM taxi_zones ORDER BY LocationID\n",
    )]);
    let (code, record, stderr) = run(
        &t,
        &[
            "-p",
            s(&dir),
            "--no-transaction",
            "--preview",
            "tail",
            "-a",
            "priority=3",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["transaction"], json!(false));
    assert!(record["run_branch"].is_null(), "{record}");
    assert_eq!(record["args"], json!({"priority": "3"}));
    let last = t.scalar("SELECT MAX(LocationID) FROM numbered", "main");
    let preview = node(&record, "numbered")["preview"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(preview.len(), 5);
    assert_eq!(preview[4]["LocationID"], last, "tail shows the last rows");
    assert_eq!(
        record["published"],
        t.json(&["log", "main", "--limit", "1"])[0]["id"]
    );
    let branches = t.json(&["branch", "ls"]).to_string();
    assert!(!branches.contains("run/"), "no run branch: {branches}");
    // --preview alone means on (the first rows), as before.
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--preview", "--no-cache"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        node(&record, "numbered")["preview"][0]["LocationID"],
        t.scalar("SELECT MIN(LocationID) FROM numbered", "main")
    );
}

#[test]
fn expectations_fail_with_their_reason_as_warnings_or_under_strict_as_errors() {
    // A project of expectations only, reading a lake table directly.
    let expectations = r#"import bauplan


@bauplan.expectation()
@bauplan.python('3.11')
def has_rows(zones=bauplan.Model('taxi_zones', columns=['LocationID'])):
    return zones.num_rows > 0


@bauplan.expectation()
@bauplan.python('3.11')
def enough_zones(zones=bauplan.Model('taxi_zones', columns=['LocationID'])):
    assert zones.num_rows > 1_000_000, 'too few zones'
    return True


@bauplan.expectation()
@bauplan.python('3.11')
def says_yes(zones=bauplan.Model('taxi_zones', columns=['LocationID'])):
    return 'yes'
"#;
    let (t, dir) = lake_with(&[("expectations.py", expectations)]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "warnings only: {stderr}");
    let warnings = record["warnings"].to_string();
    assert!(
        warnings.contains("expectation 'enough_zones' failed: assertion failed: too few zones")
            && warnings.contains("expectation 'says_yes' failed: unsupported type str"),
        "{warnings}"
    );
    assert_eq!(node(&record, "has_rows")["status"], json!("succeeded"));
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--strict"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        record["error"].as_str().unwrap().contains("failed:"),
        "{record}"
    );
}
