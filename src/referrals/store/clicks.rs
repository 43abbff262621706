//! Clicks: the group commit's batch insert and the counts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::clicks;
use crate::db::DbConn;
use crate::referrals::Click;

/// Rows per multi-row INSERT: 9 click columns × 500 stays far below SQLite's variable limit.
const INSERT_CHUNK: usize = 500;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = clicks)]
pub struct NewClick {
    pub id: String,
    pub program_id: String,
    pub enrollment_id: String,
    pub at: NaiveDateTime,
    pub ip_hash: String,
    pub ua_hash: String,
    pub referrer: Option<String>,
    pub landing: String,
    pub is_bot: bool,
}

/// Inserts clicks with multi-row INSERTs (one statement per 500 rows).
pub fn insert_clicks(conn: &mut DbConn, rows: &[NewClick]) -> QueryResult<usize> {
    let mut inserted = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        inserted += match conn {
            DbConn::Sqlite(c) => diesel::insert_into(clicks::table)
                .values(chunk)
                .execute(c)?,
            DbConn::Postgres(c) => diesel::insert_into(clicks::table)
                .values(chunk)
                .execute(c)?,
        };
    }
    Ok(inserted)
}

pub fn find_click(conn: &mut DbConn, id: &str) -> QueryResult<Option<Click>> {
    clicks::table
        .find(id)
        .select(Click::as_select())
        .first(conn)
        .optional()
}

/// Clicks per enrollment of a program, bots excluded.
pub fn human_clicks_by_enrollment(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = clicks::table
        .filter(clicks::program_id.eq(program_id))
        .filter(clicks::is_bot.eq(false))
        .group_by(clicks::enrollment_id)
        .select((clicks::enrollment_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn human_clicks_of_enrollment(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<i64> {
    clicks::table
        .filter(clicks::enrollment_id.eq(enrollment_id))
        .filter(clicks::is_bot.eq(false))
        .count()
        .get_result(conn)
}
