//! Attempts, their answers and flags, and the graded items.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    attempt_answers, attempt_flags, attempt_items, attempts, exams, users, vendors,
};
use crate::db::{self, new_id, DbConn};
use crate::exams::AttemptStatus;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attempts)]
pub struct AttemptRow {
    pub id: String,
    pub exam_id: String,
    pub version_id: String,
    pub user_id: String,
    pub order_id: Option<String>,
    #[diesel(deserialize_as = String)]
    pub status: AttemptStatus,
    pub form: String,
    pub started_at: NaiveDateTime,
    pub deadline: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub graded_at: Option<NaiveDateTime>,
    pub graded_by: Option<String>,
    pub score_bp: Option<i32>,
    pub passed: Option<bool>,
    pub result: Option<String>,
    pub preview: bool,
}

pub struct NewAttempt<'a> {
    pub exam_id: &'a str,
    pub version_id: &'a str,
    pub user_id: &'a str,
    pub order_id: Option<&'a str>,
    pub form_json: &'a str,
    pub deadline: NaiveDateTime,
    pub preview: bool,
}

/// Inserts an open attempt. The partial unique index `attempts_one_open` refuses a second open attempt of
/// the same person at the same exam, also under concurrent starts.
pub fn insert_attempt(
    conn: &mut DbConn,
    new: &NewAttempt<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(attempts::table)
        .values((
            attempts::id.eq(&id),
            attempts::exam_id.eq(new.exam_id),
            attempts::version_id.eq(new.version_id),
            attempts::user_id.eq(new.user_id),
            attempts::order_id.eq(new.order_id),
            attempts::status.eq(AttemptStatus::Open.as_str()),
            attempts::form.eq(new.form_json),
            attempts::started_at.eq(now),
            attempts::deadline.eq(new.deadline),
            attempts::preview.eq(new.preview),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn find_attempt(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttemptRow>> {
    db::on_backend!(conn, |c| attempts::table
        .find(id)
        .select(AttemptRow::as_select())
        .first(c)
        .optional())
}

/// Reads an attempt and, on PostgreSQL, locks its row until the transaction ends, so a concurrent grading
/// (which updates the row) waits for an answer being saved, and a save after grading sees it graded. On
/// SQLite the write transaction (`BEGIN IMMEDIATE`) already excludes other writers.
pub fn lock_attempt(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttemptRow>> {
    match conn {
        DbConn::Postgres(pg) => attempts::table
            .find(id)
            .select(AttemptRow::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => attempts::table
            .find(id)
            .select(AttemptRow::as_select())
            .first(sqlite)
            .optional(),
    }
}

pub fn open_attempt_of(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
) -> QueryResult<Option<AttemptRow>> {
    attempts::table
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::status.eq(AttemptStatus::Open.as_str()))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()
}

/// What the retake policy needs of one earlier attempt.
#[derive(Debug, Clone, Queryable)]
pub struct AttemptHistory {
    pub started_at: NaiveDateTime,
    pub graded_at: Option<NaiveDateTime>,
    pub passed: Option<bool>,
}

pub fn attempt_history(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
) -> QueryResult<Vec<AttemptHistory>> {
    attempts::table
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::preview.eq(false))
        .order(attempts::started_at.asc())
        .select((attempts::started_at, attempts::graded_at, attempts::passed))
        .load(conn)
}

/// The grading claim: flips an open attempt to graded. 1 for the one caller that wins; 0 for everyone
/// else (another submit, the deadline job on any node), who then read the stored result.
pub fn claim_for_grading(
    conn: &mut DbConn,
    id: &str,
    graded_by: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    db::on_backend!(conn, |c| diesel::update(
        attempts::table
            .find(id)
            .filter(attempts::status.eq(AttemptStatus::Open.as_str())),
    )
    .set((
        attempts::status.eq(AttemptStatus::Graded.as_str()),
        attempts::submitted_at.eq(now),
        attempts::graded_at.eq(now),
        attempts::graded_by.eq(graded_by),
    ))
    .execute(c))
}

pub fn store_result(
    conn: &mut DbConn,
    id: &str,
    score_bp: i32,
    passed: bool,
    result_json: &str,
) -> QueryResult<()> {
    db::on_backend!(conn, |c| diesel::update(attempts::table.find(id))
        .set((
            attempts::score_bp.eq(score_bp),
            attempts::passed.eq(passed),
            attempts::result.eq(result_json),
        ))
        .execute(c))
    .map(drop)
}

/// Open attempts whose deadline has passed, oldest deadline first.
pub fn overdue_attempt_ids(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    attempts::table
        .filter(attempts::status.eq(AttemptStatus::Open.as_str()))
        .filter(attempts::deadline.lt(now))
        .order(attempts::deadline.asc())
        .limit(limit)
        .select(attempts::id)
        .load(conn)
}

/// A person's attempts, newest first, with exam slug, title and vendor slug.
pub fn attempts_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(AttemptRow, String, String, String)>> {
    attempts::table
        .inner_join(exams::table.inner_join(vendors::table))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::preview.eq(false))
        .order(attempts::started_at.desc())
        .select((
            AttemptRow::as_select(),
            exams::slug,
            exams::title,
            vendors::slug,
        ))
        .load(conn)
}

/// Graded attempts of an exam, newest first, with the candidate's name and e-mail address.
pub fn graded_attempts_of_exam(
    conn: &mut DbConn,
    exam_id: &str,
    limit: i64,
) -> QueryResult<Vec<(AttemptRow, String, String)>> {
    attempts::table
        .inner_join(users::table)
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::status.eq(AttemptStatus::Graded.as_str()))
        .filter(attempts::preview.eq(false))
        .order(attempts::graded_at.desc())
        .limit(limit)
        .select((AttemptRow::as_select(), users::display_name, users::email))
        .load(conn)
}

/// One attempt as the vendor's exam list counts it.
#[derive(Debug, Clone, Queryable)]
pub struct AttemptTally {
    pub exam_id: String,
    #[diesel(deserialize_as = String)]
    pub status: AttemptStatus,
    pub passed: Option<bool>,
}

/// Every attempt (previews aside) at the vendor's exams, to count per exam.
pub fn attempt_counts_of_vendor(
    conn: &mut DbConn,
    vendor_id: &str,
) -> QueryResult<Vec<AttemptTally>> {
    attempts::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(attempts::preview.eq(false))
        .select((attempts::exam_id, attempts::status, attempts::passed))
        .load(conn)
}

// --------------------------------------------------------------------------------------------- answers

/// Saves one answer in one statement, only while the attempt is this person's, open and before
/// its deadline: an insert fed by a select of the attempt row, replacing the question's earlier
/// answer (PostgreSQL `ON CONFLICT … DO UPDATE`, SQLite `INSERT OR REPLACE`). Whether it saved
/// (`false`: ask [`find_attempt`] why not). PostgreSQL takes a share lock on the attempt, so a save waits for
/// a grading that holds it and then sees the attempt closed, as a save inside a transaction
/// that locked the attempt would; SQLite has a single writer anyway.
pub fn save_answer_if_open(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    question_id: &str,
    choices_json: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let save = SaveAnswer {
        user_id,
        attempt_id,
        question_id,
        choices_json,
        now,
    };
    let saved = match conn {
        DbConn::Postgres(pg) => save.execute(pg)?,
        DbConn::Sqlite(sqlite) => save.execute(sqlite)?,
    };
    Ok(saved == 1)
}

/// The statement of [`save_answer_if_open`], written out once for both dialects as a fixed
/// statement, so that diesel keeps it prepared: it marks every `DO UPDATE` it builds as not
/// cacheable, and PostgreSQL parsed and planned the save on every call (pgbench here: prepared
/// upserts run at about 1.45× the rate of unprepared ones). On SQLite it is `INSERT OR REPLACE`,
/// which gives the row an upsert gives (the table has no other columns and nothing refers to it).
/// Identifiers come from the schema; every value is a bound parameter.
struct SaveAnswer<'a> {
    user_id: &'a str,
    attempt_id: &'a str,
    question_id: &'a str,
    choices_json: &'a str,
    now: NaiveDateTime,
}

impl diesel::query_builder::QueryId for SaveAnswer<'_> {
    type QueryId = SaveAnswer<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl SaveAnswer<'_> {
    /// The statement in `DB`'s dialect; `postgres` adds the share lock and the conflict clause.
    fn walk<'b, DB>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
        postgres: bool,
    ) -> QueryResult<()>
    where
        DB: diesel::backend::Backend
            + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
            + diesel::sql_types::HasSqlType<diesel::sql_types::Timestamp>,
        str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        NaiveDateTime: diesel::serialize::ToSql<diesel::sql_types::Timestamp, DB>,
        attempt_answers::table: diesel::query_builder::QueryFragment<DB>,
        attempts::table: diesel::query_builder::QueryFragment<DB>,
    {
        use diesel::query_builder::QueryFragment;
        use diesel::sql_types::{Text, Timestamp};
        use diesel::Column;
        out.push_sql(if postgres {
            "INSERT INTO "
        } else {
            "INSERT OR REPLACE INTO "
        });
        attempt_answers::table.walk_ast(out.reborrow())?;
        let answer_columns = [
            attempt_answers::attempt_id::NAME,
            attempt_answers::question_id::NAME,
            attempt_answers::choices::NAME,
            attempt_answers::saved_at::NAME,
        ];
        for (i, column) in answer_columns.into_iter().enumerate() {
            out.push_sql(if i == 0 { " (" } else { ", " });
            out.push_identifier(column)?;
        }
        out.push_sql(") SELECT ");
        out.push_identifier(attempts::id::NAME)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.question_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(self.choices_json)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        out.push_sql(" FROM ");
        attempts::table.walk_ast(out.reborrow())?;
        out.push_sql(" WHERE ");
        out.push_identifier(attempts::id::NAME)?;
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(self.attempt_id)?;
        out.push_sql(" AND ");
        out.push_identifier(attempts::user_id::NAME)?;
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(self.user_id)?;
        out.push_sql(" AND ");
        out.push_identifier(attempts::status::NAME)?;
        out.push_sql(" = ");
        out.push_bind_param::<Text, _>(AttemptStatus::Open.as_str())?;
        out.push_sql(" AND ");
        out.push_identifier(attempts::deadline::NAME)?;
        out.push_sql(" >= ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
        if !postgres {
            return Ok(());
        }
        out.push_sql(" FOR SHARE ON CONFLICT (");
        out.push_identifier(attempt_answers::attempt_id::NAME)?;
        out.push_sql(", ");
        out.push_identifier(attempt_answers::question_id::NAME)?;
        out.push_sql(") DO UPDATE SET ");
        for (i, column) in [
            attempt_answers::choices::NAME,
            attempt_answers::saved_at::NAME,
        ]
        .into_iter()
        .enumerate()
        {
            if i > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(column)?;
            out.push_sql(" = excluded.");
            out.push_identifier(column)?;
        }
        Ok(())
    }
}

impl diesel::query_builder::QueryFragment<diesel::pg::Pg> for SaveAnswer<'_> {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        self.walk(out, true)
    }
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for SaveAnswer<'_> {
    fn walk_ast<'b>(
        &'b self,
        out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> QueryResult<()> {
        self.walk(out, false)
    }
}

impl RunQueryDsl<diesel::PgConnection> for SaveAnswer<'_> {}
impl RunQueryDsl<diesel::SqliteConnection> for SaveAnswer<'_> {}

/// Saved answers of an attempt: (question id, choices as a JSON array).
pub fn answers_of(conn: &mut DbConn, attempt_id: &str) -> QueryResult<Vec<(String, String)>> {
    db::on_backend!(conn, |c| attempt_answers::table
        .filter(attempt_answers::attempt_id.eq(attempt_id))
        .select((attempt_answers::question_id, attempt_answers::choices))
        .load(c))
}

/// Flags (or unflags) a question of an attempt for review; flagging twice keeps one row.
pub fn set_flag(
    conn: &mut DbConn,
    attempt_id: &str,
    question_id: &str,
    flagged: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = attempt_flags::table
        .filter(attempt_flags::attempt_id.eq(attempt_id))
        .filter(attempt_flags::question_id.eq(question_id));
    if !flagged {
        return diesel::delete(row).execute(conn).map(drop);
    }
    let insert = diesel::insert_into(attempt_flags::table)
        .values((
            attempt_flags::attempt_id.eq(attempt_id),
            attempt_flags::question_id.eq(question_id),
            attempt_flags::flagged_at.eq(now),
        ))
        .on_conflict((attempt_flags::attempt_id, attempt_flags::question_id))
        .do_nothing();
    match conn {
        DbConn::Postgres(pg) => insert.execute(pg).map(drop),
        DbConn::Sqlite(sqlite) => insert.execute(sqlite).map(drop),
    }
}

/// The bank ids of the questions flagged for review in an attempt.
pub fn flags_of(conn: &mut DbConn, attempt_id: &str) -> QueryResult<Vec<String>> {
    attempt_flags::table
        .filter(attempt_flags::attempt_id.eq(attempt_id))
        .select(attempt_flags::question_id)
        .load(conn)
}

// ----------------------------------------------------------------------------------------------- items

pub struct ItemOutcome<'a> {
    pub question_id: &'a str,
    pub position: i32,
    pub domain_id: &'a str,
    pub points_milli: i32,
    pub correct: bool,
}

pub fn insert_items(
    conn: &mut DbConn,
    attempt_id: &str,
    items: &[ItemOutcome<'_>],
) -> QueryResult<()> {
    for item in items {
        db::on_backend!(conn, |c| diesel::insert_into(attempt_items::table)
            .values((
                attempt_items::attempt_id.eq(attempt_id),
                attempt_items::question_id.eq(item.question_id),
                attempt_items::position.eq(item.position),
                attempt_items::domain_id.eq(item.domain_id),
                attempt_items::points_milli.eq(item.points_milli),
                attempt_items::correct.eq(item.correct),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// (attempt id, score in basis points, passed) of a graded attempt.
pub type GradedScore = (String, Option<i32>, Option<bool>);

/// Graded attempts of a version, oldest first.
pub fn graded_attempts_of_version(
    conn: &mut DbConn,
    version_id: &str,
) -> QueryResult<Vec<GradedScore>> {
    attempts::table
        .filter(attempts::version_id.eq(version_id))
        .filter(attempts::status.eq(AttemptStatus::Graded.as_str()))
        .filter(attempts::preview.eq(false))
        .order(attempts::graded_at.asc())
        .select((attempts::id, attempts::score_bp, attempts::passed))
        .load(conn)
}

/// Item outcomes of every graded attempt of a version: (attempt id, question id, correct).
pub fn item_outcomes_of_version(
    conn: &mut DbConn,
    version_id: &str,
) -> QueryResult<Vec<(String, String, bool)>> {
    attempt_items::table
        .inner_join(attempts::table)
        .filter(attempts::version_id.eq(version_id))
        .filter(attempts::status.eq(AttemptStatus::Graded.as_str()))
        .filter(attempts::preview.eq(false))
        .select((
            attempt_items::attempt_id,
            attempt_items::question_id,
            attempt_items::correct,
        ))
        .load(conn)
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::query_builder::{QueryFragment, QueryId};
    use diesel::sqlite::Sqlite;

    use super::SaveAnswer;

    fn save() -> SaveAnswer<'static> {
        SaveAnswer {
            user_id: "u1",
            attempt_id: "a1",
            question_id: "q1",
            choices_json: r#"["c1"]"#,
            now: chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                .and_then(|d| d.and_hms_opt(12, 0, 0))
                .unwrap(),
        }
    }

    #[test]
    fn the_answer_save_is_one_fixed_statement_per_dialect_that_diesel_keeps_prepared() {
        let save = save();
        assert!(SaveAnswer::query_id().is_some(), "a static query id");
        assert!(
            QueryFragment::<Pg>::is_safe_to_cache_prepared(&save, &Pg).unwrap()
                && QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&save, &Sqlite).unwrap(),
            "nothing in it asks diesel not to cache it"
        );
        let columns = "(\"attempt_id\", \"question_id\", \"choices\", \"saved_at\")";
        assert_eq!(
            diesel::debug_query::<Pg, _>(&save).to_string(),
            format!(
                "INSERT INTO \"attempt_answers\" {columns} SELECT \"id\", $1, $2, $3 FROM \"attempts\" \
                 WHERE \"id\" = $4 AND \"user_id\" = $5 AND \"status\" = $6 AND \"deadline\" >= $7 \
                 FOR SHARE ON CONFLICT (\"attempt_id\", \"question_id\") \
                 DO UPDATE SET \"choices\" = excluded.\"choices\", \"saved_at\" = excluded.\"saved_at\" \
                 -- binds: [\"q1\", \"[\\\"c1\\\"]\", 2026-12-07T12:00:00, \"a1\", \"u1\", \"open\", 2026-12-07T12:00:00]"
            )
        );
        assert_eq!(
            diesel::debug_query::<Sqlite, _>(&save).to_string(),
            format!(
                "INSERT OR REPLACE INTO `attempt_answers` {} SELECT `id`, ?, ?, ? FROM `attempts` \
                 WHERE `id` = ? AND `user_id` = ? AND `status` = ? AND `deadline` >= ? \
                 -- binds: [\"q1\", \"[\\\"c1\\\"]\", 2026-12-07T12:00:00, \"a1\", \"u1\", \"open\", 2026-12-07T12:00:00]",
                columns.replace('"', "`")
            )
        );
    }
}
