//! The same CLI tests, run on an embedded lake and through a `bayou server` (catalog on a real
//! PostgreSQL, a real API key): one source, both modes. Outputs and exit codes must match.

mod common;

use common::{Mode, TestLake, git, in_both_modes, spawn_until};

in_both_modes!(
    branches_and_tags_are_created_listed_renamed_and_removed,
    existing_and_missing_names_fail_alike_unless_told_otherwise,
    namespaces_and_the_commit_log,
    tables_written_on_the_lake_are_listed_and_diffed,
    queries_stream_the_same_rows_errors_and_files,
    a_project_runs_publishes_reuses_and_is_recorded,
    a_failing_run_leaves_the_target_unchanged_and_project_errors_name_the_file,
    ctrl_c_stops_a_run_and_its_record_says_so,
    a_run_whose_process_is_killed_is_recorded_as_crashed_by_the_next_look,
    job_ls_filters_by_status_user_and_kind,
    merges_checkout_info_and_table_changes,
    a_run_in_a_git_checkout_targets_the_data_branch_of_its_git_branch,
    job_logs_print_a_finished_runs_lines,
    a_past_run_is_replayed_from_its_code_snapshot,
);

fn a_past_run_is_replayed_from_its_code_snapshot(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let dir = doubling(&t);
    t.ok(&["run", "-p", dir.to_str().unwrap()]);
    let id = t.json(&["job", "ls"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The project moves on; the replay runs the code as it was.
    std::fs::write(
        dir.join("doubled.sql"),
        "-- bayou: materialization_strategy=REPLACE\nSELECT id, miles * 3 AS miles FROM trips",
    )
    .unwrap();
    let main_before = t.json(&["branch", "ls"]);
    let kept = t.ok(&["rerun", &id]);
    assert!(kept.contains("main is unchanged"), "{kept}");
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], main_before[0]["head"]);
    let reruns = t.json(&["job", "ls", "--kind", "rerun"]);
    assert_eq!(reruns[0]["replay_of"], id.as_str());
    let branch = reruns[0]["run_branch"].as_str().unwrap().to_string();
    assert_eq!(
        t.scalar("SELECT SUM(miles) FROM doubled", &branch),
        13.0,
        "the snapshot's doubling, not today's tripling"
    );
    // Publishing a replay of a REPLACE over a table main changed since: a conflict, named.
    let conflict = t.fails(&["rerun", &id, "--from", "doubled", "--publish"]);
    assert!(
        conflict.contains("both changed bayou.doubled"),
        "{conflict}"
    );
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], main_before[0]["head"]);
    let reruns = t.json(&["job", "ls", "--kind", "rerun"]);
    assert_eq!(reruns.as_array().unwrap().len(), 2, "{reruns}");
}

fn job_logs_print_a_finished_runs_lines(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let dir = t.project(
        YML,
        &[(
            "m.py",
            "import bayou\n@bayou.model()\n@bayou.python('3.11')\ndef chatty(d=bayou.Model('trips')):\n    print('first line', flush=True)\n    print('second line', flush=True)\n    return d\n",
        )],
    );
    t.ok(&["run", "-p", dir.to_str().unwrap()]);
    let id = t.json(&["job", "ls"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let text = t.ok(&["job", "logs", &id]);
    assert!(
        text.contains("chatty | first line\n") && text.contains("chatty | second line"),
        "{text}"
    );
    let lines = t.json(&["job", "logs", &id]);
    assert_eq!(lines[0]["node"], "chatty");
    assert_eq!(lines[1]["line"], "second line");
    // Following a run that has ended prints what it logged.
    let followed = t.ok(&["job", "logs", &id, "--follow"]);
    assert!(followed.contains("chatty | second line"), "{followed}");
    let unknown = t.refuses(&["job", "logs", "20200101000000-000000"]);
    assert!(unknown.contains("unknown run"), "{unknown}");
}

fn a_run_in_a_git_checkout_targets_the_data_branch_of_its_git_branch(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let dir = doubling(&t);
    git(&dir, &["init", "--quiet", "-b", "feat_1"]);
    git(&dir, &["add", "."]);
    git(&dir, &["commit", "--quiet", "-m", "first"]);
    let out = t
        .cmd()
        .env_remove("BAYOU_GIT_BRANCH")
        .args(["run", "-p", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("created data branch feat_1 from main"),
        "{err}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM doubled", "feat_1"), 2);
    let on_main = t.json(&["table", "ls", "-r", "main"]);
    assert_eq!(
        on_main.as_array().unwrap().len(),
        1,
        "main has trips only: {on_main}"
    );
}

fn merges_checkout_info_and_table_changes(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    assert_eq!(t.ok(&["checkout", "-b", "dev"]), "switched to branch dev\n");
    let info = t.json(&["info"]);
    assert_eq!(info["active_branch"], "dev");
    assert_eq!(info["tables_on_active_branch"], 1);
    // Work on dev, then merge it into main.
    let removed = t.ok(&["table", "rm", "trips"]);
    assert!(
        removed.starts_with("removed bayou.trips from dev"),
        "{removed}"
    );
    t.ok(&["table", "rm", "trips", "--if-exists"]);
    assert_eq!(t.json(&["table", "ls"]), serde_json::json!([]));
    let merged = t.ok(&["branch", "merge", "dev", "--into", "main"]);
    assert!(
        merged.starts_with("merged dev into main (fast-forward"),
        "{merged}"
    );
    assert_eq!(
        t.json(&["table", "ls", "-r", "main"]),
        serde_json::json!([])
    );
    let again = t.ok(&["branch", "merge", "dev", "--into", "main"]);
    assert_eq!(again, "main already contains dev\n");
    // Bring the table back on main from the state it had on main's first parent.
    let log = t.json(&["commit", "main", "-n", "2"]);
    let before = log[1]["id"].as_str().unwrap();
    let reverted = t.ok(&["table", "revert", "trips", "--to-ref", before, "-b", "main"]);
    assert!(
        reverted.starts_with("reverted bayou.trips on main"),
        "{reverted}"
    );
    let got = t.json(&["table", "get", "trips", "-r", "main"]);
    assert_eq!(got["rows"], 2);
    assert_eq!(got["columns"][0]["name"], "id");
    assert_eq!(got["partitioning"], serde_json::Value::Null);
    let text = t.ok(&["table", "get", "trips", "-r", "main"]);
    assert!(
        text.contains("rows:      2") && text.contains("miles"),
        "{text}"
    );
    let missing = t.fails(&["table", "get", "ghost", "-r", "main"]);
    assert!(missing.contains("ghost"), "{missing}");
    t.ok(&["checkout", "main"]);
    assert_eq!(t.json(&["info"])["active_branch"], "main");
}

fn job_ls_filters_by_status_user_and_kind(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let good = doubling(&t);
    let bad = t.project_in(
        "bad",
        YML,
        &[(
            "broken.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT nope FROM trips",
        )],
    );
    t.ok(&["run", "-p", good.to_str().unwrap()]);
    t.ok(&["run", "-p", good.to_str().unwrap(), "--dry-run"]);
    t.fails(&["run", "-p", bad.to_str().unwrap()]);
    let ids = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["job", "ls"];
        all.extend_from_slice(args);
        t.json(&all)
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap().to_string() + "/" + r["user"].as_str().unwrap())
            .collect()
    };
    assert_eq!(ids(&[]).len(), 3);
    assert_eq!(ids(&["--status", "failed"]), ["failed/tester"]);
    assert_eq!(ids(&["--kind", "dry-run"]), ["succeeded/tester"]);
    assert_eq!(ids(&["--user", "tester", "--status", "succeeded"]).len(), 2);
    assert!(ids(&["--user", "nobody"]).is_empty());
    assert_eq!(ids(&["-n", "1"]), ["failed/tester"], "newest first");
    let listed = t.ok(&["job", "ls"]);
    assert!(listed.contains("tester"), "{listed}");
}

#[test]
fn a_server_drops_old_logs_and_keeps_the_rest_of_each_record() {
    let t = TestLake::with_server_args(&["--keep-logs-days", "0"]);
    with_trips(&t);
    let dir = t.project(
        YML,
        &[(
            "m.py",
            "import bayou\n@bayou.model()\n@bayou.python('3.11')\ndef chatty(d=bayou.Model('trips')):\n    print('hello from chatty', flush=True)\n    return d\n",
        )],
    );
    let (_, first) = t.ok_noting(&["run", "-p", dir.to_str().unwrap(), "--no-cache"]);
    assert!(first.contains("hello from chatty"), "{first}");
    let first_id = t.json(&["job", "ls"])[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The next run's end prunes what finished before it.
    t.ok(&["run", "-p", dir.to_str().unwrap(), "--no-cache"]);
    let old = t.json(&["job", "get", &first_id]);
    assert_eq!(old["logs_pruned"], true, "{old}");
    assert_eq!(old["nodes"][0]["log"], serde_json::json!([]), "{old}");
    assert_eq!(old["status"], "succeeded");
    assert_eq!(old["nodes"][0]["name"], "chatty");
}

const YML: &str = "project:\n  name: doubling\n";

/// A project whose one SQL model doubles `trips`.
fn doubling(t: &TestLake) -> std::path::PathBuf {
    t.project(
        YML,
        &[(
            "doubled.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT id, miles * 2 AS miles FROM trips",
        )],
    )
}

fn a_project_runs_publishes_reuses_and_is_recorded(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let dir = doubling(&t);
    let (first, progress) = t.ok_noting(&["run", "-p", dir.to_str().unwrap()]);
    assert!(first.contains("published to main"), "{first}");
    assert!(progress.contains("doubled | done: 2 rows"), "{progress}");
    assert_eq!(t.scalar("SELECT SUM(miles) FROM doubled", "main"), 13.0);
    let again = t.ok(&["run", "-p", dir.to_str().unwrap()]);
    assert!(
        again.contains("0 executed, 1 reused from the cache"),
        "{again}"
    );
    let runs = t.json(&["job", "ls"]);
    assert_eq!(runs.as_array().unwrap().len(), 2, "{runs}");
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "succeeded")
    );
    let id = runs[1]["id"].as_str().unwrap();
    let got = t.json(&["job", "get", id]);
    assert_eq!(got["nodes"][0]["name"], "doubled");
    let stop = t.ok(&["job", "stop", id]);
    assert_eq!(
        stop,
        format!("run {id} has finished already: nothing to stop\n")
    );
    // The commits the run made carry the run's user.
    let log = t.json(&["commit", "main", "-n", "1"]);
    assert_eq!(log[0]["author"], "tester", "{log}");
    let bad = t.refuses(&["job", "get", "../etc"]);
    assert!(bad.contains("no run id"), "{bad}");
}

fn a_failing_run_leaves_the_target_unchanged_and_project_errors_name_the_file(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let before = t.json(&["branch", "ls"])[0]["head"].clone();
    let failing = t.project_in(
        "failing",
        YML,
        &[(
            "broken.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT nope FROM trips",
        )],
    );
    let err = t.fails(&["run", "-p", failing.to_str().unwrap()]);
    assert!(err.contains("main is unchanged"), "{err}");
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], before);
    let wrong = t.project_in(
        "wrong",
        YML,
        &[(
            "odd.sql",
            "-- bayou: materialization_strategy=SOMETIMES\nSELECT id FROM trips",
        )],
    );
    let refused = t.refuses(&["run", "-p", wrong.to_str().unwrap()]);
    assert!(refused.contains("odd.sql:1"), "{refused}");
    // An input no table provides is found with the lake, by whoever runs the project.
    let orphan = t.project_in(
        "orphan",
        YML,
        &[(
            "lonely.sql",
            "-- bayou: materialization_strategy=REPLACE\nSELECT * FROM no_such_table",
        )],
    );
    let missing = t.refuses(&["run", "-p", orphan.to_str().unwrap()]);
    assert!(
        missing.contains("lonely.sql") && missing.contains("no_such_table"),
        "{missing}"
    );
    if mode == Mode::Embedded {
        let detach = t.refuses(&["run", "-p", failing.to_str().unwrap(), "--detach"]);
        assert!(detach.contains("--detach needs a server"), "{detach}");
    }
}

fn a_run_whose_process_is_killed_is_recorded_as_crashed_by_the_next_look(mode: Mode) {
    let mut t = TestLake::in_mode(mode);
    with_trips(&t);
    let before = t.json(&["branch", "ls"])[0]["head"].clone();
    let dir = sleeping(&t);
    let mut run = t.std_cmd();
    run.args(["run", "-p", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null());
    let (mut child, _lines, _) = spawn_until(&mut run, "sleeper | sleeping");
    // `kill -9` whatever runs the run: the CLI on an embedded lake, the server otherwise. Its
    // record still says "running"; the next command that looks settles it.
    let look = |t: &TestLake, args: &[&str]| match mode {
        Mode::Embedded => t.json(args),
        Mode::Remote => t.json_of(t.admin_cmd().args(["-O", "json"]).args(args)),
    };
    match &mut t.server {
        Some(server) => server.kill(),
        None => {
            child.kill().unwrap();
        }
    }
    let _ = child.wait();
    let runs = look(&t, &["job", "ls"]);
    assert_eq!(runs[0]["status"], "crashed", "{runs}");
    let error = runs[0]["error"].as_str().unwrap_or("");
    let run_branch = runs[0]["run_branch"].as_str().unwrap().to_string();
    assert!(
        error.contains("crashed") && error.contains(&format!("{run_branch} is kept")),
        "{runs}"
    );
    assert!(runs[0]["last_seen_ms"].as_i64().is_some(), "{runs}");
    // Nothing was published; the run branch is there to inspect.
    let branches = look(&t, &["branch", "ls"]);
    assert_eq!(branches[0]["head"], before);
    assert!(
        branches
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["name"] == run_branch.as_str()),
        "{branches}"
    );
    let crashed = look(&t, &["job", "ls", "--status", "crashed"]);
    assert_eq!(crashed.as_array().map(Vec::len), Some(1), "{crashed}");
}

/// A project whose Python model sleeps until it is stopped.
fn sleeping(t: &TestLake) -> std::path::PathBuf {
    t.project(
        YML,
        &[(
            "m.py",
            "import bayou, time\n@bayou.model(materialization_strategy='REPLACE')\n@bayou.python('3.11')\ndef sleeper(d=bayou.Model('trips')):\n    print('sleeping', flush=True)\n    time.sleep(600)\n    return d\n",
        )],
    )
}

fn ctrl_c_stops_a_run_and_its_record_says_so(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    let before = t.json(&["branch", "ls"])[0]["head"].clone();
    let dir = sleeping(&t);
    // Wait until the function is really running (a condition, not a timer).
    let mut run = t.std_cmd();
    run.args(["run", "-p", dir.to_str().unwrap()])
        .stdout(std::process::Stdio::null());
    let (mut child, lines, _) = spawn_until(&mut run, "sleeper | sleeping");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert_eq!(child.wait().unwrap().code(), Some(130), "{rest:?}");
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], before);
    // By the time the client has exited, the record says the run was interrupted.
    let runs = t.json(&["job", "ls"]);
    assert_eq!(runs[0]["status"], "failed", "{runs}");
    assert!(
        runs[0]["error"]
            .as_str()
            .unwrap_or("")
            .contains("interrupted"),
        "{runs}"
    );
}

#[test]
fn a_detached_run_goes_on_after_the_client_and_job_stop_ends_it() {
    let t = TestLake::with_server();
    with_trips(&t);
    let before = t.json(&["branch", "ls"])[0]["head"].clone();
    let dir = sleeping(&t);
    let detached = t.json(&["run", "-p", dir.to_str().unwrap(), "--detach"]);
    assert_eq!(detached["detached"], true, "{detached}");
    let id = detached["run_id"].as_str().unwrap().to_string();
    // The client is gone; the run is not.
    let got = t.json(&["job", "get", &id]);
    assert_eq!(got["status"], "running", "{got}");
    let stopped = t.ok(&["job", "stop", &id]);
    assert_eq!(stopped, format!("stopped run {id}; main is unchanged\n"));
    let got = t.json(&["job", "get", &id]);
    assert_eq!(got["status"], "failed", "{got}");
    assert!(
        got["error"].as_str().unwrap().contains("interrupted"),
        "{got}"
    );
    assert_eq!(t.json(&["branch", "ls"])[0]["head"], before);
    // The second snapshot upload is skipped: the server has the code already.
    let again = t.json(&["run", "-p", dir.to_str().unwrap(), "--detach"]);
    let second = again["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        t.json(&["job", "get", &second])["code_hash"],
        got["code_hash"]
    );
    t.ok(&["job", "stop", &second]);
}

/// `trips` (two rows), from a local CSV file (sent to the server in remote mode).
fn with_trips(t: &TestLake) {
    let csv = t.csv("trips.csv", "id,miles\n1,2.5\n2,4.0\n");
    t.ok(&[
        "table",
        "create",
        "trips",
        "--search-uri",
        csv.to_str().unwrap(),
    ]);
}

fn queries_stream_the_same_rows_errors_and_files(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    t.ok(&["tag", "create", "before"]);
    let append = t.csv("more.csv", "id,miles\n3,1.0\n");
    t.ok(&[
        "table",
        "import",
        "trips",
        "--search-uri",
        append.to_str().unwrap(),
    ]);
    let rows = t.json(&["query", "SELECT id, miles FROM trips ORDER BY id"]);
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    assert_eq!(rows[2]["miles"], 1.0);
    // Time travel: the tag still reads the two rows it saw.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM trips", "before"), 2);
    let table = t.ok(&["query", "SELECT SUM(miles) AS total FROM trips"]);
    assert!(table.contains("total") && table.contains("7.5"), "{table}");
    let truncated = t.ok(&["query", "SELECT * FROM trips", "--max-rows", "1"]);
    assert!(
        truncated.contains("showing the first 1 rows"),
        "{truncated}"
    );
    // Written by the client, whichever side ran the query.
    let out = t.path("out.parquet");
    let wrote = t.ok(&[
        "query",
        "SELECT * FROM trips WHERE miles > 2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(wrote, format!("wrote 2 rows to {}\n", out.display()));
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
    let empty = t.json(&["query", "SELECT * FROM trips WHERE id < 0"]);
    assert_eq!(empty, serde_json::json!([]));
    let bad = t.fails(&["query", "SELECT nope FROM trips"]);
    assert!(bad.contains("nope"), "{bad}");
    let missing = t.fails(&["query", "SELECT * FROM trips", "-r", "no_such_ref"]);
    assert!(missing.contains("unknown ref 'no_such_ref'"), "{missing}");
    let listed = t.json(&["table", "ls"]);
    assert_eq!(listed[0]["name"], "trips");
    // Queries only read: nothing can be written through them (on a server: as its host).
    let target = t.path("written.csv");
    let copy = format!(
        "COPY (SELECT 1 AS x) TO '{}' STORED AS CSV",
        target.display()
    );
    let refused = t.fails(&["query", &copy]);
    assert!(refused.contains("only reads"), "{refused}");
    assert!(!target.exists());
    let create = t.fails(&["query", "CREATE TABLE x AS SELECT 1"]);
    assert!(create.contains("only reads"), "{create}");
    let unknown_ns = t.fails(&["table", "ls", "--namespace", "nope"]);
    assert!(
        unknown_ns.contains("unknown namespace 'nope'"),
        "{unknown_ns}"
    );
}

fn branches_and_tags_are_created_listed_renamed_and_removed(mode: Mode) {
    let t = TestLake::in_mode(mode);
    let created = t.ok(&["branch", "create", "dev"]);
    assert!(
        created.starts_with("created branch dev from main at "),
        "{created}"
    );
    t.ok(&["tag", "create", "v1", "--from-ref", "dev"]);
    let branches = t.json(&["branch", "ls"]);
    let names: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "main"]);
    assert_eq!(branches[1]["active"], true);
    let tags = t.json(&["tag", "ls"]);
    assert_eq!(tags[0]["name"], "v1");
    assert_eq!(tags[0]["head"], branches[0]["head"]);
    t.ok(&["branch", "rename", "dev", "work"]);
    let listed = t.ok(&["branch", "ls"]);
    assert!(
        listed.contains("work") && !listed.contains("dev"),
        "{listed}"
    );
    assert_eq!(t.ok(&["branch", "rm", "work"]), "removed branch work\n");
    assert_eq!(t.ok(&["tag", "rm", "v1"]), "removed tag v1\n");
    assert_eq!(t.json(&["tag", "ls"]), serde_json::json!([]));
}

fn existing_and_missing_names_fail_alike_unless_told_otherwise(mode: Mode) {
    let t = TestLake::in_mode(mode);
    t.ok(&["branch", "create", "dev"]);
    let again = t.fails(&["branch", "create", "dev"]);
    assert!(
        again.contains("a branch or tag named 'dev' already exists"),
        "{again}"
    );
    assert!(again.contains("hint:"), "{again}");
    let quiet = t.ok(&["branch", "create", "dev", "--if-not-exists"]);
    assert_eq!(quiet, "branch dev exists already: nothing to do\n");
    let gone = t.fails(&["branch", "rm", "nope"]);
    assert!(gone.contains("unknown ref 'nope'"), "{gone}");
    t.ok(&["branch", "rm", "nope", "--if-exists"]);
    let unknown = t.fails(&["log", "no_such_ref"]);
    assert!(unknown.contains("unknown ref 'no_such_ref'"), "{unknown}");
    let bad = t.fails(&["branch", "create", "bad name"]);
    assert!(bad.contains("bad name"), "{bad}");
}

fn namespaces_and_the_commit_log(mode: Mode) {
    let t = TestLake::in_mode(mode);
    assert_eq!(
        t.ok(&["namespace", "create", "raw"]),
        "created namespace raw\n"
    );
    let exists = t.fails(&["namespace", "create", "raw"]);
    assert!(exists.contains("already exists"), "{exists}");
    let names: Vec<String> = t
        .json(&["namespace", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["bayou", "raw"]);
    t.ok(&["namespace", "rm", "raw"]);
    t.ok(&["namespace", "rm", "raw", "--if-exists"]);
    let log = t.json(&["commit"]);
    assert_eq!(
        log.as_array().unwrap().len(),
        1,
        "the lake's root commit: {log}"
    );
    assert_eq!(log[0]["message"], "create lake");
}

fn tables_written_on_the_lake_are_listed_and_diffed(mode: Mode) {
    let t = TestLake::in_mode(mode);
    with_trips(&t);
    t.ok(&["branch", "create", "dev"]);
    let log = t.json(&["commit", "main", "-n", "5"]);
    assert_eq!(log[0]["author"], "tester");
    assert!(log[0]["operations"].to_string().contains("trips"), "{log}");
    let got = t.json(&["branch", "get", "main"]);
    assert_eq!(got["tables"][0]["name"], "trips");
    let same = t.ok(&["branch", "diff", "main", "dev"]);
    assert_eq!(same, "no table differs between main and dev\n");
    let by_author = t.json(&["commit", "--author-name", "tester"]);
    assert_eq!(by_author.as_array().unwrap().len(), 1, "{by_author}");
}

#[test]
fn a_server_refuses_calls_without_a_valid_key_and_names_what_to_do() {
    let t = TestLake::with_server();
    let server = t.server.as_ref().unwrap();
    let run = |key: Option<&str>| {
        let mut cmd = t.cmd();
        cmd.env_remove("BAYOU_API_KEY");
        if let Some(k) = key {
            cmd.env("BAYOU_API_KEY", k);
        }
        cmd.args(["branch", "ls"]).output().unwrap()
    };
    let none = run(None);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("this server needs an API key"));
    let forged = run(Some("bayou_000000000000_0000"));
    assert_eq!(forged.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&forged.stderr).contains("unknown or revoked"));
    assert!(run(Some(&server.key)).status.success());
    // Revoked: refused at once, by the same running server.
    let id = server.key.split('_').nth(1).unwrap();
    let revoke = t
        .admin_cmd()
        .args(["server", "key", "revoke", id])
        .output()
        .unwrap();
    assert!(
        revoke.status.success(),
        "{}",
        String::from_utf8_lossy(&revoke.stderr)
    );
    let revoked = run(Some(&server.key));
    assert_eq!(revoked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&revoked.stderr).contains("unknown or revoked"));
    let keys = t
        .admin_cmd()
        .args(["-O", "json", "server", "key", "ls"])
        .output()
        .unwrap();
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    assert_eq!(keys[0]["user"], "tester");
    assert!(keys[0]["revoked_ms"].is_i64(), "{keys}");
    assert!(
        !keys.to_string().contains(&server.key),
        "secrets are never listed"
    );
}

#[test]
fn a_tls_server_is_reached_over_https_by_clients_that_trust_its_certificate() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = bayou_testkit::tls::self_signed(certs.path());
    let t = TestLake::with_server_args(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let url = &t.server.as_ref().unwrap().url;
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    // A client that does not trust the certificate stops before it sends its key.
    let untrusted = t.cmd().args(["branch", "ls"]).output().unwrap();
    assert_eq!(untrusted.status.code(), Some(1));
    let err = String::from_utf8_lossy(&untrusted.stderr);
    assert!(err.contains("cannot reach the bayou server"), "{err}");
    // Plain http to the TLS port gets nowhere either.
    let plain = t
        .cmd()
        .env("BAYOU_REMOTE", url.replace("https://", "http://"))
        .args(["branch", "ls"])
        .output()
        .unwrap();
    assert_eq!(plain.status.code(), Some(1));
    // Trusting it (--ca-cert, BAYOU_CA_CERT or the profile's ca_cert): gRPC, an upload and an
    // Arrow Flight query all go over TLS.
    let trusting = |args: &[&str]| {
        let out = t
            .cmd()
            .env("BAYOU_CA_CERT", &cert)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let csv = t.csv("trips.csv", "id,miles\n1,2.5\n2,4.0\n");
    trusting(&[
        "table",
        "create",
        "trips",
        "--search-uri",
        csv.to_str().unwrap(),
    ]);
    let rows = trusting(&["-O", "json", "query", "SELECT SUM(miles) AS m FROM trips"]);
    assert!(rows.contains("6.5"), "{rows}");
    let refs = trusting(&[
        "--ca-cert",
        cert.to_str().unwrap(),
        "-O",
        "json",
        "branch",
        "ls",
    ]);
    assert!(refs.contains("\"main\""), "{refs}");
}

#[test]
fn a_server_knows_files_sent_to_it_by_their_name_and_content() {
    let t = TestLake::with_server();
    with_trips(&t);
    let trips = t.path("trips.csv");
    let import = [
        "table",
        "import",
        "trips",
        "--search-uri",
        trips.to_str().unwrap(),
    ];
    // The same file again: the table has it already.
    let again = t.ok(&import);
    assert!(again.contains("the table has it already"), "{again}");
    // Other bytes of the same size at the same path (an embedded lake, which knows files by
    // name and size, would skip them): new rows.
    t.csv("trips.csv", "id,miles\n3,2.5\n4,4.0\n");
    t.ok(&import);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM trips", "main"), 4);
}

#[test]
fn a_server_registers_no_files_of_its_own_machine() {
    let t = TestLake::with_server();
    let csv = t.csv("host.csv", "id\n1\n");
    let err = t.fails(&[
        "table",
        "create-external",
        "host",
        "--search-pattern",
        csv.to_str().unwrap(),
    ]);
    assert!(err.contains("reads no files of its own machine"), "{err}");
    assert!(err.contains("hint: name s3:// objects"), "{err}");
    assert_eq!(t.json(&["table", "ls"]), serde_json::json!([]));
}

#[test]
fn an_unreachable_server_says_which_url_it_tried() {
    let t = TestLake::new();
    let out = t
        .cmd()
        .env("BAYOU_REMOTE", "http://127.0.0.1:9")
        .args(["branch", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot reach the bayou server at http://127.0.0.1:9"),
        "{err}"
    );
}

#[test]
fn eight_clients_running_pipelines_at_once_lose_nothing_and_hear_every_conflict() {
    const CLIENTS: usize = 8;
    let t = TestLake::with_server();
    with_trips(&t);
    let projects: Vec<std::path::PathBuf> = (0..CLIENTS)
        .map(|i| {
            t.project_in(
                &format!("p{i}"),
                YML,
                &[
                    (
                        &format!("own_{i}.sql"),
                        &format!(
                            "-- bayou: materialization_strategy=REPLACE\nSELECT id, {i} AS client FROM trips"
                        ),
                    ),
                    (
                        "shared.sql",
                        &format!(
                            "-- bayou: materialization_strategy=REPLACE\nSELECT {i} AS client, COUNT(*) AS n FROM trips"
                        ),
                    ),
                ],
            )
        })
        .collect();
    let outcomes: Vec<(usize, std::process::Output)> = std::thread::scope(|s| {
        let handles: Vec<_> = projects
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                let t = &t;
                s.spawn(move || {
                    t.ok(&["branch", "create", &format!("client_{i}")]);
                    let out = t
                        .cmd()
                        .args(["run", "-p", dir.to_str().unwrap()])
                        .output()
                        .unwrap();
                    (i, out)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let tables: Vec<String> = t
        .json(&["table", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    let mut published = 0;
    for (i, out) in &outcomes {
        let err = String::from_utf8_lossy(&out.stderr);
        let own = format!("own_{i}");
        match out.status.code() {
            Some(0) => {
                published += 1;
                assert!(
                    tables.contains(&own),
                    "client {i} succeeded: {own} is published"
                );
            }
            Some(1) => {
                // Only a conflict may stop a run here, it says so, and nothing of it lands.
                assert!(
                    err.contains("conflict") || err.contains("both changed"),
                    "client {i}: {err}"
                );
                assert!(
                    !tables.contains(&own),
                    "client {i} failed: {own} must not land"
                );
            }
            other => panic!("client {i} exited {other:?}: {err}"),
        }
    }
    assert!(published >= 1, "at least one run publishes");
    let shared = t.json(&["query", "SELECT client FROM shared"]);
    let writer = shared[0]["client"].as_i64().unwrap() as usize;
    assert_eq!(
        outcomes[writer].1.status.code(),
        Some(0),
        "the shared table is a winner's"
    );
    // Every run's record is complete: none is left running, one per client.
    let runs = t.json(&["job", "ls", "-n", "100"]);
    assert_eq!(runs.as_array().unwrap().len(), CLIENTS, "{runs}");
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] != "running" && !r["finished_ms"].is_null())
    );
    let branches = t.json(&["branch", "ls"]);
    assert_eq!(
        branches
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["name"].as_str().unwrap().starts_with("client_"))
            .count(),
        CLIENTS
    );
}

#[test]
fn each_user_of_a_server_has_their_own_active_branch() {
    let t = TestLake::with_server();
    with_trips(&t);
    let made = t
        .admin_cmd()
        .args(["-O", "json", "server", "key", "create", "--user", "ada"])
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let ada: serde_json::Value = serde_json::from_slice(&made.stdout).unwrap();
    let as_ada = |args: &[&str]| {
        let out = t
            .cmd()
            .env("BAYOU_API_KEY", ada["key"].as_str().unwrap())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    t.ok(&["checkout", "-b", "mine"]);
    assert_eq!(t.json(&["info"])["active_branch"], "mine");
    // Ada cannot stop tester's run.
    let detached = t.json(&["run", "-p", sleeping(&t).to_str().unwrap(), "--detach"]);
    let id = detached["run_id"].as_str().unwrap().to_string();
    let refused = t
        .cmd()
        .env("BAYOU_API_KEY", ada["key"].as_str().unwrap())
        .args(["job", "stop", &id])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("belongs to tester"), "{err}");
    t.ok(&["job", "stop", &id]);
    assert_eq!(as_ada(&["-O", "json", "info"])["active_branch"], "main");
    // Ada's new branch starts from her active branch, not tester's.
    as_ada(&["-O", "json", "branch", "create", "hers"]);
    let branches = t.json(&["branch", "ls"]);
    let active: Vec<&str> = branches
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["active"] == true)
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(active, ["mine"]);
}

#[test]
fn several_clients_follow_one_run_live_from_its_start() {
    let t = TestLake::with_server();
    with_trips(&t);
    let dir = sleeping(&t);
    let detached = t.json(&["run", "-p", dir.to_str().unwrap(), "--detach"]);
    let id = detached["run_id"].as_str().unwrap().to_string();
    let follow = || {
        let mut cmd = t.std_cmd();
        cmd.args(["job", "logs", &id, "--follow"])
            .stdout(std::process::Stdio::piped());
        spawn_until(&mut cmd, "sleeper | sleeping")
    };
    // The first follower sees the function start; the second, started after that, is told
    // the run's past first and sees the same lines.
    let (first, first_rest, first_seen) = follow();
    let (second, second_rest, second_seen) = follow();
    for seen in [&first_seen, &second_seen] {
        assert!(
            seen.iter().any(|l| l.contains("writing to run branch")),
            "{seen:?}"
        );
        assert!(seen.last().unwrap().contains("sleeping"), "{seen:?}");
    }
    t.ok(&["job", "stop", &id]);
    for (child, rest) in [(first, first_rest), (second, second_rest)] {
        let _: Vec<String> = rest.map_while(Result::ok).collect();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text, format!("run {id} failed\n"));
    }
}
