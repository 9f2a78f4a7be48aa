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

fn catalog() -> Catalog {
    Catalog::new(Arc::new(SqliteStore::in_memory().unwrap())).unwrap()
}

fn head(c: &Catalog, r: &str) -> CommitId {
    c.resolve(r).unwrap().commit
}

#[test]
fn a_new_catalog_has_an_empty_main_branch() {
    let c = catalog();
    let refs = c.list_refs().unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        (refs[0].name.as_str(), refs[0].kind),
        (MAIN_BRANCH, RefKind::Branch)
    );
    assert!(c.list_tables(&refs[0].head).unwrap().is_empty());
    assert_eq!(c.active_branch().unwrap(), MAIN_BRANCH);
}

#[test]
fn one_commit_changes_several_tables_atomically() {
    let c = catalog();
    let mut req = put("a", "a1");
    req.operations.push(Operation::Put {
        key: key("b"),
        state: state("b1"),
    });
    let commit = c.commit(MAIN_BRANCH, req).unwrap();
    let tables = c.list_tables(&commit.id).unwrap();
    assert_eq!(tables.len(), 2);
    let log = c.log(&commit.id, 10, None).unwrap();
    assert_eq!(log.len(), 2, "the commit and the lake's root commit");
    assert_eq!(log[0].operations.len(), 2);
}

#[test]
fn branches_isolate_writes_until_merged() {
    let c = catalog();
    c.commit(MAIN_BRANCH, put("a", "a1")).unwrap();
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH).unwrap();
    c.commit("dev", put("b", "b1")).unwrap();
    assert!(
        c.get_table(&head(&c, MAIN_BRANCH), &key("b"))
            .unwrap()
            .is_none()
    );
    assert!(c.get_table(&head(&c, "dev"), &key("b")).unwrap().is_some());
    match c.plan_merge("dev", MAIN_BRANCH).unwrap() {
        MergePlan::FastForward { from, to } => {
            assert!(c.fast_forward(MAIN_BRANCH, &from, &to).unwrap())
        }
        other => panic!("expected a fast-forward, got {other:?}"),
    }
    assert_eq!(
        c.get_table(&head(&c, MAIN_BRANCH), &key("b")).unwrap(),
        Some(state("b1"))
    );
}

#[test]
fn three_way_merge_takes_each_sides_tables_and_reports_overlaps() {
    let c = catalog();
    c.commit(MAIN_BRANCH, put("shared", "s0")).unwrap();
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH).unwrap();
    c.commit("dev", put("only_dev", "d1")).unwrap();
    c.commit("dev", put("shared", "s_dev")).unwrap();
    c.commit(MAIN_BRANCH, put("only_main", "m1")).unwrap();
    c.commit(MAIN_BRANCH, put("shared", "s_main")).unwrap();
    let MergePlan::ThreeWay(plan) = c.plan_merge("dev", MAIN_BRANCH).unwrap() else {
        panic!("expected a three-way merge");
    };
    assert_eq!(plan.clean.len(), 1);
    assert_eq!(plan.clean[0].key(), &key("only_dev"));
    assert_eq!(plan.both_changed.len(), 1);
    assert_eq!(plan.both_changed[0].key, key("shared"));
    assert_eq!(plan.both_changed[0].base, Some(state("s0")));
    let commit = c
        .commit_merge(&plan, vec![], "test", &Default::default())
        .unwrap()
        .unwrap();
    assert_eq!(commit.parents.len(), 2);
    let tables: BTreeSet<String> = c
        .list_tables(&head(&c, MAIN_BRANCH))
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
        c.plan_merge("dev", MAIN_BRANCH).unwrap(),
        MergePlan::UpToDate { .. }
    ));
}

#[test]
fn a_stale_precondition_is_a_retryable_conflict() {
    let c = catalog();
    c.commit(MAIN_BRANCH, put("a", "a1")).unwrap();
    let mut req = put("a", "a2");
    req.preconditions = vec![(key("a"), Some("a0".into()))];
    let err = c.commit(MAIN_BRANCH, req).unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("bayou.a"), "{err}");
}

#[test]
fn tags_and_commit_ids_resolve_but_cannot_be_written() {
    let c = catalog();
    let commit = c.commit(MAIN_BRANCH, put("a", "a1")).unwrap();
    c.create_ref("v1", RefKind::Tag, MAIN_BRANCH).unwrap();
    c.commit(MAIN_BRANCH, put("a", "a2")).unwrap();
    assert_eq!(head(&c, "v1"), commit.id);
    assert_eq!(head(&c, &commit.id.as_str()[..10]), commit.id);
    assert_eq!(
        c.get_table(&head(&c, "v1"), &key("a")).unwrap(),
        Some(state("a1"))
    );
    assert!(matches!(
        c.commit("v1", put("a", "x")),
        Err(Error::NotABranch(_))
    ));
    assert!(matches!(c.resolve("nope"), Err(Error::UnknownRef(_))));
    assert!(matches!(
        c.create_ref("v1", RefKind::Branch, MAIN_BRANCH),
        Err(Error::RefExists(_))
    ));
}

#[test]
fn diff_lists_added_changed_and_removed_tables() {
    let c = catalog();
    let a = c.commit(MAIN_BRANCH, put("x", "x1")).unwrap();
    c.commit(MAIN_BRANCH, put("y", "y1")).unwrap();
    c.commit(MAIN_BRANCH, put("x", "x2")).unwrap();
    let mut del = put("unused", "-");
    del.operations = vec![Operation::Delete { key: key("x") }];
    let b = c.commit(MAIN_BRANCH, del).unwrap();
    let d = c.diff(&a.id, &b.id).unwrap();
    let summary: Vec<(String, &str)> = d.iter().map(|e| (e.key.name.clone(), e.change())).collect();
    assert_eq!(
        summary,
        vec![("x".into(), "removed"), ("y".into(), "added")]
    );
}

#[test]
fn log_pages_through_history() {
    let c = catalog();
    for i in 0..5 {
        c.commit(MAIN_BRANCH, put("a", &format!("a{i}"))).unwrap();
    }
    let h = head(&c, MAIN_BRANCH);
    let first = c.log(&h, 2, None).unwrap();
    let second = c.log(&h, 2, Some(&first[1].id)).unwrap();
    assert_eq!(first[0].message, "put a");
    assert_eq!(second.len(), 2);
    assert_ne!(first[1].id, second[0].id);
    assert_eq!(c.log(&h, 100, None).unwrap().len(), 6);
}

#[test]
fn deleting_the_active_branch_is_refused() {
    let c = catalog();
    c.create_ref("dev", RefKind::Branch, MAIN_BRANCH).unwrap();
    c.set_active_branch("dev").unwrap();
    assert!(matches!(
        c.delete_ref("dev", RefKind::Branch),
        Err(Error::ActiveBranch(..))
    ));
    c.rename_branch("dev", "work").unwrap();
    assert_eq!(c.active_branch().unwrap(), "work");
}

#[test]
fn tables_need_an_existing_namespace() {
    let c = catalog();
    let mut req = put("a", "a1");
    req.operations = vec![Operation::Put {
        key: TableKey::new("raw", "a").unwrap(),
        state: state("a1"),
    }];
    assert!(matches!(
        c.commit(MAIN_BRANCH, req.clone()),
        Err(Error::UnknownNamespace(_))
    ));
    c.create_namespace("raw").unwrap();
    c.commit(MAIN_BRANCH, req).unwrap();
    assert!(matches!(
        c.delete_namespace("raw"),
        Err(Error::NamespaceNotEmpty { .. })
    ));
}

#[test]
fn the_secret_key_is_made_once_and_kept() {
    let c = catalog();
    let first = c.secret_key(|| "aa".into()).unwrap();
    assert_eq!(first, "aa");
    assert_eq!(
        c.secret_key(|| "bb".into()).unwrap(),
        "aa",
        "kept, not replaced"
    );
}

#[test]
fn bauplan_is_the_default_namespace_by_another_name() {
    let c = catalog();
    assert!(!c.create_namespace("bauplan").unwrap(), "it exists already");
    c.require_namespace("bauplan").unwrap();
    let names: Vec<String> = c
        .list_namespaces()
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert!(!names.contains(&"bauplan".to_string()), "{names:?}");
}

#[test]
fn sixteen_threads_committing_to_one_branch_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    Catalog::open_sqlite(&path).unwrap();
    const THREADS: usize = 16;
    const PER_THREAD: usize = 20;
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let path = path.clone();
            s.spawn(move || {
                // Each thread has its own connection, as separate processes would.
                let c = Catalog::open_sqlite(&path).unwrap();
                for i in 0..PER_THREAD {
                    c.commit(MAIN_BRANCH, put(&format!("t{t}_{i}"), "loc"))
                        .unwrap();
                }
            });
        }
    });
    let c = Catalog::open_sqlite(&path).unwrap();
    let h = head(&c, MAIN_BRANCH);
    assert_eq!(c.list_tables(&h).unwrap().len(), THREADS * PER_THREAD);
    assert_eq!(
        c.log(&h, usize::MAX, None).unwrap().len(),
        THREADS * PER_THREAD + 1
    );
}

#[test]
fn concurrent_writers_of_one_table_never_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let c = Catalog::open_sqlite(&path).unwrap();
    c.commit(MAIN_BRANCH, put("counter", "0")).unwrap();
    const THREADS: usize = 8;
    const PER_THREAD: usize = 10;
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let path = path.clone();
            s.spawn(move || {
                let c = Catalog::open_sqlite(&path).unwrap();
                let mut done = 0;
                while done < PER_THREAD {
                    // Read-modify-write with a precondition: retry on conflict.
                    let h = c.resolve(MAIN_BRANCH).unwrap().commit;
                    let cur = c.get_table(&h, &key("counter")).unwrap().unwrap();
                    let n: usize = cur.metadata_location.parse().unwrap();
                    let mut req = put("counter", &(n + 1).to_string());
                    req.preconditions = vec![(key("counter"), Some(cur.metadata_location))];
                    match c.commit(MAIN_BRANCH, req) {
                        Ok(_) => done += 1,
                        Err(e) if e.is_retryable() => continue,
                        Err(e) => panic!("{e}"),
                    }
                }
            });
        }
    });
    let h = head(&c, MAIN_BRANCH);
    let cur = c.get_table(&h, &key("counter")).unwrap().unwrap();
    assert_eq!(cur.metadata_location, (THREADS * PER_THREAD).to_string());
}
