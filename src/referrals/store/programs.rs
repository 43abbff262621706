//! Programs and tiers; the vendor's exams a tier can require (read-only; owned by the exams domain).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::accounts::Vendor;
use crate::db::schema::{commissions, exams, programs, tiers, vendors};
use crate::db::{new_id, DbConn};
use crate::referrals::{Program, TierRule};

/// Every exam of the vendor as `(slug, title)`, by title: what tiers can require
/// (read-only; owned by the exams domain).
pub fn vendor_exams(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<(String, String)>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .order((exams::title.asc(), exams::slug.asc()))
        .select((exams::slug, exams::title))
        .load(conn)
}

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
