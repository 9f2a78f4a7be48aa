//! bauplan's CLI habits on bayou: `commit` as the log with filters and formats, the
//! `--if-exists`/`--if-not-exists` flags, `branch get`, `table ls` filters, `checkout -b`,
//! `version`, and the run id on every commit a run makes.

mod common;

use common::{Mode, TestLake, in_both_modes, run_json, s, write_project};
use serde_json::{Value, json};

in_both_modes!(
    creating_what_exists_and_removing_what_does_not_succeed_with_the_if_flags,
    branch_get_lists_its_tables_and_table_ls_filters_by_namespace_and_name,
    commit_filters_the_log_and_a_runs_commits_carry_its_id,
    init_makes_a_project_that_runs_and_refuses_to_overwrite_one,
    parameters_are_set_listed_used_and_removed_through_the_project_file,
    a_secret_parameter_is_stored_encrypted_and_reaches_only_the_function,
    query_cuts_long_text_unless_no_trunc_and_job_names_runs,
    a_table_plan_lists_conflicts_for_the_user_to_resolve_then_applies,
    import_skips_files_it_has_takes_what_fits_and_goes_on_past_bad_files_when_asked,
    a_run_id_that_is_a_path_is_refused_not_followed,
);

fn creating_what_exists_and_removing_what_does_not_succeed_with_the_if_flags(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["branch", "create", "dev"]);
    t.ok(&["tag", "create", "v1"]);
    t.ok(&["namespace", "create", "raw"]);
    // Without the flags, each is an error.
    assert!(t.fails(&["branch", "create", "dev"]).contains("dev"));
    assert!(t.fails(&["tag", "rm", "nope"]).contains("nope"));
    assert!(t.fails(&["namespace", "rm", "nope"]).contains("nope"));
    assert!(t.fails(&["table", "rm", "nope"]).contains("nope"));
    // With them, nothing to do is success.
    for args in [
        &["branch", "create", "dev", "--if-not-exists"][..],
        &["branch", "rm", "nope", "--if-exists"],
        &["tag", "create", "v1", "--if-not-exists"],
        &["tag", "rm", "nope", "--if-exists"],
        &["namespace", "create", "raw", "--if-not-exists"],
        &["namespace", "rm", "nope", "--if-exists"],
        &["table", "rm", "nope", "--if-exists"],
    ] {
        let out = t.ok(args);
        assert!(
            out.contains("nothing to do") || out.contains("nothing to remove"),
            "{args:?}: {out}"
        );
    }
    // And what does exist is still removed.
    t.ok(&["branch", "rm", "dev", "--if-exists"]);
    let branches = t.json(&["branch", "ls"]).to_string();
    assert!(!branches.contains("\"dev\""), "{branches}");
}

fn branch_get_lists_its_tables_and_table_ls_filters_by_namespace_and_name(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "100"]);
    t.ok(&["namespace", "create", "raw"]);
    t.table_from_csv("raw.trips_2024", "a\n1\n");
    t.ok(&["checkout", "-b", "dev"]);
    t.table_from_csv("raw.zones_copy", "a\n1\n");
    let dev = t.json(&["branch", "get", "dev"]);
    let names: Vec<&str> = dev["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{dev}");
    assert!(names.contains(&"zones_copy"));
    let main = t.json(&["branch", "get", "main"]);
    assert_eq!(main["tables"].as_array().unwrap().len(), 3, "{main}");
    assert!(t.fails(&["branch", "get", "v_nope"]).contains("v_nope"));
    let raw = t.json(&["table", "ls", "--namespace", "raw", "--name", "trips"]);
    assert_eq!(raw.as_array().unwrap().len(), 1, "{raw}");
    assert_eq!(raw[0]["name"], json!("trips_2024"));
    let default = t.json(&["table", "ls", "--namespace", "bauplan"]);
    assert_eq!(
        default.as_array().unwrap().len(),
        2,
        "bauplan = bayou: {default}"
    );
    // checkout -b made dev the active branch.
    assert_eq!(t.json(&["info"])["active_branch"], json!("dev"));
}

fn commit_filters_the_log_and_a_runs_commits_carry_its_id(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "100"]);
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            ("bauplan_project.yml", "project:\n  name: p\n"),
            (
                "zone_count.sql",
                "-- bauplan: materialization_strategy = REPLACE\nSELECT COUNT(*) AS n FROM taxi_zones\n",
            ),
        ],
    );
    let (code, record, stderr) = run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    let id = record["id"].as_str().unwrap();
    let by_run = t.json(&["commit", "--property", &format!("bayou_run_id={id}")]);
    let by_run = by_run.as_array().unwrap();
    assert_eq!(by_run.len(), 1, "{by_run:?}");
    assert_eq!(by_run[0]["properties"]["bpln_job_id"], json!(id));
    assert!(
        by_run[0]["message"]
            .as_str()
            .unwrap()
            .contains("zone_count")
    );
    // Message and author filters are regular expressions; --limit caps the list.
    let model = t.json(&["commit", "--message", "zone_count$", "--limit", "5"]);
    assert_eq!(model.as_array().unwrap().len(), 1, "{model}");
    let nobody = t.json(&["commit", "--author-name", "^nobody$"]);
    assert_eq!(nobody, json!([]));
    let all = t.json(&["commit", "--author-name", "^tester$"]);
    assert!(all.as_array().unwrap().len() >= 2, "{all}");
    // git's formats.
    let oneline = t.ok(&["commit", "--format", "oneline", "--limit", "2"]);
    assert_eq!(oneline.lines().count(), 2, "{oneline}");
    assert!(
        oneline
            .lines()
            .all(|l| l.split('\t').next().unwrap().len() == 64)
    );
    let full = t.ok(&["commit", "--format", "full", "--limit", "1"]);
    assert!(
        full.starts_with("commit ")
            && full.contains("Author: tester")
            && full.contains(&format!("bayou_run_id={id}")),
        "{full}"
    );
    assert!(
        t.refuses(&["commit", "--message", "("])
            .contains("not a regular expression")
    );
}

/// Embedded only: about the lake a profile opens on this machine.
#[test]
fn version_needs_no_lake() {
    let t = TestLake::new();
    let v: Value = t.json(&["version"]);
    assert_eq!(v["version"], json!(env!("CARGO_PKG_VERSION")));
    assert!(!t.lake().exists(), "no lake was created");
}

fn init_makes_a_project_that_runs_and_refuses_to_overwrite_one(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "500"]);
    let dir = t.path("my_pipeline");
    let created = t.json(&["init", s(&dir)]);
    assert_eq!(created["name"], json!("my_pipeline"));
    let id = created["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let yml = std::fs::read_to_string(dir.join("bayou_project.yml")).unwrap();
    assert!(yml.contains(id), "{yml}");
    let (code, record, stderr) = run_json(&mut t.cmd(), &["-p", s(&dir)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(record["nodes"][0]["name"], json!("trips_per_zone"));
    assert!(t.refuses(&["init", s(&dir)]).contains("exists already"));
}

fn parameters_are_set_listed_used_and_removed_through_the_project_file(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "500"]);
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            ("bauplan_project.yml", "project:\n  name: p\n"),
            (
                "long_trips.sql",
                "-- bauplan: materialization_strategy = REPLACE\nSELECT COUNT(*) AS n FROM taxi_fhvhv WHERE trip_miles > $min_miles\n",
            ),
        ],
    );
    let p = s(&dir);
    t.ok(&[
        "parameter",
        "set",
        "min_miles",
        "2.5",
        "--type",
        "float",
        "--description",
        "Shortest trip kept",
        "-p",
        p,
    ]);
    t.ok(&["parameter", "set", "label", "--required", "-p", p]);
    assert!(
        t.refuses(&["parameter", "set", "min_miles", "far", "-p", p])
            .contains("'far' is not a valid float")
    );
    let listed = t.json(&["parameter", "ls", "-p", p]);
    assert_eq!(
        listed,
        json!([
            {"name": "min_miles", "type": "float", "required": false, "default": "2.5", "description": "Shortest trip kept"},
            {"name": "label", "type": "str", "required": true, "default": null, "description": null},
        ])
    );
    // The run uses them: the required one must be given.
    let (code, _, stderr) = run_json(&mut t.cmd(), &["-p", p]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("parameter 'label' is required"), "{stderr}");
    let (code, _, stderr) = run_json(&mut t.cmd(), &["-p", p, "--param", "label=x"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        t.scalar("SELECT n FROM long_trips", "main"),
        t.scalar(
            "SELECT COUNT(*) FROM taxi_fhvhv WHERE trip_miles > 2.5",
            "main"
        )
    );
    t.ok(&["parameter", "rm", "label", "-p", p]);
    assert_eq!(
        t.json(&["parameter", "ls", "-p", p])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        t.refuses(&["parameter", "rm", "label", "-p", p])
            .contains("no parameter 'label'")
    );
}

/// Embedded only: about the lake a profile opens on this machine.
#[test]
fn profiles_hold_the_lake_and_settings() {
    let t = TestLake::new();
    let other = t.path("other-lake");
    // Settings of a profile, in ~/.bayou/config.toml under the test's HOME.
    let mut cmd = t.cmd();
    cmd.env_remove("BAYOU_LAKE")
        .args(["config", "set", "lake", s(&other), "-P", "team"]);
    assert!(cmd.output().unwrap().status.success());
    let config = std::fs::read_to_string(t.path(".bayou/config.toml")).unwrap();
    assert!(config.contains("[profiles.team]"), "{config}");
    // Commands with -P team use its lake; --lake or BAYOU_LAKE still win.
    let out = t
        .cmd()
        .env_remove("BAYOU_LAKE")
        .args(["-P", "team", "namespace", "create", "only_in_other"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(other.exists());
    let mine = t.json(&["namespace", "ls"]).to_string();
    assert!(!mine.contains("only_in_other"), "{mine}");
    let got = t
        .cmd()
        .env_remove("BAYOU_LAKE")
        .env("BAYOU_PROFILE", "team")
        .args(["-O", "json", "config", "get", "--all"])
        .output()
        .unwrap();
    let got: Value = serde_json::from_slice(&got.stdout).unwrap();
    assert_eq!(got["lake"], json!(s(&other)));
    assert_eq!(got["active_branch"], json!("main"));
    // active_branch is the lake's own; unknown keys and values are usage errors.
    t.ok(&["branch", "create", "dev"]);
    t.ok(&["config", "set", "active_branch", "dev"]);
    assert_eq!(t.json(&["info"])["active_branch"], json!("dev"));
    assert!(
        t.refuses(&["config", "set", "colour", "red"])
            .contains("unknown setting 'colour'")
    );
    t.refuses(&["config", "set", "git_branch", "maybe"]);
}

fn a_secret_parameter_is_stored_encrypted_and_reaches_only_the_function(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["demo", "load", "--rows", "100"]);
    let dir = t.path("p");
    write_project(
        &dir,
        &[
            ("bauplan_project.yml", "project:\n  name: p\n"),
            (
                "models.py",
                "import bauplan\n\n\n@bauplan.model(materialization_strategy='REPLACE')\n@bauplan.python('3.11')\ndef uses_token(zones=bauplan.Model('taxi_zones', columns=['Borough']), token=bauplan.Parameter('api_token')):\n    print('the token is', token)\n    return [{'ok': token == 'hunter2-s3cr3t'}]\n",
            ),
        ],
    );
    let p = s(&dir);
    t.ok(&[
        "parameter",
        "set",
        "api_token",
        "hunter2-s3cr3t",
        "--type",
        "secret",
        "-p",
        p,
    ]);
    let file = std::fs::read_to_string(dir.join("bauplan_project.yml")).unwrap();
    assert!(
        !file.contains("hunter2") && file.contains("bayou-secret:v1:"),
        "{file}"
    );
    let listed = t.json(&["parameter", "ls", "-p", p]);
    assert_eq!(listed[0]["default"], json!("***"));
    let out = t
        .cmd()
        .args(["-O", "json", "run", "-p", p])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(t.scalar("SELECT ok FROM uses_token", "main"), json!(true));
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("the token is ***"),
        "the log line is masked: {stdout}"
    );
    let record: Value = serde_json::from_str(&stdout).unwrap();
    let id = record["id"].as_str().unwrap();
    let shown = t.ok(&["-O", "json", "runs", "show", id]);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        record["params"]["api_token"]
            .as_str()
            .unwrap()
            .starts_with("secret:")
    );
    // A replay decrypts it again (the record only holds it masked).
    let (out, err) = t.ok_noting(&["-O", "json", "rerun", id]);
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}\n{err}"
    );
    let replay: Value = serde_json::from_str(&out).unwrap();
    let kept = replay["run_branch"].as_str().unwrap();
    assert_eq!(t.scalar("SELECT ok FROM uses_token", kept), json!(true));
    // Another lake cannot read it, and says what to do.
    let other = TestLake::new();
    other.ok(&["demo", "load", "--rows", "100"]);
    let (code, _, stderr) = run_json(&mut other.cmd(), &["-p", p]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("api_token") && stderr.contains("bayou parameter set api_token"),
        "{stderr}"
    );
    // A value on the command line needs no decrypting.
    let (code, _, stderr) = run_json(
        &mut other.cmd(),
        &["-p", p, "--param", "api_token=hunter2-s3cr3t"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        other.scalar("SELECT ok FROM uses_token", "main"),
        json!(true)
    );
    // Making a plaintext parameter secret encrypts the value it already has.
    t.ok(&["parameter", "set", "plain", "visible-value", "-p", p]);
    t.ok(&["parameter", "set", "plain", "--type", "secret", "-p", p]);
    let file = std::fs::read_to_string(dir.join("bauplan_project.yml")).unwrap();
    assert!(!file.contains("visible-value"), "{file}");
}

fn query_cuts_long_text_unless_no_trunc_and_job_names_runs(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let long = "x".repeat(200);
    let shown = t.ok(&["query", &format!("SELECT '{long}' AS v")]);
    assert!(
        shown.contains(&format!("{}…", "x".repeat(80))) && !shown.contains(&"x".repeat(81)),
        "{shown}"
    );
    let whole = t.ok(&["query", &format!("SELECT '{long}' AS v"), "--no-trunc"]);
    assert!(whole.contains(&long), "{whole}");
    let json = t.json(&["query", &format!("SELECT '{long}' AS v")]);
    assert_eq!(json[0]["v"], json!(long), "JSON is never cut");
    assert_eq!(t.json(&["job", "ls"]), json!([]));
}

fn a_table_plan_lists_conflicts_for_the_user_to_resolve_then_applies(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.csv("in/a.csv", "id,fare\n1,2\n2,3\n");
    t.csv("in/b.csv", "id,fare,tip\n3,2.5,1\n");
    let glob = t.path("in/*.csv");
    // create refuses to guess the type of fare (the input's problem: exit code 2).
    let err = t.refuses(&["table", "create", "fares", "--search-uri", s(&glob)]);
    assert!(
        err.contains("fare: Int64 in") && err.contains("Float64 in") && err.contains("create-plan"),
        "{err}"
    );
    let plan_file = t.path("fares.yaml");
    t.ok(&[
        "table",
        "create-plan",
        "fares",
        "--search-uri",
        s(&glob),
        "-p",
        s(&plan_file),
    ]);
    let plan = std::fs::read_to_string(&plan_file).unwrap();
    assert!(
        plan.contains("conflicts:") && plan.contains("column: fare"),
        "{plan}"
    );
    // Applying it as it is names the conflict.
    let err = t.refuses(&["table", "create-plan-apply", "--plan", s(&plan_file)]);
    assert!(
        err.contains("unresolved conflict") && err.contains("fare"),
        "{err}"
    );
    // The user picks Float64 and deletes the conflict.
    let mut edited: serde_yaml::Value = serde_yaml::from_str(&plan).unwrap();
    for c in edited["columns"].as_sequence_mut().unwrap() {
        if c["name"] == "fare" {
            c["type"] = "Float64".into();
        }
    }
    edited["conflicts"] = serde_yaml::Value::Sequence(vec![]);
    std::fs::write(&plan_file, serde_yaml::to_string(&edited).unwrap()).unwrap();
    t.ok(&["table", "create-plan-apply", "--plan", s(&plan_file)]);
    assert_eq!(t.scalar("SELECT SUM(fare) FROM fares", "main"), json!(7.5));
    // tip is only in b.csv: null elsewhere.
    assert_eq!(t.scalar("SELECT COUNT(tip) FROM fares", "main"), json!(1));
    let columns = t.json(&["table", "get", "fares"])["columns"].to_string();
    assert!(columns.contains("\"Float64\""), "{columns}");
    // A type some values do not fit fails naming the column, rather than storing nulls.
    t.csv("odd/a.csv", "id,size\n1,7\n");
    t.csv("odd/b.csv", "id,size\n2,n/a\n");
    let odd = t.path("odd/*.csv");
    let odd_plan = t.path("odd.yaml");
    t.ok(&[
        "table",
        "create-plan",
        "sizes",
        "--search-uri",
        s(&odd),
        "-p",
        s(&odd_plan),
    ]);
    let mut edited: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&odd_plan).unwrap()).unwrap();
    for c in edited["columns"].as_sequence_mut().unwrap() {
        if c["name"] == "size" {
            c["type"] = "Int64".into();
        }
    }
    edited["conflicts"] = serde_yaml::Value::Sequence(vec![]);
    std::fs::write(&odd_plan, serde_yaml::to_string(&edited).unwrap()).unwrap();
    let err = t.fails(&["table", "create-plan-apply", "--plan", s(&odd_plan)]);
    assert!(err.contains("'size'") && err.contains("n/a"), "{err}");
}

fn import_skips_files_it_has_takes_what_fits_and_goes_on_past_bad_files_when_asked(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let first = t.csv("a/first.csv", "id,fare\n1,1.5\n");
    t.ok(&["table", "create", "fares", "--search-uri", s(&first)]);
    // The same file again: nothing to do, unless asked.
    let out = t.ok(&["table", "import", "fares", "--search-uri", s(&first)]);
    assert!(out.contains("nothing to import"), "{out}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM fares", "main"), json!(1));
    t.ok(&[
        "table",
        "import",
        "fares",
        "--search-uri",
        s(&first),
        "--import-duplicate-files",
    ]);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM fares", "main"), json!(2));
    // A column the table lacks: an error naming it, or left out with --best-effort.
    let wider = t.csv("b/wider.csv", "id,fare,colour\n2,2.5,red\n");
    let err = t.fails(&["table", "import", "fares", "--search-uri", s(&wider)]);
    assert!(err.contains("colour"), "{err}");
    let (_, notes) = t.ok_noting(&[
        "table",
        "import",
        "fares",
        "--search-uri",
        s(&wider),
        "--best-effort",
    ]);
    assert!(notes.contains("left out column 'colour'"), "{notes}");
    assert_eq!(t.scalar("SELECT SUM(fare) FROM fares", "main"), json!(5.5));
    // A file that cannot be read stops the import, or is skipped with --continue-on-error.
    t.csv("c/good.csv", "id,fare\n3,3.0\n");
    t.csv("c/bad.csv", "");
    let glob = t.path("c/*.csv");
    let err = t.fails(&["table", "import", "fares", "--search-uri", s(&glob)]);
    assert!(err.contains("bad.csv"), "{err}");
    let (_, notes) = t.ok_noting(&[
        "table",
        "import",
        "fares",
        "--search-uri",
        s(&glob),
        "--continue-on-error",
    ]);
    assert!(
        notes.contains("skipped") && notes.contains("bad.csv"),
        "{notes}"
    );
    assert_eq!(t.scalar("SELECT SUM(fare) FROM fares", "main"), json!(8.5));
}

fn a_run_id_that_is_a_path_is_refused_not_followed(mode: Mode) {
    let t = TestLake::in_mode(mode);
    for args in [
        &["runs", "show", "../catalog"][..],
        &["rerun", "../../etc/passwd"],
        &["job", "get", "runs/../x"],
    ] {
        let err = t.refuses(args);
        assert!(err.contains("is no run id"), "{args:?}: {err}");
    }
}
