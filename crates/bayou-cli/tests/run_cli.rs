//! `bayou run`: projects, plans and transform-audit-write runs, driving the real binary, with
//! Python models in real uv-built environments (uv comes from `dev/test.sh`).

mod common;

use common::{Mode, TestLake, in_both_modes, s, write_project};
use serde_json::{Value, json};

in_both_modes!(
    the_example_pipeline_publishes_its_models_and_records_the_run,
    a_failing_model_leaves_the_target_unchanged_and_keeps_the_run_branch,
    expectations_warn_unless_strict,
    every_project_problem_is_reported_at_once_with_exit_code_2,
    dry_runs_execute_everything_and_write_nothing,
    python_models_may_return_dicts_but_not_anything,
    an_unknown_package_is_a_clear_error_before_any_data_is_written,
    a_model_with_its_own_packages_may_return_a_pandas_dataframe,
    overwrite_partitions_replaces_only_the_rows_the_filter_matches,
    a_function_over_its_time_limit_is_stopped_and_reported_as_a_timeout,
    a_function_over_its_memory_limit_is_reported_as_out_of_memory,
    ctrl_c_stops_every_function_and_leaves_the_target_unchanged,
    run_records_an_older_bayou_kept_in_the_lake_join_the_history,
);

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/taxi_pipeline");

fn head(t: &TestLake, branch: &str) -> Value {
    let branches = t.json(&["branch", "ls"]);
    branches
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == branch)
        .map(|b| b["head"].clone())
        .unwrap_or(Value::Null)
}

fn run(t: &TestLake, args: &[&str]) -> (i32, Value, String) {
    common::run_json(&mut t.cmd(), args)
}

const YML: &str = "project:\n  name: test\nparameters:\n  factor:\n    type: int\n    default: 2\n";

fn the_example_pipeline_publishes_its_models_and_records_the_run(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "20000"]);
    let out = t.cmd().args(["run", "-p", EXAMPLE]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Function output streams live, prefixed with the model name.
    assert!(
        stderr.contains("top_pickup_zones | ")
            && stderr.contains("pickup zones, keeping the top 5"),
        "{stderr}"
    );
    assert!(
        stderr.contains("trips_have_a_pickup_zone | checked"),
        "{stderr}"
    );
    let tables: Vec<String> = t
        .json(&["table", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tables.contains(&"pickups".to_string()) && tables.contains(&"top_pickup_zones".to_string()),
        "{tables:?}"
    );
    assert!(
        !tables.contains(&"trips".to_string()),
        "trips is not materialized"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM top_pickup_zones", "main"),
        json!(5)
    );
    let expected = t.scalar(
        "SELECT COUNT(*) FROM taxi_fhvhv WHERE pickup_datetime >= TIMESTAMP '2023-01-15 00:00:00'",
        "main",
    );
    assert_eq!(t.scalar("SELECT SUM(trips) FROM pickups", "main"), expected);
    let runs = t.json(&["runs", "ls"]);
    assert_eq!(runs[0]["status"], json!("succeeded"));
    let id = runs[0]["id"].as_str().unwrap();
    let shown = t.json(&["runs", "show", id]);
    assert_eq!(shown["nodes"].as_array().unwrap().len(), 4);
    assert_eq!(shown["params"]["top_n"], json!(5));
    assert!(shown["code_hash"].as_str().unwrap().len() == 64);
    // The run branch is gone once published.
    assert_eq!(t.json(&["branch", "ls"]).as_array().unwrap().len(), 1);
}

fn a_failing_model_leaves_the_target_unchanged_and_keeps_the_run_branch(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n");
    let dir = t.project(
        YML,
        &[
            (
                "doubled.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT n * $factor AS n FROM nums",
            ),
            (
                "models.py",
                "import bayou\n@bayou.model(materialization_strategy='REPLACE')\ndef broken(d=bayou.Model('doubled')):\n    print('about to fail')\n    raise ValueError('bad row 7')\n",
            ),
        ],
    );
    let before = head(&t, "main");
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("'broken' failed: ValueError: bad row 7"),
        "{stderr}"
    );
    assert!(stderr.contains("main is unchanged"), "{stderr}");
    assert_eq!(record["status"], json!("failed"));
    assert_eq!(head(&t, "main"), before, "the target branch did not move");
    assert!(
        t.json(&["table", "ls"]).as_array().unwrap().len() == 1,
        "no model table on main"
    );
    let run_branch = record["run_branch"].as_str().unwrap();
    assert!(
        stderr.contains(run_branch),
        "the kept run branch is named: {stderr}"
    );
    let broken = &record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "broken")
        .unwrap()
        .clone();
    assert!(
        broken["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "about to fail")
    );
}

fn expectations_warn_unless_strict(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n,m\n1,a\n,b\n3,c\n");
    let dir = t.project(
        YML,
        &[
            (
                "copy.sql",
                "-- bayou: materialization_strategy=REPLACE\nSELECT n FROM nums",
            ),
            (
                "checks.py",
                "import bauplan\nfrom bauplan.standard_expectations import expect_column_no_nulls\n@bauplan.expectation()\ndef no_nulls(d=bauplan.Model('copy')):\n    return expect_column_no_nulls(d, 'n')\n",
            ),
        ],
    );
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        record["warnings"],
        json!(["expectation 'no_nulls' returned False"])
    );
    let before = head(&t, "main");
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--strict"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("expectation 'no_nulls' returned False (--strict)"),
        "{stderr}"
    );
    assert_eq!(record["status"], json!("failed"));
    assert_eq!(head(&t, "main"), before);
}

fn every_project_problem_is_reported_at_once_with_exit_code_2(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("taxi", "PULocationID,miles\n1,2.5\n");
    let dir = t.project(
        YML,
        &[
            ("a.sql", "SELECT * FROM b"),
            ("b.sql", "SELECT * FROM a"),
            ("bad.sql", "SELECT a FROM taxi WHERE a = = 1"),
            ("dup.sql", "SELECT 1 AS x FROM taxi"),
            (
                "models.py",
                concat!(
                    "import bayou\n",
                    "COLS = ['x']\n",
                    "@bayou.model(columns=COLS)\n",
                    "def dup(t=bayou.Model('taxii')):\n    return t\n",
                    "@bayou.model()\n",
                    "def cols(t=bayou.Model('taxi', columns=['PULocationId'], filter='miles >'), k=bayou.Parameter('nope')):\n    return t\n",
                ),
            ),
            ("syntax.py", "def f(:\n"),
        ],
    );
    let before = head(&t, "main");
    let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 2, "{stderr}");
    for expected in [
        "cycle: ",
        "reads 'taxii'",
        "did you mean taxi?",
        "duplicate model 'dup'",
        "must be a literal, not `COLS`",
        "unknown parameter 'nope'",
        "does not parse",
        "no column 'PULocationId'",
        "bad.sql:1: SQL syntax error",
        "syntax.py:1: Python syntax error",
        "models.py:3:",
    ] {
        assert!(
            stderr.contains(expected),
            "missing `{expected}` in:\n{stderr}"
        );
    }
    assert_eq!(head(&t, "main"), before);
    assert_eq!(
        t.json(&["branch", "ls"]).as_array().unwrap().len(),
        1,
        "no run branch was cut"
    );
}

fn dry_runs_execute_everything_and_write_nothing(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n");
    let dir = t.project(
        YML,
        &[(
            "doubled.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT n * $factor AS n FROM nums",
        )],
    );
    let before = head(&t, "main");
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--dry-run", "--param", "factor=10"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["nodes"][0]["rows"], json!(2));
    assert_eq!(
        record["plan"][0]["writes"],
        json!("bayou.doubled (REPLACE)")
    );
    assert_eq!(record["plan"][0]["inputs"][0]["source"], json!("nums"));
    // --preview keeps each output's first rows in the report, columns in order.
    let (_, record, _) = run(
        &t,
        &[
            "-p",
            s(&dir),
            "--dry-run",
            "--preview",
            "--param",
            "factor=10",
        ],
    );
    assert_eq!(record["nodes"][0]["columns"], json!(["n"]));
    assert_eq!(record["nodes"][0]["preview"], json!([{"n": 10}, {"n": 20}]));
    // In table mode the plan is printed before it runs.
    let out = t
        .cmd()
        .args(["run", "-p", s(&dir), "--dry-run"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("doubled [sql] runs in datafusion") && err.contains("<- table nums"),
        "{err}"
    );
    assert_eq!(head(&t, "main"), before);
    assert_eq!(t.json(&["table", "ls"]).as_array().unwrap().len(), 1);
    // A real run with the same parameter publishes the values it computed.
    let (code, _, stderr) = run(&t, &["-p", s(&dir), "--param", "factor=10"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(t.scalar("SELECT SUM(n) FROM doubled", "main"), json!(30));
}

fn python_models_may_return_dicts_but_not_anything(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n2\n");
    let dir = t.project(
        YML,
        &[(
            "models.py",
            concat!(
                "import bayou\n",
                "@bayou.model(materialization_strategy='APPEND')\n",
                "def rows(d=bayou.Model('nums', filter='n > 1'), f=bayou.Parameter('factor')):\n",
                "    return [{'n': v * f} for v in d.column('n').to_pylist()]\n",
            ),
        )],
    );
    for _ in 0..2 {
        let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(
        t.scalar("SELECT SUM(n) FROM rows", "main"),
        json!(8),
        "APPEND adds 4 twice"
    );
    write_project(
        &dir,
        &[(
            "models.py",
            "import bayou\n@bayou.model()\ndef rows(d=bayou.Model('nums')):\n    return 42\n",
        )],
    );
    let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("model 'rows' returned builtins.int"),
        "{stderr}"
    );
}

fn an_unknown_package_is_a_clear_error_before_any_data_is_written(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[
            ("first.sql", "SELECT n FROM nums"),
            (
                "models.py",
                "import bayou\n@bayou.model()\n@bayou.python('3.11', pip={'no-such-package-bayou-test': '0.0.1'})\ndef f(d=bayou.Model('nums')):\n    return d\n",
            ),
        ],
    );
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no-such-package-bayou-test"), "{stderr}");
    assert!(stderr.contains("'f'"), "{stderr}");
    let ran: Vec<&str> = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        ran,
        ["f"],
        "no model ran before the environments were ready"
    );
}

#[test]
fn independent_models_run_at_the_same_time() {
    // Each model announces itself and waits (bounded) to see the other: run one after the other,
    // the first would give up and fail the run.
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.path("p");
    let rendezvous = t.path("rendezvous");
    std::fs::create_dir_all(&rendezvous).unwrap();
    let model = |me: &str, other: &str| {
        format!(
            "import bayou, os, time\n@bayou.model()\ndef {me}(d=bayou.Model('nums')):\n    open(os.path.join({dir:?}, '{me}'), 'w').close()\n    for _ in range(3000):\n        if os.path.exists(os.path.join({dir:?}, '{other}')):\n            return d\n        time.sleep(0.01)\n    raise RuntimeError('{other} never started')\n",
            dir = rendezvous.display().to_string()
        )
    };
    write_project(
        &dir,
        &[
            ("bayou_project.yml", YML),
            ("a.py", &model("left", "right")),
            ("b.py", &model("right", "left")),
        ],
    );
    // The rendezvous directory is a host path, which the sandbox rightly hides: run unsandboxed.
    let out = t
        .cmd()
        .env("BAYOU_SANDBOX", "off")
        .args(["-O", "json", "run", "-p", s(&dir)])
        .output()
        .unwrap();
    let (code, record, stderr) = (
        out.status.code().unwrap_or(-1),
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["status"], json!("succeeded"));
}

/// Embedded only: it looks at the machine's environments (the server's in remote mode).
#[test]
fn environments_assembled_from_the_package_store_work_like_installed_ones_and_share_its_files() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n");
    // Two environments (different pins) that both hold NumPy: each checks its native libraries,
    // entry points and scripts, and says which file its NumPy is.
    let check = |name: &str, pins: &str| {
        format!(
            "@bayou.model()\n@bayou.python('3.11', pip={{{pins}}})\ndef {name}(d=bayou.Model('nums')):\n    \
             import importlib.metadata as md, os, subprocess, sys\n    import numpy as np, pandas as pd\n    \
             inverse = np.linalg.inv(np.eye(3) * 2.0)[0][0]\n    \
             scripts = {{e.name for e in md.entry_points(group='console_scripts')}}\n    \
             f2py = subprocess.run([os.path.join(sys.prefix, 'bin', 'f2py'), '-v'], capture_output=True, text=True).stdout.strip()\n    \
             frame = pd.DataFrame({{'a': [1, 2]}}).a.sum()\n    \
             stat = os.stat(np.__file__)\n    \
             import importlib.util\n    \
             compiled = os.path.exists(importlib.util.cache_from_source(np.__file__))\n    \
             print('env', inverse, 'f2py' in scripts, f2py == np.__version__, frame, stat.st_ino, stat.st_nlink >= 2, compiled, sys.prefix)\n    \
             return d\n"
        )
    };
    let models = format!(
        "import bayou\n{}{}",
        check("one", "'pandas': '2.2.3'"),
        check("two", "'pandas': '2.2.3', 'six': '1'")
    );
    let dir = t.project(YML, &[("m.py", &models)]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    let said = |name: &str| said_in(&record, name);
    let (one, two) = (said("one"), said("two"));
    for fields in [&one, &two] {
        assert_eq!(
            [&fields[0], &fields[1], &fields[2], &fields[3], &fields[5]],
            ["0.5", "True", "True", "3", "True"],
            "{fields:?}"
        );
    }
    assert_eq!(one[4], two[4], "both environments link the store's NumPy");
    // Bytecode is compiled in the background after a package is stored; once it is, the
    // environment's next use links it in.
    for package in bayou_runtime::bytecode::pending(std::path::Path::new(&one[7])) {
        bayou_runtime::bytecode::wait(&package).unwrap();
    }
    let (code, record, stderr) = run(&t, &["-p", s(&dir), "--no-cache"]);
    assert_eq!(code, 0, "{stderr}");
    let again = said_in(&record, "one");
    assert_eq!(
        again[6], "True",
        "NumPy's bytecode is in the environment: {again:?}"
    );
}

/// The fields a model of the test above printed after `env`.
fn said_in(record: &Value, name: &str) -> Vec<String> {
    let log = common::node(record, name)["log"]
        .as_array()
        .unwrap()
        .clone();
    let line = log
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.starts_with("env "))
        .unwrap_or_else(|| panic!("{name}: {log:?}"))
        .to_string();
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// Embedded only, like the test above. Engines with native code (polars, duckdb) and a
/// package whose `.pth` file runs at start (setuptools' `distutils-precedence.pth`).
#[test]
fn store_assembled_environments_run_polars_duckdb_and_pth_files() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n2\n3\n");
    let model = "import bayou\n\
        @bayou.model()\n\
        @bayou.python('3.11', pip={'polars': '1', 'duckdb': '1', 'setuptools': '80'})\n\
        def engines(d=bayou.Model('nums')):\n    \
        import sys, duckdb, polars as pl\n    \
        total = pl.from_arrow(d).select(pl.col('n').sum()).item()\n    \
        doubled = duckdb.sql('SELECT SUM(n) * 2 AS s FROM d').fetchone()[0]\n    \
        print('engines', total, doubled, '_distutils_hack' in sys.modules)\n    \
        return d\n";
    let dir = t.project(YML, &[("m.py", model)]);
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    let log = common::node(&record, "engines")["log"].clone();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|l| l == "engines 6 12 True"),
        "{log}"
    );
}

fn a_model_with_its_own_packages_may_return_a_pandas_dataframe(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "100"]);
    let dir = t.project(
        YML,
        &[
            (
                "models.py",
                concat!(
                    "import bayou\n",
                    "@bayou.model(materialization_strategy='REPLACE')\n",
                    "@bayou.python('3.11', pip={'pandas': '2.2.3'})\n",
                    "def by_pandas(zones=bayou.Model('taxi_zones', columns=['Borough'])):\n",
                    "    import pandas as pd\n",
                    "    print('pandas', pd.__version__)\n",
                    "    return zones.to_pandas().groupby('Borough').size().reset_index(name='zones')\n",
                ),
            ),
        ],
    );
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        record["nodes"][0]["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == "pandas 2.2.3")
    );
    assert_eq!(
        t.scalar("SELECT SUM(zones) FROM by_pandas", "main"),
        json!(265)
    );
}

fn overwrite_partitions_replaces_only_the_rows_the_filter_matches(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let csv = t.csv("src.csv", "d,v\n2023-01-01,1\n2023-01-01,2\n2023-01-02,5\n");
    t.ok(&["table", "create", "src", "--search-uri", s(&csv)]);
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            (
                "bayou_project.yml",
                "project: {name: op}\nparameters:\n  day: {type: str, default: '2023-01-01'}\n  factor: {type: int, default: 10}\n",
            ),
            (
                "models.py",
                concat!(
                    "import bayou\n",
                    "@bayou.model(materialization_strategy='OVERWRITE_PARTITIONS', partitioned_by='d', overwrite_filter='d = $day')\n",
                    "def events(src=bayou.Model('src', filter='d = $day'), f=bayou.Parameter('factor')):\n",
                    "    import pyarrow.compute as pc\n",
                    "    return src.set_column(1, 'v', pc.multiply(src.column('v'), f))\n",
                ),
            ),
        ],
    );
    let sum = || t.scalar("SELECT SUM(v) FROM events", "main");
    let go = |args: &[&str]| {
        let mut all = vec!["-p", s(&dir)];
        all.extend_from_slice(args);
        let (code, _, stderr) = run(&t, &all);
        assert_eq!(code, 0, "{stderr}");
    };
    go(&[]);
    assert_eq!(sum(), json!(30));
    go(&["--param", "day=2023-01-02"]);
    assert_eq!(sum(), json!(80), "the other day is kept");
    // The table's data files, as another Iceberg reader lists them.
    let files = || -> Vec<String> {
        let location = t.json(&["table", "get", "events"])["metadata_location"].clone();
        let script = "import json, sys
from pyiceberg.table import StaticTable
files = StaticTable.from_metadata(sys.argv[1]).inspect.files()
print(json.dumps(sorted(files.column('file_path').to_pylist())))";
        serde_json::from_str(&common::python_ok(&[
            "-c",
            script,
            location.as_str().unwrap(),
        ]))
        .unwrap()
    };
    let before = files();
    assert_eq!(before.len(), 2, "a file per day: {before:?}");
    go(&["--param", "factor=1"]);
    assert_eq!(sum(), json!(53), "only 2023-01-01 was replaced");
    // The other day's file is kept as it was (not read, not rewritten); the replaced day's is gone.
    let after = files();
    let carried: Vec<&String> = after.iter().filter(|f| before.contains(f)).collect();
    assert_eq!(
        (after.len(), carried.len()),
        (2, 1),
        "{before:?} -> {after:?}"
    );
    // A filter is checked before anything runs: its parameters when the project loads, its
    // columns against the table it overwrites.
    let refuse = |filter: &str| -> String {
        let models = std::fs::read_to_string(dir.join("models.py")).unwrap();
        let config = std::fs::read_to_string(dir.join("bayou_project.yml")).unwrap();
        let changed = models.replace(
            "overwrite_filter='d = $day'",
            &format!("overwrite_filter='{filter}'"),
        );
        let bad = t.path("bad");
        write_project(
            &bad,
            &[("bayou_project.yml", &config), ("models.py", &changed)],
        );
        let (code, _, stderr) = run(&t, &["-p", s(&bad)]);
        assert_eq!(code, 2, "{stderr}");
        stderr
    };
    let unknown = refuse("d = $dday");
    assert!(
        unknown.contains("models.py") && unknown.contains("unknown parameter 'dday'"),
        "{unknown}"
    );
    let missing = refuse("dd = $day");
    assert!(
        missing.contains("models.py:2: the overwrite_filter of 'events' names column 'dd'")
            && missing.contains("did you mean d"),
        "{missing}"
    );
    assert_eq!(sum(), json!(53), "nothing ran");
    assert_eq!(
        t.json(&["table", "get", "events"])["partitioning"],
        json!("d")
    );
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn leftovers_of_crashed_runs_are_removed_and_live_ones_kept() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let exchange = t.path("exchange");
    let dead = exchange.join("20260101000000-dead00");
    let no_pid = exchange.join("20260101000000-nopid0");
    let live = exchange.join("20260101000000-live00");
    for d in [&dead, &no_pid, &live] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("in_x.arrow"), b"leftover").unwrap();
    }
    let unrelated = exchange.join("photos");
    std::fs::create_dir_all(&unrelated).unwrap();
    // A crashed run's pid file is not locked; a live run holds the lock on its own.
    std::fs::write(dead.join("pid"), "4294967").unwrap();
    std::fs::write(live.join("pid"), std::process::id().to_string()).unwrap();
    let held = std::fs::File::open(live.join("pid")).unwrap();
    held.lock().unwrap();
    // A directory without a pid file is being claimed, unless it is old.
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    std::fs::File::open(&no_pid)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
    let dir = t.project(
        YML,
        &[(
            "m.py",
            "import bayou\n@bayou.model()\ndef m(d=bayou.Model('nums')):\n    return d\n",
        )],
    );
    let out = t
        .cmd()
        .env("BAYOU_EXCHANGE_DIR", &exchange)
        .args(["run", "-p", s(&dir)])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !dead.exists() && !no_pid.exists(),
        "dead runs' files are removed"
    );
    assert!(live.exists(), "a live run's files stay");
    drop(held);
    assert!(
        unrelated.exists(),
        "what is not a run directory is never touched"
    );
    let left: Vec<_> = std::fs::read_dir(&exchange).unwrap().collect();
    assert_eq!(left.len(), 2, "the run removed its own files");
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn env_ls_and_prune_show_and_remove_cached_environments() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let cache = t.path("private-cache");
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou\n@bayou.model()\n@bayou.python('3.11')\ndef m(d=bayou.Model('nums')):\n    return d\n",
            ),
        ],
    );
    let bayou = |args: &[&str]| {
        let out = t
            .cmd()
            .env("BAYOU_CACHE_DIR", &cache)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    bayou(&["run", "-p", s(&dir)]);
    let envs = bayou(&["-O", "json", "env", "ls"]);
    assert_eq!(envs.as_array().unwrap().len(), 1);
    assert_eq!(envs[0]["python"], json!("3.11"));
    assert!(
        envs[0]["size_bytes"].as_u64().unwrap() > 1_000_000,
        "pyarrow is in it"
    );
    assert_eq!(
        bayou(&["-O", "json", "env", "prune"])
            .as_array()
            .unwrap()
            .len(),
        0,
        "recently used: kept"
    );
    assert_eq!(
        bayou(&["-O", "json", "env", "prune", "--all"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(bayou(&["-O", "json", "env", "ls"]), json!([]));
}

/// Embedded only: it sets up the machine that runs the functions (its caches, limits or files), which is the server's in remote mode.
#[test]
fn the_sandbox_refuses_the_network_host_files_and_writes_outside_the_output() {
    let t = TestLake::new();
    t.table_from_csv("nums", "n\n1\n");
    let secret = t.path("lake/catalog.db");
    assert!(secret.exists());
    let dir = t.path("p");
    let model = |name: &str, body: &str| {
        format!(
            "import bayou\n@bayou.model()\ndef {name}(d=bayou.Model('nums')):\n    {body}\n    return d\n"
        )
    };
    // A server on the host's loopback: reachable from any unsandboxed process, not from inside.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connect =
        format!("import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)");
    let cases = [
        ("socket", connect.as_str(), "Connection refused"),
        (
            "host_file",
            &format!("open({:?}).read()", secret.display().to_string()),
            "No such file or directory",
        ),
        (
            "write_outside",
            &format!(
                "open({:?}, 'w').write('x')",
                dir.join("evil.txt").display().to_string()
            ),
            // The run executes a snapshot of the project, so the host's project directory is
            // not even visible inside the sandbox.
            "No such file or directory",
        ),
    ];
    for (name, body, refusal) in cases {
        write_project(
            &dir,
            &[("bayou_project.yml", YML), ("m.py", &model(name, body))],
        );
        let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
        assert_eq!(code, 1, "{name} must fail:\n{stderr}");
        assert!(
            stderr.contains(&format!("'{name}' failed")) && stderr.contains(refusal),
            "{name}:\n{stderr}"
        );
    }
    assert!(!dir.join("evil.txt").exists());
}

fn a_function_over_its_time_limit_is_stopped_and_reported_as_a_timeout(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou, time\n@bayou.model()\n@bayou.resources(timeout=1)\ndef slow(d=bayou.Model('nums')):\n    time.sleep(600)\n    return d\n",
            ),
        ],
    );
    let before = head(&t, "main");
    let (code, _, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("'slow' failed: timed out after 1s"),
        "{stderr}"
    );
    assert_eq!(head(&t, "main"), before);
}

fn a_function_over_its_memory_limit_is_reported_as_out_of_memory(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou\n@bayou.model()\n@bayou.resources(memory='200MB', cpus=1)\ndef hog(d=bayou.Model('nums')):\n    blocks = [bytearray(50 * 1024 * 1024) for _ in range(20)]\n    return d\n",
            ),
            (
                "ok.py",
                "import bayou\n@bayou.model()\n@bayou.resources(memory='300MiB')\ndef modest(d=bayou.Model('nums')):\n    blocks = [bytearray(10 * 1024 * 1024) for _ in range(5)]\n    return d\n",
            ),
        ],
    );
    let (code, record, stderr) = run(&t, &["-p", s(&dir)]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("'hog' failed: out of memory: it used more than its 200 MB limit"),
        "{stderr}"
    );
    let modest = record["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "modest")
        .cloned();
    if let Some(m) = modest {
        assert_ne!(
            m["status"],
            json!("failed"),
            "a function within its limit is not killed"
        );
    }
}

fn ctrl_c_stops_every_function_and_leaves_the_target_unchanged(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.table_from_csv("nums", "n\n1\n");
    let dir = t.project(
        YML,
        &[
            (
                "m.py",
                "import bayou, time\n@bayou.model(materialization_strategy='REPLACE')\ndef sleeper(d=bayou.Model('nums')):\n    print('sleeping', flush=True)\n    time.sleep(600)\n    return d\n",
            ),
        ],
    );
    let before = head(&t, "main");
    let exchange = t.path("exchange");
    // Wait until the function is really running (a condition, not a timer).
    let mut run = t.std_cmd();
    run.args(["run", "-p", s(&dir)])
        .env("BAYOU_EXCHANGE_DIR", &exchange)
        .stdout(std::process::Stdio::null());
    let (mut child, lines, _) = common::spawn_until(&mut run, "sleeper | sleeping");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}");
    assert!(
        rest.iter()
            .any(|l| l.contains("interrupted") && l.contains("main is unchanged")),
        "{rest:?}"
    );
    assert_eq!(head(&t, "main"), before);
    // Its record says it was interrupted, not "running" for good.
    let runs = t.json(&["runs", "ls"]);
    assert_eq!(runs[0]["status"], json!("failed"), "{runs}");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("interrupted"),
        "{runs}"
    );
    // The function's process is gone: nothing still runs from this run's exchange directory.
    let marker = exchange.display().to_string();
    let still_running = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|p| {
            std::fs::read(p.path().join("cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&marker))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while still_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "the function outlived the interrupted run"
        );
        std::thread::yield_now();
    }
}

fn run_records_an_older_bayou_kept_in_the_lake_join_the_history(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["branch", "ls"]); // makes the lake
    let head = t.json(&["branch", "ls"])[0]["head"].clone();
    let legacy = json!({
        "id": "20250101000000-abcdef", "project": "old", "code_hash": "00",
        "params": {}, "target_branch": "main", "base_commit": head, "run_branch": null,
        "run_branch_kept": false, "dry_run": false, "status": "succeeded", "nodes": [],
        "warnings": [], "error": null, "published": null,
        "started_ms": 1735689600000_i64, "finished_ms": 1735689601000_i64,
    });
    let runs = t.lake().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::write(runs.join("20250101000000-abcdef.json"), legacy.to_string()).unwrap();
    let listed = t.json(&["job", "ls"]);
    assert_eq!(listed[0]["id"], "20250101000000-abcdef", "{listed}");
    assert_eq!(
        listed[0]["user"], "unknown",
        "who ran it was not recorded then"
    );
    let got = t.json(&["job", "get", "20250101000000-abcdef"]);
    assert_eq!(got["project"], "old");
}
