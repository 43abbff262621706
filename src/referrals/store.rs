//! Every query of the referral tables. Functions take the caller's connection, so a use case in
//! `service` runs in one transaction. Dialect-specific statements (batch insert, insert-or-ignore)
//! `match` on [`DbConn`] here and nowhere else in this module.
//!
//! Read-only queries of other domains' tables live here too and are marked as such:
//! [`vendor_exams`] (exams) and the funnel counts
//! (users, attempts, credentials).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::{
    BillingEvent, Click, Commission, Customer, Enrollment, Payout, Program, TierRule,
    ENROLLMENT_ACTIVE, KIND_CLAWBACK, KIND_SALE, PAYOUT_PAID, PAYOUT_PENDING, STATUS_APPROVED,
    STATUS_PAID, STATUS_PENDING,
};
use crate::accounts::Vendor;
use crate::db::schema::{
    attempts, billing_events, clicks, commission_transitions, commissions, credentials, customers,
    enrollments, exams, payouts, programs, tier_changes, tiers, users, vendors,
};
use crate::db::{new_id, DbConn};

/// Rows per multi-row INSERT: 9 click columns × 500 stays far below SQLite's variable limit.
const INSERT_CHUNK: usize = 500;

// ---------------------------------------------------------------------------------------------
// Credentials (read-only; owned by the credentials domain)

/// Every exam of the vendor as `(slug, title)`, by title: what tiers can require
/// (read-only; owned by the exams domain).
pub fn vendor_exams(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<(String, String)>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .order((exams::title.asc(), exams::slug.asc()))
        .select((exams::slug, exams::title))
        .load(conn)
}

// ---------------------------------------------------------------------------------------------
// Programs and tiers

pub fn find_program(conn: &mut DbConn, id: &str) -> QueryResult<Option<Program>> {
    programs::table
        .find(id)
        .select(Program::as_select())
        .first(conn)
        .optional()
}

pub fn find_program_of_vendor(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Option<Program>> {
    programs::table
        .filter(programs::vendor_id.eq(vendor_id))
        .select(Program::as_select())
        .first(conn)
        .optional()
}

/// A program by its id or by its vendor's slug, with the vendor.
pub fn find_program_by_ref(
    conn: &mut DbConn,
    reference: &str,
) -> QueryResult<Option<(Program, Vendor)>> {
    let by_id = programs::table
        .inner_join(vendors::table)
        .filter(programs::id.eq(reference))
        .select((Program::as_select(), Vendor::as_select()))
        .first(conn)
        .optional()?;
    if by_id.is_some() {
        return Ok(by_id);
    }
    programs::table
        .inner_join(vendors::table)
        .filter(vendors::slug.eq(reference))
        .select((Program::as_select(), Vendor::as_select()))
        .first(conn)
        .optional()
}

pub fn list_programs(conn: &mut DbConn) -> QueryResult<Vec<(Program, Vendor)>> {
    programs::table
        .inner_join(vendors::table)
        .order(vendors::name.asc())
        .select((Program::as_select(), Vendor::as_select()))
        .load(conn)
}

/// Settings written by `PUT …/program`.
pub struct ProgramSettings<'a> {
    pub currency: &'a str,
    pub landing_url: &'a str,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    pub commission_months: i32,
    pub min_payout_minor: i64,
    pub terms_version: &'a str,
    pub terms_text: &'a str,
}

pub fn insert_program(
    conn: &mut DbConn,
    id: &str,
    vendor_id: &str,
    settings: &ProgramSettings<'_>,
    sealed_secret: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(programs::table)
        .values((
            programs::id.eq(id),
            programs::vendor_id.eq(vendor_id),
            programs::currency.eq(settings.currency),
            programs::landing_url.eq(settings.landing_url),
            programs::attribution_window_days.eq(settings.attribution_window_days),
            programs::hold_days.eq(settings.hold_days),
            programs::commission_months.eq(settings.commission_months),
            programs::min_payout_minor.eq(settings.min_payout_minor),
            programs::terms_version.eq(settings.terms_version),
            programs::terms_text.eq(settings.terms_text),
            programs::webhook_secret.eq(sealed_secret),
            programs::created_at.eq(now),
            programs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Replaces the webhook secret `sealed_previous`, keeping it until `previous_expires_at`; false
/// when another rotation replaced it first.
pub fn rotate_webhook_secret(
    conn: &mut DbConn,
    program_id: &str,
    sealed_secret: &str,
    sealed_previous: &str,
    previous_expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        programs::table
            .find(program_id)
            .filter(programs::webhook_secret.eq(sealed_previous)),
    )
    .set((
        programs::webhook_secret.eq(sealed_secret),
        programs::previous_webhook_secret.eq(sealed_previous),
        programs::previous_webhook_expires_at.eq(previous_expires_at),
        programs::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

pub fn update_program(
    conn: &mut DbConn,
    id: &str,
    settings: &ProgramSettings<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(programs::table.find(id))
        .set((
            programs::currency.eq(settings.currency),
            programs::landing_url.eq(settings.landing_url),
            programs::attribution_window_days.eq(settings.attribution_window_days),
            programs::hold_days.eq(settings.hold_days),
            programs::commission_months.eq(settings.commission_months),
            programs::min_payout_minor.eq(settings.min_payout_minor),
            programs::terms_version.eq(settings.terms_version),
            programs::terms_text.eq(settings.terms_text),
            programs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The program's tiers, lowest rank first.
pub fn program_tiers(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<TierRule>> {
    let rows: Vec<(String, String, i32, i32, String)> = tiers::table
        .filter(tiers::program_id.eq(program_id))
        .order(tiers::rank.asc())
        .select((
            tiers::code,
            tiers::name,
            tiers::rank,
            tiers::rate_bps,
            tiers::requires,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(code, name, rank, rate_bps, requires)| TierRule {
            code,
            name,
            rank,
            rate_bps: u32::try_from(rate_bps).unwrap_or(0),
            // Written by `replace_tiers` from a Vec<String>. A row that can't be read requires
            // an exam nobody holds, so a damaged row can never raise anyone's tier.
            requires_current_credentials: serde_json::from_str(&requires)
                .unwrap_or_else(|_| vec![String::from("\u{0}unreadable")]),
        })
        .collect())
}

pub fn replace_tiers(conn: &mut DbConn, program_id: &str, rules: &[TierRule]) -> QueryResult<()> {
    diesel::delete(tiers::table.filter(tiers::program_id.eq(program_id))).execute(conn)?;
    for rule in rules {
        let requires = serde_json::to_string(&rule.requires_current_credentials)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        diesel::insert_into(tiers::table)
            .values((
                tiers::id.eq(new_id()),
                tiers::program_id.eq(program_id),
                tiers::code.eq(rule.code.trim()),
                tiers::name.eq(rule.name.trim()),
                tiers::rank.eq(rule.rank),
                tiers::rate_bps.eq(i32::try_from(rule.rate_bps).unwrap_or(i32::MAX)),
                tiers::requires.eq(requires),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn program_has_commissions(conn: &mut DbConn, program_id: &str) -> QueryResult<bool> {
    let count: i64 = commissions::table
        .filter(commissions::program_id.eq(program_id))
        .count()
        .get_result(conn)?;
    Ok(count > 0)
}

// ---------------------------------------------------------------------------------------------
// Enrollments and tier changes

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
            enrollments::status.eq(ENROLLMENT_ACTIVE),
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
    status: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(enrollments::table.find(enrollment_id))
        .set((
            enrollments::status.eq(status),
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
    enrollments::table
        .inner_join(programs::table)
        .filter(enrollments::user_id.eq(user_id))
        .filter(programs::vendor_id.eq(vendor_id))
        .select((Enrollment::as_select(), Program::as_select()))
        .load(conn)
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
            active: status == ENROLLMENT_ACTIVE,
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Clicks

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

// ---------------------------------------------------------------------------------------------
// Customers

pub fn find_customer(
    conn: &mut DbConn,
    program_id: &str,
    external_id: &str,
) -> QueryResult<Option<Customer>> {
    customers::table
        .filter(customers::program_id.eq(program_id))
        .filter(customers::external_id.eq(external_id))
        .select(Customer::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub external_id: &'a str,
    pub enrollment_id: &'a str,
    pub click_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub bound_at: NaiveDateTime,
}

/// Inserts the binding unless `(program, external_id)` is bound already; `true` when this call
/// bound it. On PostgreSQL a concurrent binder waits for the first one's commit and then does
/// nothing, so the first binding wins without an aborted transaction.
pub fn insert_customer_if_absent(conn: &mut DbConn, new: &NewCustomer<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(customers::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(customers::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn customers_by_enrollment(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = customers::table
        .filter(customers::program_id.eq(program_id))
        .group_by(customers::enrollment_id)
        .select((customers::enrollment_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn customers_of_enrollment(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<i64> {
    customers::table
        .filter(customers::enrollment_id.eq(enrollment_id))
        .count()
        .get_result(conn)
}

// ---------------------------------------------------------------------------------------------
// Billing events

pub fn find_event(
    conn: &mut DbConn,
    program_id: &str,
    source: &str,
    external_event_id: &str,
) -> QueryResult<Option<BillingEvent>> {
    billing_events::table
        .filter(billing_events::program_id.eq(program_id))
        .filter(billing_events::source.eq(source))
        .filter(billing_events::external_event_id.eq(external_event_id))
        .select(BillingEvent::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = billing_events)]
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub source: &'a str,
    pub external_event_id: &'a str,
    pub kind: &'a str,
    pub invoice_id: &'a str,
    pub customer_external_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub occurred_at: NaiveDateTime,
    pub payload: &'a str,
    pub effect: &'a str,
    pub received_at: NaiveDateTime,
}

/// Stores the event unless its `(program, source, external_event_id)` is stored already; `true`
/// when this call stored it (see [`insert_customer_if_absent`] for the PostgreSQL behaviour).
pub fn insert_event_if_absent(conn: &mut DbConn, new: &NewEvent<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(billing_events::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(billing_events::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn set_event_effect(conn: &mut DbConn, event_id: &str, effect: &str) -> QueryResult<()> {
    diesel::update(billing_events::table.find(event_id))
        .set(billing_events::effect.eq(effect))
        .execute(conn)?;
    Ok(())
}

pub fn recent_events(
    conn: &mut DbConn,
    program_id: &str,
    limit: i64,
) -> QueryResult<Vec<BillingEvent>> {
    billing_events::table
        .filter(billing_events::program_id.eq(program_id))
        .order((
            billing_events::received_at.desc(),
            billing_events::id.desc(),
        ))
        .limit(limit)
        .select(BillingEvent::as_select())
        .load(conn)
}

/// Distinct paid invoices of bound customers, per enrollment (the funnel's "invoices" step).
pub fn invoices_by_enrollment(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, String)> = billing_events::table
        .inner_join(
            customers::table.on(customers::program_id
                .eq(billing_events::program_id)
                .and(customers::external_id.eq(billing_events::customer_external_id))),
        )
        .filter(billing_events::program_id.eq(program_id))
        .filter(billing_events::kind.eq(super::EVENT_INVOICE_PAID))
        .select((customers::enrollment_id, billing_events::invoice_id))
        .distinct()
        .load(conn)?;
    let mut counts = HashMap::new();
    for (enrollment_id, _) in rows {
        *counts.entry(enrollment_id).or_insert(0) += 1;
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------------------
// Commissions

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = commissions)]
pub struct NewCommission<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub enrollment_id: &'a str,
    pub customer_id: &'a str,
    pub billing_event_id: &'a str,
    pub invoice_id: &'a str,
    pub kind: &'a str,
    pub base_minor: i64,
    pub rate_bps: i32,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub status: &'a str,
    pub held: bool,
    pub held_reason: Option<&'a str>,
    pub hold_until: NaiveDateTime,
    pub tier_snapshot: &'a str,
    pub payout_id: Option<&'a str>,
    pub reverses_id: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_commission(conn: &mut DbConn, new: &NewCommission<'_>) -> QueryResult<()> {
    diesel::insert_into(commissions::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

pub fn find_commission(conn: &mut DbConn, id: &str) -> QueryResult<Option<Commission>> {
    commissions::table
        .find(id)
        .select(Commission::as_select())
        .first(conn)
        .optional()
}

pub fn find_commission_by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<Commission>> {
    commissions::table
        .filter(commissions::idempotency_key.eq(key))
        .select(Commission::as_select())
        .first(conn)
        .optional()
}

/// Appends to the transitions log (never updated or deleted).
pub fn insert_transition(
    conn: &mut DbConn,
    commission_id: &str,
    from: Option<&str>,
    to: &str,
    reason: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(commission_transitions::table)
        .values((
            commission_transitions::id.eq(new_id()),
            commission_transitions::commission_id.eq(commission_id),
            commission_transitions::from_status.eq(from),
            commission_transitions::to_status.eq(to),
            commission_transitions::reason.eq(reason),
            commission_transitions::actor.eq(actor),
            commission_transitions::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct Transition {
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: String,
    pub actor: Option<String>,
    pub at: NaiveDateTime,
}

pub fn transitions_of(conn: &mut DbConn, commission_id: &str) -> QueryResult<Vec<Transition>> {
    commission_transitions::table
        .filter(commission_transitions::commission_id.eq(commission_id))
        .order((
            commission_transitions::at.asc(),
            commission_transitions::id.asc(),
        ))
        .select((
            commission_transitions::from_status,
            commission_transitions::to_status,
            commission_transitions::reason,
            commission_transitions::actor,
            commission_transitions::at,
        ))
        .load(conn)
}

/// Moves a commission from one status to another if it still has the expected one (and, for
/// pending → approved, is not held). `true` when this call made the change; paid rows never
/// match because no caller passes `paid` as the expected status.
pub fn change_status(
    conn: &mut DbConn,
    commission_id: &str,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    debug_assert_ne!(from, STATUS_PAID, "paid commissions are never edited");
    let target = commissions::table
        .filter(commissions::id.eq(commission_id))
        .filter(commissions::status.eq(from));
    let n = if to == STATUS_APPROVED {
        diesel::update(target.filter(commissions::held.eq(false)))
            .set((commissions::status.eq(to), commissions::updated_at.eq(now)))
            .execute(conn)?
    } else {
        diesel::update(target.filter(commissions::payout_id.is_null()))
            .set((commissions::status.eq(to), commissions::updated_at.eq(now)))
            .execute(conn)?
    };
    Ok(n == 1)
}

/// Marks an approved commission of a payout paid (the only way into `paid`).
pub fn mark_commission_paid(
    conn: &mut DbConn,
    commission_id: &str,
    payout_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        commissions::table
            .filter(commissions::id.eq(commission_id))
            .filter(commissions::payout_id.eq(payout_id))
            .filter(commissions::status.eq(STATUS_APPROVED)),
    )
    .set((
        commissions::status.eq(STATUS_PAID),
        commissions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_hold(
    conn: &mut DbConn,
    commission_id: &str,
    held: bool,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        commissions::table
            .filter(commissions::id.eq(commission_id))
            .filter(commissions::status.eq(STATUS_PENDING))
            .filter(commissions::held.eq(!held)),
    )
    .set((
        commissions::held.eq(held),
        commissions::held_reason.eq(reason),
        commissions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sale rows of one invoice, oldest first.
pub fn sales_of_invoice(
    conn: &mut DbConn,
    program_id: &str,
    invoice_id: &str,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .filter(commissions::invoice_id.eq(invoice_id))
        .filter(commissions::kind.eq(KIND_SALE))
        .order((commissions::created_at.asc(), commissions::id.asc()))
        .select(Commission::as_select())
        .load(conn)
}

/// Sum of the (negative) bases already clawed back from a sale.
pub fn clawed_back_base(conn: &mut DbConn, sale_id: &str) -> QueryResult<i64> {
    let bases: Vec<i64> = commissions::table
        .filter(commissions::reverses_id.eq(sale_id))
        .filter(commissions::kind.eq(KIND_CLAWBACK))
        .select(commissions::base_minor)
        .load(conn)?;
    Ok(bases.into_iter().fold(0i64, i64::saturating_add))
}

/// Pending, not held commissions whose hold period ended.
pub fn due_for_approval(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::status.eq(STATUS_PENDING))
        .filter(commissions::held.eq(false))
        .filter(commissions::hold_until.le(now))
        .order(commissions::hold_until.asc())
        .limit(limit)
        .select(Commission::as_select())
        .load(conn)
}

pub fn commissions_of_program(
    conn: &mut DbConn,
    program_id: &str,
    held_only: bool,
    limit: i64,
) -> QueryResult<Vec<Commission>> {
    let mut query = commissions::table
        .filter(commissions::program_id.eq(program_id))
        .into_boxed();
    if held_only {
        query = query
            .filter(commissions::held.eq(true))
            .filter(commissions::status.eq(STATUS_PENDING));
    }
    query
        .order((commissions::created_at.desc(), commissions::id.desc()))
        .limit(limit)
        .select(Commission::as_select())
        .load(conn)
}

pub fn commissions_of_enrollment(
    conn: &mut DbConn,
    enrollment_id: &str,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::enrollment_id.eq(enrollment_id))
        .order((commissions::created_at.desc(), commissions::id.desc()))
        .select(Commission::as_select())
        .load(conn)
}

/// What the funnel and the disclosure need of a commission.
#[derive(Debug, Clone, Queryable)]
pub struct CommissionFact {
    pub enrollment_id: String,
    pub kind: String,
    pub status: String,
    pub amount_minor: i64,
    pub created_at: NaiveDateTime,
}

/// Every commission of the program, reduced to [`CommissionFact`].
pub fn commission_facts(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<CommissionFact>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .select((
            commissions::enrollment_id,
            commissions::kind,
            commissions::status,
            commissions::amount_minor,
            commissions::created_at,
        ))
        .load(conn)
}

/// Approved commissions not yet in a payout (the payable balance), per enrollment.
pub fn payable_commissions(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .filter(commissions::status.eq(STATUS_APPROVED))
        .filter(commissions::payout_id.is_null())
        .order((commissions::enrollment_id.asc(), commissions::id.asc()))
        .select(Commission::as_select())
        .load(conn)
}

/// Attaches commissions to a payout unless another payout took them first.
pub fn attach_to_payout(conn: &mut DbConn, ids: &[String], payout_id: &str) -> QueryResult<usize> {
    diesel::update(
        commissions::table
            .filter(commissions::id.eq_any(ids))
            .filter(commissions::payout_id.is_null())
            .filter(commissions::status.eq(STATUS_APPROVED)),
    )
    .set(commissions::payout_id.eq(payout_id))
    .execute(conn)
}

pub fn commissions_of_payout(conn: &mut DbConn, payout_id: &str) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::payout_id.eq(payout_id))
        .select(Commission::as_select())
        .load(conn)
}

// ---------------------------------------------------------------------------------------------
// Payouts

pub fn insert_payout(
    conn: &mut DbConn,
    id: &str,
    program: &Program,
    enrollment_id: &str,
    amount_minor: i64,
    created_by: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(payouts::table)
        .values((
            payouts::id.eq(id),
            payouts::program_id.eq(&program.id),
            payouts::enrollment_id.eq(enrollment_id),
            payouts::amount_minor.eq(amount_minor),
            payouts::currency.eq(&program.currency),
            payouts::status.eq(PAYOUT_PENDING),
            payouts::created_by.eq(created_by),
            payouts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_payout(conn: &mut DbConn, id: &str) -> QueryResult<Option<Payout>> {
    payouts::table
        .find(id)
        .select(Payout::as_select())
        .first(conn)
        .optional()
}

/// pending → paid with the reference, once.
pub fn mark_payout_paid(
    conn: &mut DbConn,
    id: &str,
    reference: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        payouts::table
            .filter(payouts::id.eq(id))
            .filter(payouts::status.eq(PAYOUT_PENDING)),
    )
    .set((
        payouts::status.eq(PAYOUT_PAID),
        payouts::reference.eq(reference),
        payouts::paid_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Payouts of a program with the advocate, newest first.
pub fn payouts_of_program(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<Vec<(Payout, String, String, String)>> {
    payouts::table
        .inner_join(enrollments::table.inner_join(users::table))
        .filter(payouts::program_id.eq(program_id))
        .order((payouts::created_at.desc(), payouts::id.desc()))
        .select((
            Payout::as_select(),
            enrollments::referral_code,
            users::display_name,
            users::email,
        ))
        .load(conn)
}

pub fn payouts_of_enrollment(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<Vec<Payout>> {
    payouts::table
        .filter(payouts::enrollment_id.eq(enrollment_id))
        .order((payouts::created_at.desc(), payouts::id.desc()))
        .select(Payout::as_select())
        .load(conn)
}

// ---------------------------------------------------------------------------------------------
// Funnel: practitioners (read-only over users, attempts, credentials)

pub fn count_users(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// People with at least one attempt at one of the vendor's exams.
pub fn count_attempters(conn: &mut DbConn, vendor_id: &str) -> QueryResult<i64> {
    let ids: Vec<String> = attempts::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .select(attempts::user_id)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// People ever certified by the vendor (any credential, current or not).
pub fn count_certified(conn: &mut DbConn, vendor_id: &str) -> QueryResult<i64> {
    let ids: Vec<String> = credentials::table
        .filter(credentials::vendor_id.eq(vendor_id))
        .select(credentials::user_id)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// Enrollment ids with their enrolment time (the disclosure counts people enrolled per year).
pub fn enrollment_dates(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    enrollments::table
        .filter(enrollments::program_id.eq(program_id))
        .select((enrollments::id, enrollments::enrolled_at))
        .load(conn)
}
