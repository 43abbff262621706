//! `db::statement` inside a transaction, on the backend under test: a failing statement (a lost
//! race for a unique key, which callers catch and retry) leaves the transaction usable and the
//! rest of it commits. PostgreSQL aborts a whole transaction on a failed statement, so there the
//! statement needs its savepoint; SQLite undoes the statement alone. And `db::reads`: one read
//! transaction on SQLite, plain statements on PostgreSQL.

use credo::db::schema::users;
use credo::db::{self, DatabaseTarget, DbConn, SqliteSync};
use diesel::prelude::*;

use crate::common::fresh_database;

fn insert_user(conn: &mut DbConn, id: &str, email: &str) -> QueryResult<usize> {
    let now = chrono::Utc::now().naive_utc();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email.eq(email),
            users::display_name.eq("Ada"),
            users::password_hash.eq("!"),
            users::is_operator.eq(false),
            users::created_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}

#[test]
fn a_failed_statement_leaves_its_transaction_usable_and_the_rest_commits() {
    let dir = tempfile::tempdir().unwrap();
    let target = DatabaseTarget::parse(&fresh_database(dir.path())).unwrap();
    let pool = db::connect(&target, 1, SqliteSync::Normal).unwrap();
    let mut conn = pool.get().unwrap();
    let (first, second) = (db::new_id(), db::new_id());

    let refused = db::transaction(&mut conn, |c| {
        insert_user(c, &first, "ada@example.org")?;
        let duplicate = db::statement(c, |c| insert_user(c, &db::new_id(), "ada@example.org"));
        let refused = matches!(&duplicate, Err(e) if db::is_unique_violation(e));
        insert_user(c, &second, "grace@example.org")?;
        Ok::<_, diesel::result::Error>(refused)
    })
    .expect("the transaction commits after its refused statement");

    assert!(
        refused,
        "the duplicate email is refused as a unique violation"
    );
    let mut stored: Vec<String> = users::table.select(users::id).load(&mut conn).unwrap();
    stored.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(
        stored, expected,
        "both other rows committed, the refused one did not"
    );
}

#[test]
fn reads_share_one_snapshot_on_sqlite_and_leave_no_transaction_open() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(dir.path());
    let target = DatabaseTarget::parse(&url).unwrap();
    let pool = db::connect(&target, 2, SqliteSync::Normal).unwrap();
    let (mut reader, mut writer) = (pool.get().unwrap(), pool.get().unwrap());
    let count = |c: &mut DbConn| users::table.count().get_result::<i64>(c);

    let (before, after) = db::reads(&mut reader, |c| {
        let before = count(c)?;
        insert_user(&mut writer, &db::new_id(), "ada@example.org")?;
        Ok::<_, diesel::result::Error>((before, count(c)?))
    })
    .unwrap();
    let sqlite = matches!(target, DatabaseTarget::Sqlite(_));
    // SQLite reads from the snapshot its first read took; PostgreSQL statements see each commit.
    assert_eq!(after, if sqlite { before } else { before + 1 });
    // The read transaction ended: this connection sees the commit and can write.
    assert_eq!(count(&mut reader).unwrap(), before + 1);
    db::transaction(&mut reader, |c| {
        insert_user(c, &db::new_id(), "grace@example.org")
    })
    .expect("a write after the reads");
    assert_eq!(count(&mut writer).unwrap(), before + 2);
}
