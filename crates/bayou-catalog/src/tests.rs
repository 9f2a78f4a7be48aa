use std::collections::BTreeSet;

use super::*;

fn key(name: &str) -> TableKey {
    TableKey::new(DEFAULT_NAMESPACE, name).unwrap()
}

fn state(loc: &str) -> TableState {
    TableState {
        metadata_location: loc.to_string(),
        snapshot_id: Some(1),
    }
}

fn put(name: &str, loc: &str) -> CommitRequest {
    CommitRequest {
        operations: vec![Operation::Put {
            key: key(name),
            state: state(loc),
        }],
        message: format!("put {name}"),
        author: "test".into(),
        ..Default::default()
    }
}

async fn head(c: &Catalog, r: &str) -> CommitId {
    c.resolve(r).await.unwrap().commit
}

/// A database for one test, on SQLite or PostgreSQL; `open` connects one more catalog to it,
/// as another process would.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres {
        url: String,
        _server: bayou_testkit::Postgres,
    },
}

impl Db {
    async fn sqlite() -> Self {
        Self::Sqlite(tempfile::tempdir().unwrap())
    }

    async fn postgres() -> Self {
        let server = bayou_testkit::Postgres::start();
        Self::Postgres {
            url: server.fresh_database().await,
            _server: server,
        }
    }

    async fn open(&self) -> Catalog {
        match self {
            Self::Sqlite(dir) => Catalog::open_sqlite(&dir.path().join("catalog.db")).await,
            Self::Postgres { url, .. } => Catalog::connect(url).await,
        }
        .unwrap()
    }
}

/// Runs each listed test once on SQLite and once on PostgreSQL.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(&super::Db::sqlite().await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(&super::Db::postgres().await).await
                }
            )*
        }
    };
}

on_both_stores!(
    a_new_catalog_has_an_empty_main_branch,
    one_commit_changes_several_tables_atomically,
    branches_isolate_writes_until_merged,
    three_way_merge_takes_each_sides_tables_and_reports_overlaps,
    a_stale_precondition_is_a_retryable_conflict,
    tags_and_commit_ids_resolve_but_cannot_be_written,
    diff_lists_added_changed_and_removed_tables,
    log_pages_through_history,
    deleting_the_active_branch_is_refused,
    tables_need_an_existing_namespace,
    the_secret_key_is_made_once_and_kept,
    bauplan_is_the_default_namespace_by_another_name,
    sixteen_writers_committing_to_one_branch_lose_nothing,
    concurrent_writers_of_one_table_never_overwrite_each_other,
    catalogs_opened_at_once_on_a_new_database_agree_on_one_main,
    api_keys_authenticate_their_user_until_revoked,
    runs_are_kept_listed_newest_first_and_filtered,
    a_runs_lease_is_refreshed_by_its_holder_and_settled_once,
    commits_no_ref_reaches_expire_once_old_enough,
);

async fn a_new_catalog_has_an_empty_main_branch(db: &Db) {
    let c = db.open().await;
    let refs = c.list_refs().await.unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].name.as_str(), refs[0].kind),
        (MAIN_BRANCH, RefKind::Branch)
    );
    assert!(c.list_tables(&refs[0].head).await.unwrap().is_empty());
    assert_eq!(c.active_branch().await.unwrap(), MAIN_BRANCH);
}

async fn one_commit_changes_several_tables_atomically(db: &Db) {
    let c = db.open().await;
    let mut req = put("a", "a1");
    req.operations.push(Operation::Put {
        key: key("b"),
        state: state("b1"),
    });
    let commit = c.commit(MAIN_BRANCH, req).await.unwrap();
    let tables = c.list_tables(&commit.id).await.unwrap();
    assert_eq!(tables.len(), 2);
    let log = c.log(&commit.id, 10, None).await.unwrap();
    assert_eq!(log.len(), 2, "the commit and the lake's root commit");
    assert_eq!(log[0].operations.len(), 2);
}

async fn branches_isolate_writes_until_merged(db: &Db) {
    let c = db.open().await;
    c.commit(MAIN_BRANCH, put("a", "a1")).await.unwrap();
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH)
        .await
        .unwrap();
    c.commit("dev", put("b", "b1")).await.unwrap();
    assert!(
        c.get_table(&head(&c, MAIN_BRANCH).await, &key("b"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        c.get_table(&head(&c, "dev").await, &key("b"))
            .await
            .unwrap()
            .is_some()
    );
    match c.plan_merge("dev", MAIN_BRANCH).await.unwrap() {
        MergePlan::FastForward { from, to } => {
            assert!(c.fast_forward(MAIN_BRANCH, &from, &to).await.unwrap())
        }
        other => panic!("expected a fast-forward, got {other:?}"),
    }
    assert_eq!(
        c.get_table(&head(&c, MAIN_BRANCH).await, &key("b"))
            .await
            .unwrap(),
        Some(state("b1"))
    );
}

async fn three_way_merge_takes_each_sides_tables_and_reports_overlaps(db: &Db) {
    let c = db.open().await;
    c.commit(MAIN_BRANCH, put("shared", "s0")).await.unwrap();
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH)
        .await
        .unwrap();
    c.commit("dev", put("only_dev", "d1")).await.unwrap();
    c.commit("dev", put("shared", "s_dev")).await.unwrap();
    c.commit(MAIN_BRANCH, put("only_main", "m1")).await.unwrap();
    c.commit(MAIN_BRANCH, put("shared", "s_main"))
        .await
        .unwrap();
    let MergePlan::ThreeWay(plan) = c.plan_merge("dev", MAIN_BRANCH).await.unwrap() else {
        panic!("expected a three-way merge");
    };
    assert_eq!(plan.clean.len(), 1);
    assert_eq!(plan.clean[0].key(), &key("only_dev"));
    assert_eq!(plan.both_changed.len(), 1);
    assert_eq!(plan.both_changed[0].key, key("shared"));
    assert_eq!(plan.both_changed[0].base, Some(state("s0")));
    let commit = c
        .commit_merge(&plan, vec![], "test", &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(commit.parents.len(), 2);
    let tables: BTreeSet<String> = c
        .list_tables(&head(&c, MAIN_BRANCH).await)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k.name)
        .collect();
    assert_eq!(
        tables,
        BTreeSet::from(["only_dev".into(), "only_main".into(), "shared".into()])
    );
    // After the merge, dev is an ancestor of main: merging again changes nothing.
    assert!(matches!(
        c.plan_merge("dev", MAIN_BRANCH).await.unwrap(),
        MergePlan::UpToDate { .. }
    ));
}

async fn a_stale_precondition_is_a_retryable_conflict(db: &Db) {
    let c = db.open().await;
    c.commit(MAIN_BRANCH, put("a", "a1")).await.unwrap();
    let mut req = put("a", "a2");
    req.preconditions = vec![(key("a"), Some("a0".into()))];
    let err = c.commit(MAIN_BRANCH, req).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("bayou.a"), "{err}");
}

async fn tags_and_commit_ids_resolve_but_cannot_be_written(db: &Db) {
    let c = db.open().await;
    let commit = c.commit(MAIN_BRANCH, put("a", "a1")).await.unwrap();
    c.create_ref("v1", RefKind::Tag, MAIN_BRANCH).await.unwrap();
    c.commit(MAIN_BRANCH, put("a", "a2")).await.unwrap();
    assert_eq!(head(&c, "v1").await, commit.id);
    assert_eq!(head(&c, &commit.id.as_str()[..10]).await, commit.id);
    assert_eq!(
        c.get_table(&head(&c, "v1").await, &key("a")).await.unwrap(),
        Some(state("a1"))
    );
    assert!(matches!(
        c.commit("v1", put("a", "x")).await,
        Err(Error::NotABranch(_))
    ));
    assert!(matches!(c.resolve("nope").await, Err(Error::UnknownRef(_))));
    assert!(matches!(
        c.create_ref("v1", RefKind::Branch, MAIN_BRANCH).await,
        Err(Error::RefExists(_))
    ));
}

async fn diff_lists_added_changed_and_removed_tables(db: &Db) {
    let c = db.open().await;
    let a = c.commit(MAIN_BRANCH, put("x", "x1")).await.unwrap();
    c.commit(MAIN_BRANCH, put("y", "y1")).await.unwrap();
    c.commit(MAIN_BRANCH, put("x", "x2")).await.unwrap();
    let mut del = put("unused", "-");
    del.operations = vec![Operation::Delete { key: key("x") }];
    let b = c.commit(MAIN_BRANCH, del).await.unwrap();
    let d = c.diff(&a.id, &b.id).await.unwrap();
    let summary: Vec<(String, &str)> = d.iter().map(|e| (e.key.name.clone(), e.change())).collect();
    assert_eq!(
        summary,
        vec![("x".into(), "removed"), ("y".into(), "added")]
    );
}

async fn log_pages_through_history(db: &Db) {
    let c = db.open().await;
    for i in 0..5 {
        c.commit(MAIN_BRANCH, put("a", &format!("a{i}")))
            .await
            .unwrap();
    }
    let h = head(&c, MAIN_BRANCH).await;
    let first = c.log(&h, 2, None).await.unwrap();
    let second = c.log(&h, 2, Some(&first[1].id)).await.unwrap();
    assert_eq!(first[0].message, "put a");
    assert_eq!(second.len(), 2);
    assert_ne!(first[1].id, second[0].id);
    assert_eq!(c.log(&h, 100, None).await.unwrap().len(), 6);
}

async fn deleting_the_active_branch_is_refused(db: &Db) {
    let c = db.open().await;
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH)
        .await
        .unwrap();
    c.set_active_branch("dev").await.unwrap();
    assert!(matches!(
        c.delete_ref("dev", RefKind::Branch).await,
        Err(Error::ActiveBranch(..))
    ));
    c.rename_branch("dev", "work").await.unwrap();
    assert_eq!(c.active_branch().await.unwrap(), "work");
}

async fn tables_need_an_existing_namespace(db: &Db) {
    let c = db.open().await;
    let mut req = put("a", "a1");
    req.operations = vec![Operation::Put {
        key: TableKey::new("raw", "a").unwrap(),
        state: state("a1"),
    }];
    assert!(matches!(
        c.commit(MAIN_BRANCH, req.clone()).await,
        Err(Error::UnknownNamespace(_))
    ));
    c.create_namespace("raw").await.unwrap();
    c.commit(MAIN_BRANCH, req).await.unwrap();
    assert!(matches!(
        c.delete_namespace("raw").await,
        Err(Error::NamespaceNotEmpty { .. })
    ));
}

async fn the_secret_key_is_made_once_and_kept(db: &Db) {
    let c = db.open().await;
    let first = c.secret_key(|| "aa".into()).await.unwrap();
    assert_eq!(first, "aa");
    assert_eq!(
        c.secret_key(|| "bb".into()).await.unwrap(),
        "aa",
        "kept, not replaced"
    );
}

async fn bauplan_is_the_default_namespace_by_another_name(db: &Db) {
    let c = db.open().await;
    assert!(
        !c.create_namespace("bauplan").await.unwrap(),
        "it exists already"
    );
    c.require_namespace("bauplan").await.unwrap();
    let names: Vec<String> = c
        .list_namespaces()
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert!(!names.contains(&"bauplan".to_string()), "{names:?}");
}

async fn sixteen_writers_committing_to_one_branch_lose_nothing(db: &Db) {
    const WRITERS: usize = 16;
    const PER_WRITER: usize = 20;
    let mut writers = tokio::task::JoinSet::new();
    for t in 0..WRITERS {
        // Each writer has its own connection pool, as separate processes would.
        let c = db.open().await;
        writers.spawn(async move {
            for i in 0..PER_WRITER {
                c.commit(MAIN_BRANCH, put(&format!("t{t}_{i}"), "loc"))
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let c = db.open().await;
    let h = head(&c, MAIN_BRANCH).await;
    assert_eq!(c.list_tables(&h).await.unwrap().len(), WRITERS * PER_WRITER);
    assert_eq!(
        c.log(&h, usize::MAX, None).await.unwrap().len(),
        WRITERS * PER_WRITER + 1
    );
}

async fn concurrent_writers_of_one_table_never_overwrite_each_other(db: &Db) {
    let c = db.open().await;
    c.commit(MAIN_BRANCH, put("counter", "0")).await.unwrap();
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 10;
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..WRITERS {
        let c = db.open().await;
        writers.spawn(async move {
            let mut done = 0;
            while done < PER_WRITER {
                // Read-modify-write with a precondition: retry on conflict.
                let h = c.resolve(MAIN_BRANCH).await.unwrap().commit;
                let cur = c.get_table(&h, &key("counter")).await.unwrap().unwrap();
                let n: usize = cur.metadata_location.parse().unwrap();
                let mut req = put("counter", &(n + 1).to_string());
                req.preconditions = vec![(key("counter"), Some(cur.metadata_location))];
                match c.commit(MAIN_BRANCH, req).await {
                    Ok(_) => done += 1,
                    Err(e) if e.is_retryable() => continue,
                    Err(e) => panic!("{e}"),
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let h = head(&c, MAIN_BRANCH).await;
    let cur = c.get_table(&h, &key("counter")).await.unwrap().unwrap();
    assert_eq!(cur.metadata_location, (WRITERS * PER_WRITER).to_string());
}

async fn catalogs_opened_at_once_on_a_new_database_agree_on_one_main(db: &Db) {
    let opened = futures::future::join_all((0..6).map(|_| db.open())).await;
    let heads: BTreeSet<CommitId> =
        futures::future::join_all(opened.iter().map(|c| head(c, MAIN_BRANCH)))
            .await
            .into_iter()
            .collect();
    assert_eq!(
        heads.len(),
        1,
        "one root commit, whoever made it: {heads:?}"
    );
    let c = &opened[0];
    let log = c.log(heads.first().unwrap(), 10, None).await.unwrap();
    assert_eq!(log.len(), 1);
    c.require_namespace(DEFAULT_NAMESPACE).await.unwrap();
}

async fn api_keys_authenticate_their_user_until_revoked(db: &Db) {
    let c = db.open().await;
    let made = c.create_api_key("ada", KeyKind::User).await.unwrap();
    let other = c.create_api_key("bob", KeyKind::Admin).await.unwrap();
    let worker = c.create_api_key("w1", KeyKind::Worker).await.unwrap();
    assert_eq!(
        c.authenticate(&worker.token)
            .await
            .unwrap()
            .map(|k| (k.user, k.admin, k.worker)),
        Some(("w1".to_string(), false, true)),
        "a worker key is a worker's and nothing more"
    );
    assert_eq!(
        c.authenticate(&made.token)
            .await
            .unwrap()
            .map(|k| (k.user, k.admin, k.worker)),
        Some(("ada".to_string(), false, false))
    );
    assert_eq!(
        c.authenticate(&other.token)
            .await
            .unwrap()
            .map(|k| (k.user, k.admin)),
        Some(("bob".to_string(), true))
    );
    // A wrong secret for a real id, garbage, and another catalog's view of the same key.
    let forged = format!("{}0", &made.token[..made.token.len() - 1]);
    let forged = if forged == made.token {
        format!("{}1", &made.token[..made.token.len() - 1])
    } else {
        forged
    };
    assert_eq!(c.authenticate(&forged).await.unwrap(), None);
    assert!(
        db.open()
            .await
            .list_api_keys()
            .await
            .unwrap()
            .iter()
            .any(|k| k.admin && k.user == "bob"),
        "admin is kept"
    );
    assert_eq!(c.authenticate("bayou_nope").await.unwrap(), None);
    let listed = db.open().await.list_api_keys().await.unwrap();
    assert_eq!(listed.len(), 3);
    assert!(
        listed.iter().any(|k| k.worker && k.user == "w1"),
        "worker is kept"
    );
    assert!(
        listed.iter().all(|k| !made.token.contains(&k.secret_hash)),
        "only hashes are kept"
    );
    c.revoke_api_key(&made.key.id).await.unwrap();
    assert_eq!(c.authenticate(&made.token).await.unwrap(), None);
    assert_eq!(
        c.authenticate(&other.token)
            .await
            .unwrap()
            .map(|k| (k.user, k.admin)),
        Some(("bob".to_string(), true))
    );
    assert!(matches!(
        c.revoke_api_key("ffffffffffff").await,
        Err(Error::UnknownApiKey(_))
    ));
    assert!(matches!(
        c.create_api_key("no spaces", KeyKind::User).await,
        Err(Error::InvalidName(_))
    ));
}

async fn runs_are_kept_listed_newest_first_and_filtered(db: &Db) {
    let c = db.open().await;
    let row = |id: &str, user: &str, status: &str, started_ms: i64| RunRow {
        id: id.into(),
        user: user.into(),
        status: status.into(),
        kind: "run".into(),
        target_branch: "main".into(),
        started_ms,
        finished_ms: None,
        logs_kept: true,
        record: format!("{{\"id\":\"{id}\"}}"),
        holder: None,
        heartbeat_ms: None,
    };
    c.put_run(&row("a", "ada", "running", 1)).await.unwrap();
    c.put_run(&row("b", "bob", "succeeded", 2)).await.unwrap();
    c.put_run(&row("c", "ada", "failed", 3)).await.unwrap();
    let mut dev = row("d", "ada", "failed", 0);
    dev.target_branch = "dev".into();
    c.put_run(&dev).await.unwrap();
    let on_dev = RunFilter {
        branch: Some("dev".into()),
        ..Default::default()
    };
    let ids: Vec<String> = c
        .list_runs(&on_dev, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["d"], "only the runs into that branch");
    // A run's row is replaced as it changes (running -> succeeded).
    let mut done = row("a", "ada", "succeeded", 1);
    done.finished_ms = Some(10);
    c.put_run(&done).await.unwrap();
    let all = c.list_runs(&RunFilter::default(), 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["c", "b", "a", "d"]);
    assert_eq!(c.get_run("a").await.unwrap(), Some(done));
    let filter = RunFilter {
        user: Some("ada".into()),
        status: Some("succeeded".into()),
        ..Default::default()
    };
    let ada = c.list_runs(&filter, 10).await.unwrap();
    assert_eq!(ada.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a"]);
    assert_eq!(
        c.list_runs(&RunFilter::default(), 1).await.unwrap().len(),
        1
    );
    let old = RunFilter {
        finished_before_ms: Some(11),
        logs_kept: Some(true),
        ..Default::default()
    };
    assert_eq!(c.list_runs(&old, 10).await.unwrap().len(), 1);
    // The page after the runs started at 3 or later.
    let after = RunFilter {
        started_before_ms: Some(3),
        ..Default::default()
    };
    let ids: Vec<String> = c
        .list_runs(&after, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["b", "a", "d"]);
    assert_eq!(c.get_run("nope").await.unwrap(), None);
}

async fn a_runs_lease_is_refreshed_by_its_holder_and_settled_once(db: &Db) {
    let c = db.open().await;
    let running = RunRow {
        id: "r".into(),
        user: "ada".into(),
        status: "running".into(),
        kind: "run".into(),
        target_branch: "main".into(),
        started_ms: 1,
        finished_ms: None,
        logs_kept: true,
        record: "{}".into(),
        holder: Some("host:1".into()),
        heartbeat_ms: Some(5),
    };
    c.put_run(&running).await.unwrap();
    // Only the holder refreshes the lease.
    assert!(!c.heartbeat_run("r", "host:2", 7).await.unwrap());
    assert!(c.heartbeat_run("r", "host:1", 9).await.unwrap());
    assert_eq!(c.get_run("r").await.unwrap().unwrap().heartbeat_ms, Some(9));
    let crashed = RunRow {
        status: "crashed".into(),
        finished_ms: Some(20),
        record: "{\"crashed\":true}".into(),
        ..running.clone()
    };
    // Settling on a stale view of the lease (refreshed since) does nothing.
    assert!(!c.settle_run(&crashed, Some(5)).await.unwrap());
    assert_eq!(c.get_run("r").await.unwrap().unwrap().status, "running");
    assert!(c.settle_run(&crashed, Some(9)).await.unwrap());
    let settled = c.get_run("r").await.unwrap().unwrap();
    assert_eq!(
        (settled.status.as_str(), settled.finished_ms),
        ("crashed", Some(20))
    );
    // Once settled, neither a second settle nor the old holder's heartbeat changes it.
    assert!(!c.settle_run(&crashed, Some(9)).await.unwrap());
    assert!(!c.heartbeat_run("r", "host:1", 30).await.unwrap());
    // A legacy running row without a lease settles on its missing heartbeat.
    let legacy = RunRow {
        id: "old".into(),
        holder: None,
        heartbeat_ms: None,
        ..running.clone()
    };
    c.put_run(&legacy).await.unwrap();
    let legacy_crashed = RunRow {
        status: "crashed".into(),
        ..legacy
    };
    assert!(c.settle_run(&legacy_crashed, None).await.unwrap());
}

async fn commits_no_ref_reaches_expire_once_old_enough(db: &Db) {
    let c = db.open().await;
    c.commit(MAIN_BRANCH, put("a", "a1")).await.unwrap();
    // Merged: reached through main. Tagged: reached through the tag. Dropped: reached by none.
    for branch in ["merged", "tagged", "dropped"] {
        c.create_ref(branch, RefKind::Branch, MAIN_BRANCH)
            .await
            .unwrap();
        c.commit(branch, put(branch, branch)).await.unwrap();
    }
    match c.plan_merge("merged", MAIN_BRANCH).await.unwrap() {
        MergePlan::FastForward { from, to } => {
            assert!(c.fast_forward(MAIN_BRANCH, &from, &to).await.unwrap())
        }
        other => panic!("expected a fast-forward, got {other:?}"),
    }
    c.create_ref("kept", RefKind::Tag, "tagged").await.unwrap();
    let dropped = head(&c, "dropped").await;
    for branch in ["merged", "tagged", "dropped"] {
        c.delete_ref(branch, RefKind::Branch).await.unwrap();
    }
    let all: BTreeSet<CommitId> = {
        let main = c
            .log(&head(&c, MAIN_BRANCH).await, 100, None)
            .await
            .unwrap();
        main.into_iter().map(|commit| commit.id).collect()
    };
    // Too young: kept whatever reaches it.
    assert!(c.expire_commits(0, false).await.unwrap().is_empty());
    let later = now_ms() + 1_000;
    assert_eq!(
        c.expire_commits(later, true).await.unwrap(),
        vec![dropped.clone()]
    );
    assert!(
        c.get_commit(&dropped).await.is_ok(),
        "a dry run removes nothing"
    );
    assert_eq!(
        c.expire_commits(later, false).await.unwrap(),
        vec![dropped.clone()]
    );
    // Another process (no cache) and this one agree it is gone; the rest is whole.
    for catalog in [&c, &db.open().await] {
        assert!(matches!(
            catalog.resolve(dropped.as_str()).await,
            Err(Error::UnknownRef(_))
        ));
        assert!(
            catalog
                .create_ref("back", RefKind::Branch, dropped.as_str())
                .await
                .is_err()
        );
        for id in &all {
            catalog.get_commit(id).await.unwrap();
        }
        let tagged = head(catalog, "kept").await;
        assert!(
            catalog
                .get_table(&tagged, &key("tagged"))
                .await
                .unwrap()
                .is_some()
        );
    }
    assert!(c.expire_commits(later, false).await.unwrap().is_empty());
}
