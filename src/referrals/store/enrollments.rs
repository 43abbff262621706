//! Enrollments, tier changes, advocates and what `/r/<code>` looks up.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::Vendor;
use crate::db::schema::{credentials, enrollments, programs, tier_changes, users, vendors};
use crate::db::{self, new_id, DbConn};
use crate::referrals::{Enrollment, EnrollmentStatus, Program};

pub fn find_enrollment(conn: &mut DbConn, id: &str) -> QueryResult<Option<Enrollment>> {
    enrollments::table
        .find(id)
        .select(Enrollment::as_select())
        .first(conn)
        .optional()
}

pub fn find_enrollment_of_user(
    conn: &mut DbConn,
    program_id: &str,
    user_id: &str,
) -> QueryResult<Option<Enrollment>> {
    enrollments::table
        .filter(enrollments::program_id.eq(program_id))
        .filter(enrollments::user_id.eq(user_id))
        .select(Enrollment::as_select())
        .first(conn)
        .optional()
}

pub fn find_enrollment_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Enrollment>> {
    enrollments::table
        .filter(enrollments::referral_code.eq(code))
        .select(Enrollment::as_select())
        .first(conn)
        .optional()
}

pub fn code_taken(conn: &mut DbConn, code: &str) -> QueryResult<bool> {
    let count: i64 = enrollments::table
        .filter(enrollments::referral_code.eq(code))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

pub struct NewEnrollment<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub user_id: &'a str,
    pub referral_code: &'a str,
    pub tier_code: &'a str,
    pub terms_accepted_version: &'a str,
}

pub fn insert_enrollment(
    conn: &mut DbConn,
    new: &NewEnrollment<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(enrollments::table)
        .values((
            enrollments::id.eq(new.id),
            enrollments::program_id.eq(new.program_id),
            enrollments::user_id.eq(new.user_id),
            enrollments::referral_code.eq(new.referral_code),
            enrollments::tier_code.eq(new.tier_code),
            enrollments::terms_accepted_version.eq(new.terms_accepted_version),
            enrollments::status.eq(EnrollmentStatus::Active.as_str()),
            enrollments::enrolled_at.eq(now),
            enrollments::updated_at.eq(now),
            enrollments::tier_checked_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_terms_accepted(
    conn: &mut DbConn,
    enrollment_id: &str,
    version: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(enrollments::table.find(enrollment_id))
        .set((
            enrollments::terms_accepted_version.eq(version),
            enrollments::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_enrollment_status(
    conn: &mut DbConn,
    enrollment_id: &str,
    status: EnrollmentStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(enrollments::table.find(enrollment_id))
        .set((
            enrollments::status.eq(status.as_str()),
            enrollments::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Stores a recomputed tier if nobody recomputed this enrollment since `checked_at` (several
/// nodes may run the expiry pass at once); `false` when another writer got there first.
pub fn store_tier(
    conn: &mut DbConn,
    enrollment_id: &str,
    checked_at: NaiveDateTime,
    tier_code: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        enrollments::table
            .filter(enrollments::id.eq(enrollment_id))
            .filter(enrollments::tier_checked_at.eq(checked_at)),
    )
    .set((
        enrollments::tier_code.eq(tier_code),
        enrollments::tier_checked_at.eq(now),
        enrollments::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn insert_tier_change(
    conn: &mut DbConn,
    enrollment_id: &str,
    from: Option<&str>,
    to: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(tier_changes::table)
        .values((
            tier_changes::id.eq(new_id()),
            tier_changes::enrollment_id.eq(enrollment_id),
            tier_changes::from_tier.eq(from),
            tier_changes::to_tier.eq(to),
            tier_changes::reason.eq(reason),
            tier_changes::changed_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct TierChange {
    pub from_tier: Option<String>,
    pub to_tier: String,
    pub reason: String,
    pub changed_at: NaiveDateTime,
}

pub fn tier_changes_of(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<Vec<TierChange>> {
    tier_changes::table
        .filter(tier_changes::enrollment_id.eq(enrollment_id))
        .order((tier_changes::changed_at.asc(), tier_changes::id.asc()))
        .select((
            tier_changes::from_tier,
            tier_changes::to_tier,
            tier_changes::reason,
            tier_changes::changed_at,
        ))
        .load(conn)
}

/// The person's enrollments in the vendor's program (zero or one today; a list keeps callers
/// simple if a vendor ever runs several programs).
pub fn enrollments_of_user_at_vendor(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
) -> QueryResult<Vec<(Enrollment, Program)>> {
    db::on_backend!(conn, |c| enrollments::table
        .inner_join(programs::table)
        .filter(enrollments::user_id.eq(user_id))
        .filter(programs::vendor_id.eq(vendor_id))
        .select((Enrollment::as_select(), Program::as_select()))
        .load(c))
}

pub fn enrollments_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(Enrollment, Program, Vendor)>> {
    enrollments::table
        .inner_join(programs::table.inner_join(vendors::table))
        .filter(enrollments::user_id.eq(user_id))
        .order(enrollments::enrolled_at.asc())
        .select((
            Enrollment::as_select(),
            Program::as_select(),
            Vendor::as_select(),
        ))
        .load(conn)
}

/// An advocate as vendor staff see it: the enrollment with the person's name and address.
#[derive(Debug, Clone)]
pub struct Advocate {
    pub enrollment: Enrollment,
    pub name: String,
    pub email: String,
}

pub fn advocates_of_program(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<Advocate>> {
    let rows: Vec<(Enrollment, String, String)> = enrollments::table
        .inner_join(users::table)
        .filter(enrollments::program_id.eq(program_id))
        .order(enrollments::enrolled_at.asc())
        .select((Enrollment::as_select(), users::display_name, users::email))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(enrollment, name, email)| Advocate {
            enrollment,
            name,
            email,
        })
        .collect())
}

/// `(display name, e-mail)` of the person behind an enrollment.
pub fn advocate_contact(conn: &mut DbConn, user_id: &str) -> QueryResult<(String, String)> {
    users::table
        .find(user_id)
        .select((users::display_name, users::email))
        .first(conn)
}

/// Which credential event made a stored tier stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialChange {
    /// `valid_until` passed after the tier was last computed.
    Expired,
    /// `valid_from` passed after the tier was last computed (credentials issued ahead of time).
    BecameValid,
}

/// Ids of enrollments whose tier may be stale because one of the person's credentials of the
/// program's vendor expired (or became valid) after the tier was last computed, up to `now`.
pub fn enrollments_with_credential_change(
    conn: &mut DbConn,
    change: CredentialChange,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let base = enrollments::table.inner_join(programs::table).inner_join(
        credentials::table.on(credentials::user_id
            .eq(enrollments::user_id)
            .and(credentials::vendor_id.eq(programs::vendor_id))),
    );
    match change {
        CredentialChange::Expired => base
            .filter(credentials::valid_until.le(now))
            .filter(credentials::valid_until.gt(enrollments::tier_checked_at.nullable()))
            .select(enrollments::id)
            .distinct()
            .limit(limit)
            .load(conn),
        CredentialChange::BecameValid => base
            .filter(credentials::valid_from.le(now))
            .filter(credentials::valid_from.gt(enrollments::tier_checked_at))
            .select(enrollments::id)
            .distinct()
            .limit(limit)
            .load(conn),
    }
}

/// Every enrollment of the program (recomputing tiers after the tier set changed).
pub fn enrollments_of_program(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<Enrollment>> {
    enrollments::table
        .filter(enrollments::program_id.eq(program_id))
        .select(Enrollment::as_select())
        .load(conn)
}

/// What `/r/<code>` needs: where the code leads and whether it may be used.
#[derive(Debug, Clone)]
pub struct CodeTarget {
    pub enrollment_id: String,
    pub program_id: String,
    pub landing_url: String,
    pub active: bool,
}

pub fn code_target(conn: &mut DbConn, code: &str) -> QueryResult<Option<CodeTarget>> {
    let row: Option<(String, String, String, String)> = enrollments::table
        .inner_join(programs::table)
        .filter(enrollments::referral_code.eq(code))
        .select((
            enrollments::id,
            programs::id,
            programs::landing_url,
            enrollments::status,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(
        |(enrollment_id, program_id, landing_url, status)| CodeTarget {
            enrollment_id,
            program_id,
            landing_url,
            active: status == EnrollmentStatus::Active.as_str(),
        },
    ))
}
