//! The SQL store's own tests: migrations, locks, messages, and the guards against removed
//! commits.

use super::*;

#[tokio::test]
async fn no_ref_or_merge_comes_to_name_a_commit_that_is_gone() {
    let store = SqlStore::in_memory().await.unwrap();
    let commit = |id: &str, parents: &[&str]| Commit {
        id: CommitId::from_hex(id),
        parents: parents.iter().map(|p| CommitId::from_hex(*p)).collect(),
        generation: parents.len() as u64,
        tree: "t".into(),
        author: "a".into(),
        message: "m".into(),
        time_ms: 1,
        properties: Default::default(),
        operations: vec![],
    };
    let main = Ref {
        name: "main".into(),
        kind: RefKind::Branch,
        head: CommitId::from_hex("aa"),
    };
    // A new catalog's first ref comes before its root commit.
    store.create_ref(&main).await.unwrap();
    let root = CommitId::from_hex("aa");
    assert!(
        store
            .commit(&[], &commit("aa", &[]), "main", &root)
            .await
            .unwrap()
    );
    let missing = Ref {
        name: "back".into(),
        kind: RefKind::Branch,
        head: CommitId::from_hex("bb"),
    };
    assert!(matches!(
        store.create_ref(&missing).await,
        Err(Error::UnknownRef(id)) if id == "bb"
    ));
    let gone = CommitId::from_hex("bb");
    assert!(
        !store
            .move_ref("main", RefKind::Branch, &root, &gone)
            .await
            .unwrap()
    );
    let merge = commit("cc", &["aa", "bb"]);
    assert!(matches!(
        store.commit(&[], &merge, "main", &root).await,
        Err(Error::UnknownRef(id)) if id == "bb"
    ));
    // Nothing moved.
    assert_eq!(store.get_ref("main").await.unwrap().unwrap().head, root);
    assert!(store.get_ref("back").await.unwrap().is_none());
}

#[tokio::test]
async fn reopening_a_migrated_database_keeps_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let first = SqlStore::open_sqlite(&path).await.unwrap();
    first.set_setting("k", "v").await.unwrap();
    first.pool.close().await;
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    assert_eq!(store.get_setting("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn a_database_from_a_newer_bayou_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES ($1, 'from the future', TRUE, X'00', 0)",
    )
    .bind(SCHEMA_VERSION + 1)
    .execute(&store.pool)
    .await
    .unwrap();
    store.pool.close().await;
    let err = SqlStore::open_sqlite(&path).await.unwrap_err();
    assert!(matches!(err, Error::SchemaTooNew { .. }), "{err}");
    assert!(err.to_string().contains("upgrade bayou"), "{err}");
}

#[tokio::test]
async fn a_catalog_from_before_tracked_migrations_is_adopted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    // The schema bayou 0.1 wrote by hand (the first migration's tables, untracked), with a
    // row in it.
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let old = SqlStore::connect_url(&url, 1, "old").await.unwrap();
    sqlx::raw_sql("DROP TABLE _sqlx_migrations; DROP TABLE api_keys; DROP TABLE runs")
        .execute(&old.pool)
        .await
        .unwrap();
    old.set_setting("active_branch", "dev").await.unwrap();
    old.pool.close().await;
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    assert_eq!(
        store.get_setting("active_branch").await.unwrap().as_deref(),
        Some("dev")
    );
}

#[tokio::test]
async fn a_database_another_connection_keeps_locked_is_named_so() {
    use sqlx::Connection as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("catalog.db");
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    let url = format!("sqlite://{}", path.display());
    let mut holder = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN EXCLUSIVE")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut waiter = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("PRAGMA busy_timeout = 0")
        .execute(&mut waiter)
        .await
        .unwrap();
    let refused = sqlx::raw_sql("INSERT INTO settings (key, value) VALUES ('k', 'v')")
        .execute(&mut waiter)
        .await
        .unwrap_err();
    let err = Error::store(path.display(), refused);
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(err.to_string().contains("nothing was changed"), "{err}");
    // Once the lock is gone, the store writes again.
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    store.set_setting("k", "v").await.unwrap();
}

#[test]
fn passwords_never_reach_messages() {
    assert_eq!(
        redact("postgres://bayou:hunter2@db:5432/lake"),
        "postgres://bayou:***@db:5432/lake"
    );
    assert_eq!(redact("postgres://db/lake"), "postgres://db/lake");
}

#[tokio::test]
async fn an_unreachable_database_is_reported_at_once_naming_it() {
    // Port 1 refuses connections: the probe says so instead of the pool retrying for long.
    let err = SqlStore::connect("postgres://bayou:secret@127.0.0.1:1/lake")
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("postgres://bayou:***@127.0.0.1:1/lake"),
        "{text}"
    );
    assert!(!text.contains("secret"), "{text}");
    assert!(text.contains("hint:"), "{text}");
}

#[tokio::test]
async fn an_unknown_database_scheme_is_refused_with_the_choices() {
    let err = SqlStore::connect("mysql://x/y").await.unwrap_err();
    assert!(err.to_string().contains("postgres://"), "{err}");
}
