//! Exams and their versions.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{attempts, exam_versions, exams, vendors};
use crate::db::{self, new_id, DbConn};
use crate::exams::{AttemptStatus, ExamVersionState};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exams)]
pub struct ExamRow {
    pub id: String,
    pub vendor_id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub current_version_id: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    pub validity_months: i32,
    pub allow_review: bool,
    pub renewal_exam_slug: Option<String>,
    pub retake_cooldown_days: i32,
    pub retake_max_per_year: i32,
    pub retake_wait_after_pass_days: i32,
    pub questions_per_form: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The metadata columns of `exams`, mirrored from the latest version's bank.
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = exams, treat_none_as_null = true)]
pub struct ExamMetaColumns {
    pub title: String,
    pub description: String,
    pub current_version_id: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    pub validity_months: i32,
    pub allow_review: bool,
    pub renewal_exam_slug: Option<String>,
    pub retake_cooldown_days: i32,
    pub retake_max_per_year: i32,
    pub retake_wait_after_pass_days: i32,
    pub questions_per_form: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exam_versions)]
pub struct VersionRow {
    pub id: String,
    pub exam_id: String,
    pub number: i32,
    pub label: String,
    pub content_hash: String,
    pub bank: String,
    pub source_format: String,
    pub source_name: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub state: ExamVersionState,
}

/// A version without its (large) bank JSON, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exam_versions)]
pub struct VersionInfo {
    pub id: String,
    pub number: i32,
    pub label: String,
    pub content_hash: String,
    pub source_format: String,
    pub source_name: String,
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = String)]
    pub state: ExamVersionState,
}

pub fn find_exam(conn: &mut DbConn, vendor_id: &str, slug: &str) -> QueryResult<Option<ExamRow>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(exams::slug.eq(slug))
        .select(ExamRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_exam_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<ExamRow>> {
    db::on_backend!(conn, |c| exams::table
        .find(id)
        .select(ExamRow::as_select())
        .first(c)
        .optional())
}

/// An exam by its public address `vendor/slug`, with the vendor's slug and name.
pub fn find_exam_by_slugs(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> QueryResult<Option<(ExamRow, String, String)>> {
    exams::table
        .inner_join(vendors::table)
        .filter(vendors::slug.eq(vendor_slug))
        .filter(exams::slug.eq(exam_slug))
        .select((ExamRow::as_select(), vendors::slug, vendors::name))
        .first(conn)
        .optional()
}

/// Every exam with a published version, with its vendor's slug and name, by vendor then title.
pub fn list_published_exams(conn: &mut DbConn) -> QueryResult<Vec<(ExamRow, String, String)>> {
    exams::table
        .inner_join(vendors::table)
        .filter(exams::current_version_id.is_not_null())
        .order((vendors::slug.asc(), exams::title.asc(), exams::slug.asc()))
        .select((ExamRow::as_select(), vendors::slug, vendors::name))
        .load(conn)
}

pub fn list_vendor_exams(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<ExamRow>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .order((exams::title.asc(), exams::slug.asc()))
        .select(ExamRow::as_select())
        .load(conn)
}

pub fn insert_exam(
    conn: &mut DbConn,
    vendor_id: &str,
    slug: &str,
    meta: &ExamMetaColumns,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(exams::table)
        .values((
            exams::id.eq(&id),
            exams::vendor_id.eq(vendor_id),
            exams::slug.eq(slug),
            exams::created_at.eq(now),
            meta,
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn update_exam_meta(
    conn: &mut DbConn,
    exam_id: &str,
    meta: &ExamMetaColumns,
) -> QueryResult<()> {
    diesel::update(exams::table.find(exam_id))
        .set(meta)
        .execute(conn)
        .map(drop)
}

// -------------------------------------------------------------------------------------------- versions

pub fn latest_version(conn: &mut DbConn, exam_id: &str) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .order(exam_versions::number.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_version(conn: &mut DbConn, id: &str) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .find(id)
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_version_by_number(
    conn: &mut DbConn,
    exam_id: &str,
    number: i32,
) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .filter(exam_versions::number.eq(number))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

/// Versions of an exam, newest first.
pub fn list_versions(conn: &mut DbConn, exam_id: &str) -> QueryResult<Vec<VersionInfo>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .order(exam_versions::number.desc())
        .select(VersionInfo::as_select())
        .load(conn)
}

pub struct NewVersion<'a> {
    pub exam_id: &'a str,
    pub number: i32,
    pub label: &'a str,
    pub content_hash: &'a str,
    pub bank_json: &'a str,
    pub source_format: &'a str,
    pub source_name: &'a str,
    pub created_by: Option<&'a str>,
}

/// Inserts a version. Versions are never updated afterwards: they are immutable once written.
pub fn insert_version(
    conn: &mut DbConn,
    new: &NewVersion<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(exam_versions::table)
        .values((
            exam_versions::id.eq(&id),
            exam_versions::exam_id.eq(new.exam_id),
            exam_versions::number.eq(new.number),
            exam_versions::label.eq(new.label),
            exam_versions::content_hash.eq(new.content_hash),
            exam_versions::bank.eq(new.bank_json),
            exam_versions::source_format.eq(new.source_format),
            exam_versions::source_name.eq(new.source_name),
            exam_versions::created_by.eq(new.created_by),
            exam_versions::created_at.eq(now),
            exam_versions::state.eq(ExamVersionState::Draft.as_str()),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Sets a version's state; the bank and everything else stay as imported.
pub fn set_version_state(
    conn: &mut DbConn,
    version_id: &str,
    state: ExamVersionState,
) -> QueryResult<()> {
    diesel::update(exam_versions::table.find(version_id))
        .set(exam_versions::state.eq(state.as_str()))
        .execute(conn)
        .map(drop)
}

/// Points the exam at its published version (`None`: no version is published; the exam leaves
/// the catalog).
pub fn set_current_version(
    conn: &mut DbConn,
    exam_id: &str,
    version_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(exams::table.find(exam_id))
        .set(exams::current_version_id.eq(version_id))
        .execute(conn)
        .map(drop)
}

/// The highest version number of the exam that has graded attempts.
pub fn latest_version_with_graded_attempts(
    conn: &mut DbConn,
    exam_id: &str,
) -> QueryResult<Option<i32>> {
    exam_versions::table
        .inner_join(attempts::table.on(attempts::version_id.eq(exam_versions::id)))
        .filter(exam_versions::exam_id.eq(exam_id))
        .filter(attempts::status.eq(AttemptStatus::Graded.as_str()))
        .filter(attempts::preview.eq(false))
        .select(diesel::dsl::max(exam_versions::number))
        .first(conn)
}
