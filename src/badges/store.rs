//! Queries of `exam_badges` (one uploaded image per exam) and what a badge is drawn from.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{credentials, exam_badges, exams, vendors};
use crate::db::DbConn;

/// What an exam's badge is made of: the uploaded image when there is one, else the names the
/// generated badge shows.
#[derive(Debug, Clone, Queryable)]
pub struct BadgeSource {
    pub exam_id: String,
    pub vendor_name: String,
    pub exam_title: String,
    pub format: Option<String>,
    pub image: Option<Vec<u8>>,
}

/// The badge source of the exam `vendor/exam`.
pub fn source_by_slugs(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> QueryResult<Option<BadgeSource>> {
    exams::table
        .inner_join(vendors::table)
        .left_join(exam_badges::table)
        .filter(vendors::slug.eq(vendor_slug))
        .filter(exams::slug.eq(exam_slug))
        .select((
            exams::id,
            vendors::name,
            exams::title,
            exam_badges::format.nullable(),
            exam_badges::image.nullable(),
        ))
        .first(conn)
        .optional()
}

/// The stored credential JSON and the badge source of its exam.
pub fn credential_with_source(
    conn: &mut DbConn,
    credential_id: &str,
) -> QueryResult<Option<(String, BadgeSource)>> {
    credentials::table
        .inner_join(
            exams::table
                .inner_join(vendors::table)
                .left_join(exam_badges::table),
        )
        .filter(credentials::id.eq(credential_id))
        .select((
            credentials::json,
            (
                exams::id,
                vendors::name,
                exams::title,
                exam_badges::format.nullable(),
                exam_badges::image.nullable(),
            ),
        ))
        .first(conn)
        .optional()
}

/// Stores (or replaces) the exam's uploaded badge.
pub fn upsert(
    conn: &mut DbConn,
    exam_id: &str,
    format: &str,
    image: &[u8],
    now: NaiveDateTime,
) -> QueryResult<()> {
    use diesel::upsert::excluded;
    let insert = diesel::insert_into(exam_badges::table)
        .values((
            exam_badges::exam_id.eq(exam_id),
            exam_badges::format.eq(format),
            exam_badges::image.eq(image),
            exam_badges::updated_at.eq(now),
        ))
        .on_conflict(exam_badges::exam_id)
        .do_update()
        .set((
            exam_badges::format.eq(excluded(exam_badges::format)),
            exam_badges::image.eq(excluded(exam_badges::image)),
            exam_badges::updated_at.eq(excluded(exam_badges::updated_at)),
        ));
    match conn {
        DbConn::Postgres(pg) => insert.execute(pg).map(drop),
        DbConn::Sqlite(sqlite) => insert.execute(sqlite).map(drop),
    }
}

/// Removes the uploaded badge (the generated one shows again); the number of rows removed.
pub fn delete(conn: &mut DbConn, exam_id: &str) -> QueryResult<usize> {
    diesel::delete(exam_badges::table.find(exam_id)).execute(conn)
}
