//! Referral use cases. Each takes the connection of the caller's transaction and the current
//! time, except [`ingest_event`] and [`bind_customer_with_retry`], which open their own
//! transactions so a lost unique-key race can be retried (see their docs).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self, CredentialChange, NewCommission, NewCustomer, NewEnrollment, NewEvent};
use super::{
    codes, disclosure, sealed, selfref, tiers, BillingEvent, Commission, Customer, Enrollment,
    Payout, Program, ReferralError, TierRule, WebhookError, DISCLOSURE, ENROLLMENT_ACTIVE,
    ENROLLMENT_SUSPENDED, EVENT_INVOICE_PAID, EVENT_REFUND, KIND_CLAWBACK, KIND_SALE, PAYOUT_PAID,
    STATUS_APPROVED, STATUS_PAID, STATUS_PENDING, STATUS_REVERSED,
};
use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::links::Links;
use crate::mail;
use crate::money::{
    commission_amount, format_amount, format_percent, parse_currency, MAX_RATE_BPS,
};
use crate::secrets::MasterKey;
use crate::spreadsheet::csv_cell;
use crate::text::plural;
use crate::validation::{normalize_email, FieldErrors};
use crate::webhooks::{self, EventType};

/// Webhook timestamps more than this far from the server clock are refused (replay window).
pub const WEBHOOK_TOLERANCE_SECS: i64 = super::webhook::DEFAULT_TOLERANCE_SECS;
/// Billing systems may report the first invoice a little before they bind its customer.
pub const BINDING_GRACE: Duration = Duration::days(1);
/// `occurred_at` may be this far in the future (clock skew between systems), no more.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

const MAX_DAYS: i64 = 3650;
const MAX_MONTHS: i64 = 1200;
const MAX_ID_LEN: usize = 200;
const MAX_TERMS_TEXT: usize = 20_000;
const CODE_ATTEMPTS: usize = 8;

fn text_ok(value: &str, max: usize) -> bool {
    let trimmed = value.trim();
    !trimmed.is_empty() && trimmed.chars().count() <= max && !trimmed.chars().any(char::is_control)
}

// =============================================================================================
// Programs

/// `PUT /api/v1/vendors/{vendor}/program`. Every field is optional for the parser so that
/// validation reports all missing ones at once. Unknown fields are refused.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProgramInput {
    pub currency: Option<String>,
    pub landing_url: Option<String>,
    pub attribution_window_days: Option<i64>,
    pub hold_days: Option<i64>,
    pub commission_months: Option<i64>,
    pub min_payout_minor: Option<i64>,
    pub terms_version: Option<String>,
    /// Optional; when absent the stored text is kept (or a default text is written).
    pub terms_text: Option<String>,
    #[schema(default = json!(null))]
    pub tiers: Option<Vec<TierInput>>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TierInput {
    pub code: String,
    /// What people read; absent, the code in words (`"silver-plus"` → `"Silver plus"`).
    #[schema(max_length = 80)]
    pub name: Option<String>,
    pub rank: Option<i32>,
    pub rate_bps: Option<i64>,
    pub requires_current_credentials: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TierView {
    pub code: String,
    pub name: String,
    pub rank: i32,
    pub rate_bps: u32,
    pub requires_current_credentials: Vec<String>,
    /// The titles of those exams, for pages.
    #[serde(skip)]
    pub required_exam_titles: Vec<String>,
}

impl TierView {
    fn of(rule: &TierRule, exam_titles: &HashMap<String, String>) -> Self {
        TierView {
            code: rule.code.clone(),
            name: rule.name.clone(),
            rank: rule.rank,
            rate_bps: rule.rate_bps,
            requires_current_credentials: rule.requires_current_credentials.clone(),
            required_exam_titles: titles_of(&rule.requires_current_credentials, exam_titles),
        }
    }
}

/// The program's tier names by code, for rows that keep a tier's code (enrollments, commissions).
pub fn tier_names(
    conn: &mut DbConn,
    program_id: &str,
) -> Result<HashMap<String, String>, ReferralError> {
    Ok(store::program_tiers(conn, program_id)?
        .into_iter()
        .map(|rule| (rule.code, rule.name))
        .collect())
}

/// The vendor's exam titles by slug.
fn exam_titles(conn: &mut DbConn, vendor_id: &str) -> diesel::QueryResult<HashMap<String, String>> {
    Ok(store::vendor_exams(conn, vendor_id)?.into_iter().collect())
}

/// Titles of the exams `slugs`, each its slug when the exam has no title on record.
fn titles_of(slugs: &[impl AsRef<str>], exam_titles: &HashMap<String, String>) -> Vec<String> {
    slugs
        .iter()
        .map(|slug| {
            let slug = slug.as_ref();
            exam_titles
                .get(slug)
                .cloned()
                .unwrap_or_else(|| slug.to_string())
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProgramView {
    pub id: String,
    pub vendor: String,
    pub vendor_name: String,
    pub currency: String,
    pub landing_url: String,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    pub commission_months: i32,
    pub min_payout_minor: i64,
    pub terms_version: String,
    pub terms_text: String,
    pub tiers: Vec<TierView>,
    pub page: String,
    pub disclosure_page: String,
    /// Only in answers to the vendor's program managers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

fn default_terms(vendor: &Vendor, s: &store::ProgramSettings<'_>) -> String {
    format!(
        "{vendor} advocate program.\n\n\
         - Joining is free and needs no purchase.\n\
         - You earn a commission on {vendor}'s sales to customers you refer, at the rate of your tier. \
         Tiers depend only on your current {vendor} certifications.\n\
         - A customer counts as referred when they arrive through your link within {window} of \
         the click. Invoices earn commission for {months} after the customer is bound.\n\
         - Commissions are approved {hold} after the invoice unless refunded or under review; \
         payouts start at a balance of {min}.\n\
         - One level only: nothing is paid for recruiting other advocates.\n\
         - Always say that your link earns a commission when you share it.",
        vendor = vendor.name,
        window = plural(s.attribution_window_days, "day", "days"),
        months = plural(s.commission_months, "month", "months"),
        hold = plural(s.hold_days, "day", "days"),
        min = format_amount(s.min_payout_minor, s.currency),
    )
}

fn day_count(errors: &mut FieldErrors, field: &str, value: Option<i64>, max: i64) -> i32 {
    match value {
        None => {
            errors.add(field, "this field is required");
            0
        }
        Some(v) if !(0..=max).contains(&v) => {
            errors.add(field, format!("use a whole number from 0 to {max}"));
            0
        }
        Some(v) => i32::try_from(v).unwrap_or(0),
    }
}

/// Validated tier rules, or field errors named like `tiers[1].rate_bps`.
fn parse_tiers(
    errors: &mut FieldErrors,
    input: Option<&[TierInput]>,
    vendor_exams: &HashSet<&str>,
    vendor_slug: &str,
) -> Vec<TierRule> {
    let Some(input) = input else {
        errors.add(
            "tiers",
            "add at least the base tier (a tier without required credentials)",
        );
        return Vec::new();
    };
    let mut rules = Vec::with_capacity(input.len());
    let mut shape_ok = true;
    for (index, tier) in input.iter().enumerate() {
        let rank = tier.rank.unwrap_or_else(|| {
            errors.add(format!("tiers[{index}].rank"), "this field is required");
            shape_ok = false;
            0
        });
        let rate_bps = match tier.rate_bps {
            None => {
                errors.add(format!("tiers[{index}].rate_bps"), "this field is required");
                shape_ok = false;
                0
            }
            Some(rate) if !(0..=i64::from(MAX_RATE_BPS)).contains(&rate) => {
                errors.add(
                    format!("tiers[{index}].rate_bps"),
                    format!(
                        "rate {} is outside 0 % to 100 % (0 to {MAX_RATE_BPS} basis points)",
                        format_percent(rate)
                    ),
                );
                shape_ok = false;
                0
            }
            Some(rate) => u32::try_from(rate).unwrap_or(0),
        };
        if tier.code.trim().chars().count() > 40 {
            errors.add(format!("tiers[{index}].code"), "use at most 40 characters");
        }
        for (slug_index, slug) in tier.requires_current_credentials.iter().enumerate() {
            let slug = slug.trim();
            if !slug.is_empty() && !vendor_exams.contains(slug) {
                errors.add(
                    format!("tiers[{index}].requires_current_credentials[{slug_index}]"),
                    format!("{vendor_slug} has no exam with slug \"{slug}\"; tiers can only require the vendor's own exams"),
                );
            }
        }
        let code = tier.code.trim().to_string();
        rules.push(TierRule {
            name: match &tier.name {
                Some(name) => name.trim().to_string(),
                None => tiers::default_tier_name(&code),
            },
            code,
            rank,
            rate_bps,
            requires_current_credentials: tier
                .requires_current_credentials
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
        });
    }
    if shape_ok {
        if let Err(problems) = tiers::validate_tiers(&rules) {
            for problem in problems {
                errors.add(problem.field, problem.message);
            }
        }
    }
    rules
}

/// Creates or updates the vendor's program and its tiers (`created` is `true` the first time).
/// The webhook secret is generated once, at creation, and stored sealed.
pub fn save_program(
    conn: &mut DbConn,
    vendor: &Vendor,
    input: &ProgramInput,
    master: &MasterKey,
    links: &Links,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(ProgramView, bool), ReferralError> {
    let mut errors = FieldErrors::new();
    let existing = store::find_program_of_vendor(conn, &vendor.id)?;

    let currency = match input.currency.as_deref() {
        None => {
            errors.add("currency", "this field is required");
            String::new()
        }
        Some(text) => match parse_currency(text.trim()) {
            Ok(c) => c.code().to_string(),
            Err(e) => {
                errors.add("currency", e.to_string());
                String::new()
            }
        },
    };
    let landing_url = match input.landing_url.as_deref().map(str::trim) {
        None | Some("") => {
            errors.add(
                "landing_url",
                "enter the page referral links lead to, e.g. https://vendor.example/pricing",
            );
            String::new()
        }
        Some(text) => match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                if text.len() > 2000 {
                    errors.add("landing_url", "use at most 2000 characters");
                }
                url.to_string()
            }
            _ => {
                errors.add(
                    "landing_url",
                    "use an absolute http(s) URL such as https://vendor.example/pricing",
                );
                String::new()
            }
        },
    };
    let attribution_window_days = day_count(
        &mut errors,
        "attribution_window_days",
        input.attribution_window_days,
        MAX_DAYS,
    );
    let hold_days = day_count(&mut errors, "hold_days", input.hold_days, MAX_DAYS);
    let commission_months = day_count(
        &mut errors,
        "commission_months",
        input.commission_months,
        MAX_MONTHS,
    );
    let min_payout_minor = match input.min_payout_minor {
        None => {
            errors.add("min_payout_minor", "this field is required");
            0
        }
        Some(v) if v < 0 => {
            errors.add("min_payout_minor", "use 0 or more");
            0
        }
        Some(v) => v,
    };
    let terms_version = input.terms_version.clone().unwrap_or_default();
    if !text_ok(&terms_version, 50) {
        errors.add(
            "terms_version",
            "name the version of the terms (1–50 characters, e.g. \"2026-01\")",
        );
    }
    if let Some(text) = &input.terms_text {
        if text.chars().count() > MAX_TERMS_TEXT {
            errors.add(
                "terms_text",
                format!("use at most {MAX_TERMS_TEXT} characters"),
            );
        }
    }
    let vendor_exams = store::vendor_exams(conn, &vendor.id)?;
    let rules = parse_tiers(
        &mut errors,
        input.tiers.as_deref(),
        &vendor_exams.iter().map(|(slug, _)| slug.as_str()).collect(),
        &vendor.slug,
    );
    if let Some(program) = &existing {
        if errors.message_for("currency").is_none()
            && program.currency != currency
            && store::program_has_commissions(conn, &program.id)?
        {
            errors.add(
                "currency",
                format!(
                    "the program already has commissions in {}; its currency can't change",
                    program.currency
                ),
            );
        }
    }
    errors.finish().map_err(ReferralError::Validation)?;

    let mut settings = store::ProgramSettings {
        currency: &currency,
        landing_url: &landing_url,
        attribution_window_days,
        hold_days,
        commission_months,
        min_payout_minor,
        terms_version: terms_version.trim(),
        terms_text: "",
    };
    let terms_text = match (&input.terms_text, &existing) {
        (Some(text), _) if !text.trim().is_empty() => text.trim().to_string(),
        (None, Some(program)) if !program.terms_text.is_empty() => program.terms_text.clone(),
        _ => default_terms(vendor, &settings),
    };
    settings.terms_text = &terms_text;

    let (program_id, created) = match &existing {
        Some(program) => {
            store::update_program(conn, &program.id, &settings, now)?;
            (program.id.clone(), false)
        }
        None => {
            let id = db::new_id();
            let secret = sealed::generate_secret();
            let sealed_secret = sealed::seal(master, &id, &secret)
                .map_err(|e| ReferralError::Internal(e.to_string()))?;
            store::insert_program(conn, &id, &vendor.id, &settings, &sealed_secret, now)?;
            (id, true)
        }
    };
    let old_rules = store::program_tiers(conn, &program_id)?;
    store::replace_tiers(conn, &program_id, &rules)?;
    let program = store::find_program(conn, &program_id)?
        .ok_or_else(|| ReferralError::Internal("program vanished".into()))?;
    let tiers_changed = tier_rules_differ(&old_rules, &rules);
    // The settings as saved (never the webhook secret); the terms text by its length only.
    audit::record(
        conn,
        actor,
        Action::ProgramChanged,
        Some(&vendor.id),
        &program.id,
        json!({
            "created": created,
            "tiers_changed": tiers_changed,
            "currency": program.currency,
            "landing_url": program.landing_url,
            "attribution_window_days": program.attribution_window_days,
            "hold_days": program.hold_days,
            "commission_months": program.commission_months,
            "min_payout_minor": program.min_payout_minor,
            "terms_version": program.terms_version,
            "terms_text_chars": program.terms_text.chars().count(),
            "tiers": rules,
        }),
        now,
    )?;
    if !created && tiers_changed {
        let rules = store::program_tiers(conn, &program.id)?;
        for enrollment in store::enrollments_of_program(conn, &program.id)? {
            recompute_tier(
                conn,
                enrollment,
                &program,
                &rules,
                "program tiers changed",
                now,
            )?;
        }
    }
    Ok((
        program_view(conn, &program, vendor, Some(master), links)?,
        created,
    ))
}

fn tier_rules_differ(a: &[TierRule], b: &[TierRule]) -> bool {
    let key = |rules: &[TierRule]| {
        let mut v: Vec<(i32, String, String, u32, Vec<String>)> = rules
            .iter()
            .map(|r| {
                (
                    r.rank,
                    r.code.trim().to_string(),
                    r.name.trim().to_string(),
                    r.rate_bps,
                    r.requires_current_credentials.clone(),
                )
            })
            .collect();
        v.sort();
        v
    };
    key(a) != key(b)
}

/// The program as shown; with `master`, including the webhook secret (program managers only).
pub fn program_view(
    conn: &mut DbConn,
    program: &Program,
    vendor: &Vendor,
    master: Option<&MasterKey>,
    links: &Links,
) -> Result<ProgramView, ReferralError> {
    let rules = store::program_tiers(conn, &program.id)?;
    let exam_titles = exam_titles(conn, &program.vendor_id)?;
    let webhook_secret = match master {
        Some(master) => Some(
            sealed::open(master, &program.id, &program.webhook_secret)
                .map_err(|e| ReferralError::Internal(e.to_string()))?,
        ),
        None => None,
    };
    Ok(ProgramView {
        id: program.id.clone(),
        vendor: vendor.slug.clone(),
        vendor_name: vendor.name.clone(),
        currency: program.currency.clone(),
        landing_url: program.landing_url.clone(),
        attribution_window_days: program.attribution_window_days,
        hold_days: program.hold_days,
        commission_months: program.commission_months,
        min_payout_minor: program.min_payout_minor,
        terms_version: program.terms_version.clone(),
        terms_text: program.terms_text.clone(),
        tiers: rules
            .iter()
            .map(|rule| TierView::of(rule, &exam_titles))
            .collect(),
        page: links.program_page(&program.id),
        disclosure_page: links.program_disclosure(&program.id),
        webhook_url: webhook_secret
            .as_ref()
            .map(|_| links.url(&format!("/api/v1/programs/{}/webhook", program.id))),
        webhook_secret,
        created_at: rfc3339_seconds(program.created_at),
        updated_at: rfc3339_seconds(program.updated_at),
    })
}

/// The vendor's program (404 when it has none yet).
pub fn program_of_vendor(conn: &mut DbConn, vendor: &Vendor) -> Result<Program, ReferralError> {
    store::find_program_of_vendor(conn, &vendor.id)?.ok_or_else(|| {
        ReferralError::NotFound(format!(
            "{} has no advocate program yet; create it with PUT /api/v1/vendors/{}/program",
            vendor.name, vendor.slug
        ))
    })
}

/// A program by id or vendor slug.
pub fn find_program(
    conn: &mut DbConn,
    reference: &str,
) -> Result<(Program, Vendor), ReferralError> {
    store::find_program_by_ref(conn, reference)?
        .ok_or_else(|| ReferralError::NotFound("advocate program not found".into()))
}

/// The webhook secret of a program, opened for signature checks.
pub fn webhook_secret(master: &MasterKey, program: &Program) -> Result<String, ReferralError> {
    sealed::open(master, &program.id, &program.webhook_secret)
        .map_err(|e| ReferralError::Internal(e.to_string()))
}

/// How long a rotated-out webhook secret keeps verifying unless the rotation says otherwise.
pub const WEBHOOK_OVERLAP_DEFAULT: Duration = Duration::hours(24);
/// The longest overlap a rotation may ask for.
pub const WEBHOOK_OVERLAP_MAX: Duration = Duration::days(30);

/// A new webhook secret, shown once in the answer to the rotation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    pub webhook_secret: String,
    /// Until when the replaced secret still verifies (RFC 3339).
    #[schema(format = DateTime)]
    pub previous_expires_at: String,
}

/// Replaces the program's webhook secret with a fresh one. The replaced secret keeps verifying
/// until `previous_expires_at` (default: 24 hours from now; now or earlier ends it at once; at
/// most 30 days ahead), so the sender can switch without losing events; a secret replaced
/// before is dropped.
pub fn rotate_webhook_secret(
    conn: &mut DbConn,
    program: &Program,
    master: &MasterKey,
    previous_expires_at: Option<NaiveDateTime>,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<RotatedSecret, ReferralError> {
    let until = previous_expires_at.unwrap_or(now + WEBHOOK_OVERLAP_DEFAULT);
    if until > now + WEBHOOK_OVERLAP_MAX {
        return Err(ReferralError::field(
            "previous_expires_at",
            "choose a time at most 30 days from now (default: 24 hours; now ends the old secret at once)",
        ));
    }
    let secret = sealed::generate_secret();
    let seal = |text: &str| {
        sealed::seal(master, &program.id, text).map_err(|e| ReferralError::Internal(e.to_string()))
    };
    // The sealed current secret opens under the same program id, so it moves over as it is.
    let rotated = store::rotate_webhook_secret(
        conn,
        &program.id,
        &seal(&secret)?,
        &program.webhook_secret,
        until,
        now,
    )?;
    if !rotated {
        return Err(ReferralError::Conflict(
            "the webhook secret was rotated at the same moment by someone else; read the program again before rotating".into(),
        ));
    }
    // When the old secret stops verifying; never a secret itself.
    audit::record(
        conn,
        actor,
        Action::WebhookSecretRotated,
        Some(&program.vendor_id),
        &program.id,
        json!({"previous_expires_at": rfc3339_seconds(until)}),
        now,
    )?;
    Ok(RotatedSecret {
        webhook_secret: secret,
        previous_expires_at: rfc3339_seconds(until),
    })
}

/// Checks a webhook's signature header against the program's current secret and, until it
/// expires, the secret the last rotation replaced; returns the signed timestamp.
pub fn verify_webhook(
    master: &MasterKey,
    program: &Program,
    header: &str,
    body: &[u8],
    now: NaiveDateTime,
) -> Result<i64, ReferralError> {
    let at = now.and_utc().timestamp();
    let check = |secret: &str| {
        super::verify_signature(secret.as_bytes(), header, body, at, WEBHOOK_TOLERANCE_SECS)
    };
    match check(&webhook_secret(master, program)?) {
        Err(WebhookError::BadSignature) => match (
            &program.previous_webhook_secret,
            program.previous_webhook_expires_at,
        ) {
            (Some(previous), Some(until)) if now < until => {
                let previous = sealed::open(master, &program.id, previous)
                    .map_err(|e| ReferralError::Internal(e.to_string()))?;
                Ok(check(&previous)?)
            }
            _ => Err(WebhookError::BadSignature.into()),
        },
        other => Ok(other?),
    }
}

// =============================================================================================
// Tiers

/// Recomputes one enrollment's tier from the credentials current at `now`, storing it and a
/// `tier_changes` row with `reason` when it changed. Safe against concurrent recomputation: the
/// write is conditional on the last computation time and retried on a lost race.
fn recompute_tier(
    conn: &mut DbConn,
    mut enrollment: Enrollment,
    program: &Program,
    rules: &[TierRule],
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), ReferralError> {
    for _ in 0..4 {
        let held = held_exam_slugs(conn, &enrollment.user_id, &program.vendor_id, now)?;
        let tier = tiers::select_tier(rules, &held)
            .map(|t| t.code.clone())
            .unwrap_or_else(|| enrollment.tier_code.clone());
        if store::store_tier(conn, &enrollment.id, enrollment.tier_checked_at, &tier, now)? {
            if tier != enrollment.tier_code {
                store::insert_tier_change(
                    conn,
                    &enrollment.id,
                    Some(&enrollment.tier_code),
                    &tier,
                    reason,
                    now,
                )?;
            }
            return Ok(());
        }
        match store::find_enrollment(conn, &enrollment.id)? {
            Some(fresh) => enrollment = fresh,
            None => return Ok(()),
        }
    }
    Err(ReferralError::Conflict(
        "the tier is being recomputed concurrently; try again".into(),
    ))
}

/// Recomputes the person's tier in the vendor's program after one of their credentials was
/// issued, revoked or expired, recording the change with `reason`. The credentials module calls
/// it in the transaction that changes the credential.
/// The vendor's exams of which the person holds a current credential at `at`: the only input of
/// tiers (never money spent).
fn held_exam_slugs(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    at: NaiveDateTime,
) -> diesel::QueryResult<HashSet<String>> {
    Ok(
        crate::credentials::service::current_exam_slugs(conn, user_id, vendor_id, at)?
            .into_iter()
            .collect(),
    )
}

pub fn on_credentials_changed(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), ReferralError> {
    for (enrollment, program) in store::enrollments_of_user_at_vendor(conn, user_id, vendor_id)? {
        let rules = store::program_tiers(conn, &program.id)?;
        recompute_tier(conn, enrollment, &program, &rules, reason, now)?;
    }
    Ok(())
}

/// One pass of the tier job: recomputes enrollments whose credentials expired (reason
/// "credential expired") or became valid since their tier was computed. Returns how many
/// enrollments were looked at.
pub fn recompute_stale_tiers(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, ReferralError> {
    let mut done = 0;
    for (change, reason) in [
        (CredentialChange::Expired, "credential expired"),
        (CredentialChange::BecameValid, "credential became valid"),
    ] {
        for id in store::enrollments_with_credential_change(conn, change, now, limit)? {
            let Some(enrollment) = store::find_enrollment(conn, &id)? else {
                continue;
            };
            let Some(program) = store::find_program(conn, &enrollment.program_id)? else {
                continue;
            };
            let rules = store::program_tiers(conn, &program.id)?;
            recompute_tier(conn, enrollment, &program, &rules, reason, now)?;
            done += 1;
        }
    }
    Ok(done)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextTierView {
    pub code: String,
    pub name: String,
    pub rate_bps: u32,
    /// Exam slugs whose current credential is still missing.
    pub missing_exams: Vec<String>,
    /// The titles of those exams, for pages.
    #[serde(skip)]
    pub missing_exam_titles: Vec<String>,
}

fn next_tier_view(
    rules: &[TierRule],
    held: &HashSet<String>,
    exam_titles: &HashMap<String, String>,
) -> Option<NextTierView> {
    tiers::next_tier(rules, held).map(|(tier, missing)| NextTierView {
        code: tier.code.clone(),
        name: tier.name.clone(),
        rate_bps: tier.rate_bps,
        missing_exam_titles: titles_of(&missing, exam_titles),
        missing_exams: missing.into_iter().map(str::to_string).collect(),
    })
}

// =============================================================================================
// Enrollment

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EnrollInput {
    pub accept_terms_version: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrollmentView {
    pub id: String,
    pub program: String,
    pub vendor: String,
    pub vendor_name: String,
    pub referral_code: String,
    pub link: String,
    /// Say this wherever the link is shared.
    pub disclosure: &'static str,
    pub status: String,
    pub tier: String,
    /// The tier's name for people.
    pub tier_name: String,
    pub rate_bps: u32,
    pub next_tier: Option<NextTierView>,
    pub terms_accepted_version: String,
    pub terms_version: String,
    pub currency: String,
    #[schema(format = DateTime)]
    pub enrolled_at: String,
}

fn enrollment_view(
    conn: &mut DbConn,
    enrollment: &Enrollment,
    program: &Program,
    vendor: &Vendor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<EnrollmentView, ReferralError> {
    let rules = store::program_tiers(conn, &program.id)?;
    let held = held_exam_slugs(conn, &enrollment.user_id, &program.vendor_id, now)?;
    let tier = rules.iter().find(|r| r.code == enrollment.tier_code);
    let rate_bps = tier.map_or(0, |r| r.rate_bps);
    let tier_name = tier.map_or_else(
        || tiers::default_tier_name(&enrollment.tier_code),
        |r| r.name.clone(),
    );
    Ok(EnrollmentView {
        id: enrollment.id.clone(),
        program: program.id.clone(),
        vendor: vendor.slug.clone(),
        vendor_name: vendor.name.clone(),
        referral_code: enrollment.referral_code.clone(),
        link: links.referral(&enrollment.referral_code),
        disclosure: DISCLOSURE,
        status: enrollment.status.clone(),
        tier: enrollment.tier_code.clone(),
        tier_name,
        rate_bps,
        next_tier: next_tier_view(&rules, &held, &exam_titles(conn, &program.vendor_id)?),
        terms_accepted_version: enrollment.terms_accepted_version.clone(),
        terms_version: program.terms_version.clone(),
        currency: program.currency.clone(),
        enrolled_at: rfc3339_seconds(enrollment.enrolled_at),
    })
}

/// The person enrolling: the code's readable prefix comes from their name.
#[derive(Debug, Clone, Copy)]
pub struct Enrollee<'a> {
    pub user_id: &'a str,
    pub display_name: &'a str,
}

/// Enrolls the person (free, no purchase). Accepting terms other than the program's current
/// version is refused. Enrolling again returns the existing enrollment (`created == false`),
/// recording the newly accepted terms version.
pub fn enroll(
    conn: &mut DbConn,
    program: &Program,
    vendor: &Vendor,
    person: Enrollee<'_>,
    input: &EnrollInput,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(EnrollmentView, bool), ReferralError> {
    let Enrollee {
        user_id,
        display_name,
    } = person;
    let accepted = input.accept_terms_version.as_deref().map(str::trim);
    match accepted {
        None | Some("") => {
            return Err(ReferralError::field(
                "accept_terms_version",
                format!(
                    "read the program's terms ({}) and accept their version \"{}\"",
                    links.program_page(&program.id),
                    program.terms_version
                ),
            ))
        }
        Some(version) if version != program.terms_version => {
            return Err(ReferralError::field(
                "accept_terms_version",
                format!(
                    "the program's current terms are version \"{}\", not \"{version}\"; read them at {} and accept that version",
                    program.terms_version,
                    links.program_page(&program.id)
                ),
            ))
        }
        Some(_) => {}
    }
    if let Some(existing) = store::find_enrollment_of_user(conn, &program.id, user_id)? {
        if existing.terms_accepted_version != program.terms_version {
            store::set_terms_accepted(conn, &existing.id, &program.terms_version, now)?;
        }
        let fresh = store::find_enrollment(conn, &existing.id)?.unwrap_or(existing);
        return Ok((
            enrollment_view(conn, &fresh, program, vendor, links, now)?,
            false,
        ));
    }
    let rules = store::program_tiers(conn, &program.id)?;
    let held = held_exam_slugs(conn, user_id, &program.vendor_id, now)?;
    let tier = tiers::select_tier(&rules, &held)
        .map(|t| t.code.clone())
        .ok_or_else(|| ReferralError::Internal("program has no base tier".into()))?;
    let mut code = None;
    let mut rng = rand::thread_rng();
    for _ in 0..CODE_ATTEMPTS {
        let candidate = codes::generate_code(display_name, &mut rng);
        if !store::code_taken(conn, &candidate)? {
            code = Some(candidate);
            break;
        }
    }
    let code = code.ok_or_else(|| {
        ReferralError::Conflict("could not find a free referral code; try again".into())
    })?;
    let id = db::new_id();
    store::insert_enrollment(
        conn,
        &NewEnrollment {
            id: &id,
            program_id: &program.id,
            user_id,
            referral_code: &code,
            tier_code: &tier,
            terms_accepted_version: &program.terms_version,
        },
        now,
    )
    .map_err(|e| {
        if db::is_unique_violation(&e) {
            ReferralError::Conflict("you enrolled a moment ago in another window; reload".into())
        } else {
            e.into()
        }
    })?;
    store::insert_tier_change(conn, &id, None, &tier, "enrolled", now)?;
    let enrollment = store::find_enrollment(conn, &id)?
        .ok_or_else(|| ReferralError::Internal("enrollment vanished".into()))?;
    Ok((
        enrollment_view(conn, &enrollment, program, vendor, links, now)?,
        true,
    ))
}

/// Suspends or reinstates an advocate (program managers). A suspended code answers 404 and new
/// commissions of a suspended advocate are held for review.
pub fn set_advocate_status(
    conn: &mut DbConn,
    program: &Program,
    enrollment_id: &str,
    status: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Enrollment, ReferralError> {
    if status != ENROLLMENT_ACTIVE && status != ENROLLMENT_SUSPENDED {
        return Err(ReferralError::field("status", "use active or suspended"));
    }
    let enrollment = store::find_enrollment(conn, enrollment_id)?
        .filter(|e| e.program_id == program.id)
        .ok_or_else(|| ReferralError::NotFound("advocate not found in this program".into()))?;
    store::set_enrollment_status(conn, &enrollment.id, status, now)?;
    audit::record(
        conn,
        actor,
        Action::AdvocateStatusChanged,
        Some(&program.vendor_id),
        &enrollment.id,
        json!({
            "referral_code": enrollment.referral_code,
            "from": enrollment.status,
            "to": status,
        }),
        now,
    )?;
    store::find_enrollment(conn, &enrollment.id)?
        .ok_or_else(|| ReferralError::Internal("enrollment vanished".into()))
}

// =============================================================================================
// Customers

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerInput {
    pub external_id: Option<String>,
    pub click_id: Option<String>,
    pub referral_code: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub bound: bool,
    pub id: String,
    pub external_id: String,
    pub enrollment: String,
    pub referral_code: String,
    pub click_id: Option<String>,
    #[schema(format = DateTime)]
    pub bound_at: String,
}

#[derive(Debug, Clone)]
pub enum BindOutcome {
    /// This call bound the customer (201).
    Bound(CustomerView),
    /// The customer was bound before; the first binding stands (200).
    Existing(CustomerView),
    /// Nothing was bound, for a reason that is not the caller's mistake (200, `bound: false`):
    /// the click is older than the attribution window, or the advocate is suspended.
    NotBound { external_id: String, reason: String },
}

fn customer_view(conn: &mut DbConn, customer: &Customer) -> Result<CustomerView, ReferralError> {
    let code = store::find_enrollment(conn, &customer.enrollment_id)?
        .map(|e| e.referral_code)
        .unwrap_or_default();
    Ok(CustomerView {
        bound: true,
        id: customer.id.clone(),
        external_id: customer.external_id.clone(),
        enrollment: customer.enrollment_id.clone(),
        referral_code: code,
        click_id: customer.click_id.clone(),
        bound_at: rfc3339_seconds(customer.bound_at),
    })
}

/// Binds a vendor's customer to the advocate of a click or a referral code. The first binding
/// wins; later calls return it. A click older than the program's attribution window binds
/// nothing (`NotBound`). Unknown clicks or codes are input errors.
pub fn bind_customer(
    conn: &mut DbConn,
    program: &Program,
    input: &CustomerInput,
    now: NaiveDateTime,
) -> Result<BindOutcome, ReferralError> {
    let mut errors = FieldErrors::new();
    let external_id = input.external_id.clone().unwrap_or_default();
    if !text_ok(&external_id, MAX_ID_LEN) {
        errors.add(
            "external_id",
            "send your system's customer id (1–200 characters)",
        );
    }
    let click_id = input
        .click_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let code_text = input
        .referral_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if click_id.is_none() && code_text.is_none() {
        errors.add(
            "click_id",
            "send click_id (the credo_click parameter of the landing URL) or referral_code",
        );
    }
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => match normalize_email(text) {
            Ok(email) => Some(email),
            Err(message) => {
                errors.add("email", message);
                None
            }
        },
    };
    errors.finish().map_err(ReferralError::Validation)?;
    let external_id = external_id.trim().to_string();

    if let Some(existing) = store::find_customer(conn, &program.id, &external_id)? {
        return Ok(BindOutcome::Existing(customer_view(conn, &existing)?));
    }

    let click = match click_id {
        None => None,
        Some(id) => Some(
            store::find_click(conn, id)?
                .filter(|c| c.program_id == program.id)
                .ok_or_else(|| {
                    ReferralError::field("click_id", "no click with this id in this program")
                })?,
        ),
    };
    let code_enrollment = match code_text {
        None => None,
        Some(text) => Some(
            codes::normalize_code(text)
                .map(|code| store::find_enrollment_by_code(conn, &code))
                .transpose()?
                .flatten()
                .filter(|e| e.program_id == program.id)
                .ok_or_else(|| {
                    ReferralError::field(
                        "referral_code",
                        "no advocate of this program has this code",
                    )
                })?,
        ),
    };
    let enrollment_id = match (&click, &code_enrollment) {
        (Some(click), Some(enrollment)) if click.enrollment_id != enrollment.id => {
            return Err(ReferralError::field(
                "referral_code",
                "the code belongs to another advocate than the click; send one of them",
            ))
        }
        (Some(click), _) => click.enrollment_id.clone(),
        (None, Some(enrollment)) => enrollment.id.clone(),
        (None, None) => return Err(ReferralError::Internal("validated input missing".into())),
    };
    let enrollment = store::find_enrollment(conn, &enrollment_id)?
        .ok_or_else(|| ReferralError::Internal("click without enrollment".into()))?;
    if enrollment.status != ENROLLMENT_ACTIVE {
        return Ok(BindOutcome::NotBound {
            external_id,
            reason: "the advocate's enrollment is suspended".into(),
        });
    }
    if let Some(click) = &click {
        let window = Duration::days(i64::from(program.attribution_window_days));
        if now - click.at > window {
            return Ok(BindOutcome::NotBound {
                external_id,
                reason: format!(
                    "the click is older than the program's {}-day attribution window",
                    program.attribution_window_days
                ),
            });
        }
    }
    let id = db::new_id();
    let inserted = store::insert_customer_if_absent(
        conn,
        &NewCustomer {
            id: &id,
            program_id: &program.id,
            external_id: &external_id,
            enrollment_id: &enrollment.id,
            click_id: click.as_ref().map(|c| c.id.as_str()),
            email: email.as_deref(),
            bound_at: now,
        },
    )?;
    let customer = store::find_customer(conn, &program.id, &external_id)?
        .ok_or_else(|| ReferralError::Internal("customer vanished".into()))?;
    let view = customer_view(conn, &customer)?;
    Ok(if inserted {
        BindOutcome::Bound(view)
    } else {
        BindOutcome::Existing(view)
    })
}

/// [`bind_customer`] in its own transaction, retried once when a concurrent binder won a
/// unique-key race the database reported as an error.
pub fn bind_customer_with_retry(
    conn: &mut DbConn,
    program: &Program,
    input: &CustomerInput,
    now: NaiveDateTime,
) -> Result<BindOutcome, ReferralError> {
    match db::transaction(conn, |c| bind_customer(c, program, input, now)) {
        Err(e) if e.is_unique_violation() => {
            db::transaction(conn, |c| bind_customer(c, program, input, now))
        }
        other => other,
    }
}

// =============================================================================================
// Billing events and commissions

/// A billing event as posted (API) or signed (webhook). Unknown fields are accepted and kept in
/// the stored payload: billing systems add their own.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EventInput {
    pub source: Option<String>,
    pub external_event_id: Option<String>,
    pub kind: Option<String>,
    pub invoice_id: Option<String>,
    pub customer_external_id: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// A validated event.
#[derive(Debug, Clone)]
struct ValidEvent {
    source: String,
    external_event_id: String,
    kind: &'static str,
    invoice_id: String,
    customer_external_id: String,
    amount_minor: i64,
    currency: String,
    occurred_at: NaiveDateTime,
}

fn validate_event(
    program: &Program,
    input: &EventInput,
    now: NaiveDateTime,
) -> Result<ValidEvent, ReferralError> {
    let mut errors = FieldErrors::new();
    let mut text = |field: &str, value: &Option<String>, hint: &str| -> String {
        let value = value.as_deref().unwrap_or("");
        if !text_ok(value, MAX_ID_LEN) {
            errors.add(field, format!("{hint} (1–200 characters)"));
        }
        value.trim().to_string()
    };
    let source = text(
        "source",
        &input.source,
        "name the billing system, e.g. \"stripe\"",
    );
    let external_event_id = text(
        "external_event_id",
        &input.external_event_id,
        "send the billing system's id of this event",
    );
    let invoice_id = text("invoice_id", &input.invoice_id, "send the invoice id");
    let customer_external_id = text(
        "customer_external_id",
        &input.customer_external_id,
        "send the customer id you bound with POST …/customers",
    );
    let kind = match input.kind.as_deref() {
        Some(EVENT_INVOICE_PAID) => EVENT_INVOICE_PAID,
        Some(EVENT_REFUND) => EVENT_REFUND,
        None => {
            errors.add("kind", "this field is required: invoice_paid or refund");
            ""
        }
        Some(_) => {
            errors.add(
                "kind",
                "use invoice_paid or refund; exam fees, voucher purchases and anything else never earn commissions",
            );
            ""
        }
    };
    let amount_minor = match input.amount_minor {
        None => {
            errors.add(
                "amount_minor",
                "this field is required (integer minor units)",
            );
            0
        }
        Some(amount) if amount <= 0 => {
            let what = if kind == EVENT_REFUND {
                "the refunded amount"
            } else {
                "the amount paid"
            };
            errors.add(
                "amount_minor",
                format!("send {what} as a positive integer of minor units (e.g. cents)"),
            );
            0
        }
        Some(amount) => amount,
    };
    let currency = match input.currency.as_deref() {
        None => {
            errors.add("currency", "this field is required");
            String::new()
        }
        Some(code) => match parse_currency(code) {
            Err(e) => {
                errors.add("currency", e.to_string());
                String::new()
            }
            Ok(c) if c.code() != program.currency => {
                errors.add(
                    "currency",
                    format!(
                        "the program pays commissions in {}; send amounts in {} (got {})",
                        program.currency, program.currency, c
                    ),
                );
                String::new()
            }
            Ok(c) => c.code().to_string(),
        },
    };
    let occurred_at = match input.occurred_at.as_deref() {
        None => {
            errors.add(
                "occurred_at",
                "this field is required (e.g. 2026-11-23T10:00:00Z)",
            );
            now
        }
        Some(text) => match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Err(_) => {
                errors.add(
                    "occurred_at",
                    "use an RFC 3339 time such as 2026-11-23T10:00:00Z",
                );
                now
            }
            Ok(t) => {
                let t = crate::clock::truncate_to_micros(t.naive_utc());
                if t > now + FUTURE_SKEW {
                    errors.add("occurred_at", "this time is in the future");
                }
                t
            }
        },
    };
    errors.finish().map_err(ReferralError::Validation)?;
    Ok(ValidEvent {
        source,
        external_event_id,
        kind,
        invoice_id,
        customer_external_id,
        amount_minor,
        currency,
        occurred_at,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommissionView {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub enrollment: String,
    pub invoice_id: String,
    pub base_minor: i64,
    pub rate_bps: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub tier: String,
    pub held: bool,
    pub held_reason: Option<String>,
    #[schema(format = DateTime)]
    pub hold_until: String,
    pub payout: Option<String>,
    pub reverses: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Commission> for CommissionView {
    fn from(c: &Commission) -> Self {
        CommissionView {
            id: c.id.clone(),
            kind: c.kind.clone(),
            status: c.status.clone(),
            enrollment: c.enrollment_id.clone(),
            invoice_id: c.invoice_id.clone(),
            base_minor: c.base_minor,
            rate_bps: c.rate_bps,
            amount_minor: c.amount_minor,
            currency: c.currency.clone(),
            tier: c.tier_snapshot.clone(),
            held: c.held,
            held_reason: c.held_reason.clone(),
            hold_until: rfc3339_seconds(c.hold_until),
            payout: c.payout_id.clone(),
            reverses: c.reverses_id.clone(),
            created_at: rfc3339_seconds(c.created_at),
        }
    }
}

/// What an event did, stored with the event and answered again on every replay.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventEffect {
    /// `commission_created`, `commission_reversed`, `clawback_created` or `no_commission`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Commissions this event created, as they were at that moment.
    pub commissions: Vec<CommissionView>,
    /// Ids of commissions this event reversed.
    pub reversed: Vec<String>,
}

impl EventEffect {
    fn nothing(reason: impl Into<String>) -> Self {
        EventEffect {
            outcome: "no_commission".into(),
            reason: Some(reason.into()),
            commissions: Vec::new(),
            reversed: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventAnswer {
    pub id: String,
    pub source: String,
    pub external_event_id: String,
    pub kind: String,
    pub invoice_id: String,
    pub customer_external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub received_at: String,
    /// `true` when this event had been received before: nothing new happened.
    pub replayed: bool,
    pub effect: serde_json::Value,
}

fn event_answer(event: &BillingEvent, replayed: bool) -> EventAnswer {
    EventAnswer {
        id: event.id.clone(),
        source: event.source.clone(),
        external_event_id: event.external_event_id.clone(),
        kind: event.kind.clone(),
        invoice_id: event.invoice_id.clone(),
        customer_external_id: event.customer_external_id.clone(),
        amount_minor: event.amount_minor,
        currency: event.currency.clone(),
        occurred_at: rfc3339_seconds(event.occurred_at),
        received_at: rfc3339_seconds(event.received_at),
        replayed,
        effect: serde_json::from_str(&event.effect).unwrap_or(serde_json::Value::Null),
    }
}

/// Stores a billing event and applies it, exactly once per `(program, source,
/// external_event_id)`. Opens its own transactions (call it through `AppState::db`, not `tx`):
/// the event is inserted first and processed in the same transaction; a repeat returns the
/// stored effect and changes nothing. On PostgreSQL a concurrent duplicate waits on the unique
/// key and then reads the winner's effect; if the database instead reports a lost race as a
/// unique violation (e.g. on the per-invoice commission key), the transaction is rolled back and
/// the whole use case re-run in a new one, where it finds the stored effect.
pub fn ingest_event(
    conn: &mut DbConn,
    program: &Program,
    input: &EventInput,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventAnswer, ReferralError> {
    let event = validate_event(program, input, now)?;
    let mut last = None;
    for _ in 0..3 {
        match db::transaction(conn, |c| record_event(c, program, &event, payload, now)) {
            Err(e) if e.is_unique_violation() => last = Some(e),
            other => return other,
        }
    }
    tracing::warn!(program = %program.id, error = ?last, "billing event kept losing races");
    Err(ReferralError::Conflict(
        "the event is being processed concurrently; send it again".into(),
    ))
}

fn same_event(stored: &BillingEvent, event: &ValidEvent) -> bool {
    stored.kind == event.kind
        && stored.invoice_id == event.invoice_id
        && stored.customer_external_id == event.customer_external_id
        && stored.amount_minor == event.amount_minor
        && stored.currency == event.currency
}

fn replay(stored: &BillingEvent, event: &ValidEvent) -> Result<EventAnswer, ReferralError> {
    if !same_event(stored, event) {
        return Err(ReferralError::Conflict(format!(
            "event {} from {} was received before with other content (kind, invoice, customer, amount or currency); use a new external_event_id for a new event",
            event.external_event_id, event.source
        )));
    }
    Ok(event_answer(stored, true))
}

fn record_event(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventAnswer, ReferralError> {
    if let Some(stored) =
        store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
    {
        return replay(&stored, event);
    }
    let id = db::new_id();
    let inserted = store::insert_event_if_absent(
        conn,
        &NewEvent {
            id: &id,
            program_id: &program.id,
            source: &event.source,
            external_event_id: &event.external_event_id,
            kind: event.kind,
            invoice_id: &event.invoice_id,
            customer_external_id: &event.customer_external_id,
            amount_minor: event.amount_minor,
            currency: &event.currency,
            occurred_at: event.occurred_at,
            payload,
            effect: "{}",
            received_at: now,
        },
    )?;
    if !inserted {
        // A concurrent sender stored it first (PostgreSQL waited for its commit).
        let stored = store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
            .ok_or_else(|| ReferralError::Internal("stored event vanished".into()))?;
        return replay(&stored, event);
    }
    let effect = if event.kind == EVENT_INVOICE_PAID {
        apply_invoice(conn, program, event, &id, now)?
    } else {
        apply_refund(conn, program, event, &id, now)?
    };
    let effect_json =
        serde_json::to_string(&effect).map_err(|e| ReferralError::Internal(e.to_string()))?;
    store::set_event_effect(conn, &id, &effect_json)?;
    let stored = store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
        .ok_or_else(|| ReferralError::Internal("stored event vanished".into()))?;
    Ok(event_answer(&stored, false))
}

fn apply_invoice(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    event_id: &str,
    now: NaiveDateTime,
) -> Result<EventEffect, ReferralError> {
    let Some(customer) = store::find_customer(conn, &program.id, &event.customer_external_id)?
    else {
        return Ok(EventEffect::nothing(
            "the customer is not bound to an advocate of this program",
        ));
    };
    let Some(enrollment) = store::find_enrollment(conn, &customer.enrollment_id)? else {
        return Ok(EventEffect::nothing(
            "the customer's advocate left the program",
        ));
    };
    let months = u32::try_from(program.commission_months).unwrap_or(0);
    let window_end = customer
        .bound_at
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDateTime::MAX);
    if event.occurred_at < customer.bound_at - BINDING_GRACE {
        return Ok(EventEffect::nothing(
            "the invoice was paid before the customer was referred",
        ));
    }
    if event.occurred_at >= window_end {
        return Ok(EventEffect::nothing(format!(
            "the invoice is more than the program's {} commission months after the customer was bound",
            program.commission_months
        )));
    }
    let key = format!("sale:{}:{}", program.id, event.invoice_id);
    if let Some(existing) = store::find_commission_by_key(conn, &key)? {
        return Ok(EventEffect::nothing(format!(
            "invoice {} already earned commission {} (from another event)",
            event.invoice_id, existing.id
        )));
    }
    // Tier and rate as of the moment the invoice was paid, from credentials current then.
    let rules = store::program_tiers(conn, &program.id)?;
    let held_exams = held_exam_slugs(
        conn,
        &enrollment.user_id,
        &program.vendor_id,
        event.occurred_at,
    )?;
    let Some(tier) = tiers::select_tier(&rules, &held_exams) else {
        return Err(ReferralError::Internal("program has no base tier".into()));
    };
    let amount = commission_amount(event.amount_minor, tier.rate_bps)?;
    let (_, advocate_email) = store::advocate_contact(conn, &enrollment.user_id)?;
    let hold_reason = if enrollment.status != ENROLLMENT_ACTIVE {
        Some("the advocate's enrollment is suspended".to_string())
    } else {
        selfref::self_referral_reason(&advocate_email, customer.email.as_deref())
    };
    let commission_id = db::new_id();
    let rate_bps = i32::try_from(tier.rate_bps).unwrap_or(0);
    store::insert_commission(
        conn,
        &NewCommission {
            id: &commission_id,
            program_id: &program.id,
            enrollment_id: &enrollment.id,
            customer_id: &customer.id,
            billing_event_id: event_id,
            invoice_id: &event.invoice_id,
            kind: KIND_SALE,
            base_minor: event.amount_minor,
            rate_bps,
            amount_minor: amount,
            currency: &program.currency,
            status: STATUS_PENDING,
            held: hold_reason.is_some(),
            held_reason: hold_reason.as_deref(),
            hold_until: event.occurred_at + Duration::days(i64::from(program.hold_days)),
            tier_snapshot: &tier.code,
            payout_id: None,
            reverses_id: None,
            idempotency_key: &key,
            created_at: now,
            updated_at: now,
        },
    )?;
    let reason = match &hold_reason {
        Some(why) => format!("invoice {} paid; held for review: {why}", event.invoice_id),
        None => format!("invoice {} paid", event.invoice_id),
    };
    store::insert_transition(
        conn,
        &commission_id,
        None,
        STATUS_PENDING,
        &reason,
        None,
        now,
    )?;
    let commission = store::find_commission(conn, &commission_id)?
        .ok_or_else(|| ReferralError::Internal("commission vanished".into()))?;
    Ok(EventEffect {
        outcome: "commission_created".into(),
        reason: None,
        commissions: vec![CommissionView::from(&commission)],
        reversed: Vec::new(),
    })
}

fn apply_refund(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    event_id: &str,
    now: NaiveDateTime,
) -> Result<EventEffect, ReferralError> {
    if store::find_customer(conn, &program.id, &event.customer_external_id)?.is_none() {
        return Ok(EventEffect::nothing(
            "the customer is not bound to an advocate of this program",
        ));
    }
    let sales = store::sales_of_invoice(conn, &program.id, &event.invoice_id)?;
    let Some(live) = sales.iter().find(|c| c.status != STATUS_REVERSED).cloned() else {
        return Ok(EventEffect::nothing(if sales.is_empty() {
            "the invoice earned no commission"
        } else {
            "the invoice's commission was already reversed in full"
        }));
    };
    let clawed = store::clawed_back_base(conn, &live.id)?;
    let remaining = live.base_minor.saturating_add(clawed);
    if remaining <= 0 {
        return Ok(EventEffect::nothing(
            "the invoice's commission was already clawed back in full",
        ));
    }
    let refund = event.amount_minor.min(remaining);
    let rate = u32::try_from(live.rate_bps).unwrap_or(0);
    let before_payout = (live.status == STATUS_PENDING || live.status == STATUS_APPROVED)
        && live.payout_id.is_none();
    if before_payout {
        if !store::change_status(conn, &live.id, &live.status, STATUS_REVERSED, now)? {
            return Err(ReferralError::Conflict(
                "the commission changed while the refund was applied; send the event again".into(),
            ));
        }
        store::insert_transition(
            conn,
            &live.id,
            Some(&live.status),
            STATUS_REVERSED,
            &format!(
                "refund of {} on invoice {} before payout",
                format_amount(refund, &program.currency),
                event.invoice_id
            ),
            None,
            now,
        )?;
        let mut created = Vec::new();
        let remainder = live.base_minor - refund;
        if remainder > 0 {
            let id = db::new_id();
            let key = format!("remainder:{event_id}");
            store::insert_commission(
                conn,
                &NewCommission {
                    id: &id,
                    program_id: &program.id,
                    enrollment_id: &live.enrollment_id,
                    customer_id: &live.customer_id,
                    billing_event_id: event_id,
                    invoice_id: &live.invoice_id,
                    kind: KIND_SALE,
                    base_minor: remainder,
                    rate_bps: live.rate_bps,
                    amount_minor: commission_amount(remainder, rate)?,
                    currency: &live.currency,
                    status: STATUS_PENDING,
                    held: live.held,
                    held_reason: live.held_reason.as_deref(),
                    hold_until: live.hold_until,
                    tier_snapshot: &live.tier_snapshot,
                    payout_id: None,
                    reverses_id: Some(&live.id),
                    idempotency_key: &key,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            store::insert_transition(
                conn,
                &id,
                None,
                STATUS_PENDING,
                &format!(
                    "remainder of invoice {} after a partial refund (replaces {})",
                    live.invoice_id, live.id
                ),
                None,
                now,
            )?;
            if let Some(c) = store::find_commission(conn, &id)? {
                created.push(CommissionView::from(&c));
            }
        }
        return Ok(EventEffect {
            outcome: "commission_reversed".into(),
            reason: None,
            commissions: created,
            reversed: vec![live.id],
        });
    }
    // Paid (or promised in a payout): paid rows are never edited; a negative row claws back.
    let id = db::new_id();
    let key = format!("clawback:{event_id}");
    store::insert_commission(
        conn,
        &NewCommission {
            id: &id,
            program_id: &program.id,
            enrollment_id: &live.enrollment_id,
            customer_id: &live.customer_id,
            billing_event_id: event_id,
            invoice_id: &live.invoice_id,
            kind: KIND_CLAWBACK,
            base_minor: -refund,
            rate_bps: live.rate_bps,
            amount_minor: commission_amount(-refund, rate)?,
            currency: &live.currency,
            // A debt is due at once: holding it would only delay netting it against earnings.
            status: STATUS_APPROVED,
            held: false,
            held_reason: None,
            hold_until: now,
            tier_snapshot: &live.tier_snapshot,
            payout_id: None,
            reverses_id: Some(&live.id),
            idempotency_key: &key,
            created_at: now,
            updated_at: now,
        },
    )?;
    store::insert_transition(
        conn,
        &id,
        None,
        STATUS_APPROVED,
        &format!(
            "refund of {} on invoice {} after payout of commission {}",
            format_amount(refund, &program.currency),
            live.invoice_id,
            live.id
        ),
        None,
        now,
    )?;
    let clawback = store::find_commission(conn, &id)?
        .ok_or_else(|| ReferralError::Internal("clawback vanished".into()))?;
    Ok(EventEffect {
        outcome: "clawback_created".into(),
        reason: None,
        commissions: vec![CommissionView::from(&clawback)],
        reversed: Vec::new(),
    })
}

/// One pass of the approval job: pending commissions whose hold period ended and that are not
/// held become approved, each with a transition and a `commission_approved` mail. Safe on many
/// nodes: the status change is conditional, so only one node approves (and mails) each.
pub fn approve_due(
    conn: &mut DbConn,
    links: &Links,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, ReferralError> {
    let mut approved = 0;
    for commission in store::due_for_approval(conn, now, limit)? {
        if !store::change_status(conn, &commission.id, STATUS_PENDING, STATUS_APPROVED, now)? {
            continue;
        }
        store::insert_transition(
            conn,
            &commission.id,
            Some(STATUS_PENDING),
            STATUS_APPROVED,
            "hold period ended",
            None,
            now,
        )?;
        let vendor_id = store::find_program(conn, &commission.program_id)?.map(|p| p.vendor_id);
        if let Some(vendor_id) = &vendor_id {
            webhooks::emit(
                conn,
                vendor_id,
                EventType::CommissionApproved,
                &commission.id,
                now,
                |c| {
                    let code = store::find_enrollment(c, &commission.enrollment_id)?
                        .map(|e| e.referral_code);
                    Ok(json!({
                        "commission_id": commission.id,
                        "program_id": commission.program_id,
                        "enrollment_id": commission.enrollment_id,
                        "referral_code": code,
                        "kind": commission.kind,
                        "invoice_id": commission.invoice_id,
                        "base_minor": commission.base_minor,
                        "rate_bps": commission.rate_bps,
                        "amount_minor": commission.amount_minor,
                        "currency": commission.currency,
                        "approved_at": rfc3339_seconds(now),
                    }))
                },
            )?;
        }
        audit::record(
            conn,
            &Actor::system("commission approval job"),
            Action::CommissionApproved,
            vendor_id.as_deref(),
            &commission.id,
            json!({
                "reason": "hold period ended",
                "amount_minor": commission.amount_minor,
                "currency": commission.currency,
            }),
            now,
        )?;
        if let Some(enrollment) = store::find_enrollment(conn, &commission.enrollment_id)? {
            let (name, email) = store::advocate_contact(conn, &enrollment.user_id)?;
            let vendor_name = store::find_program(conn, &commission.program_id)?
                .map(|p| crate::accounts::store::find_vendor(conn, &p.vendor_id))
                .transpose()?
                .flatten()
                .map_or_else(|| "a vendor".to_string(), |v| v.name);
            mail::enqueue(
                conn,
                &mail::templates::commission_approved(
                    &email,
                    &name,
                    &format_amount(commission.amount_minor, &commission.currency),
                    &vendor_name,
                    &links.referrals_dashboard(),
                ),
                now,
            )?;
        }
        approved += 1;
    }
    Ok(approved)
}

fn program_commission(
    conn: &mut DbConn,
    program: &Program,
    commission_id: &str,
) -> Result<Commission, ReferralError> {
    store::find_commission(conn, commission_id)?
        .filter(|c| c.program_id == program.id)
        .ok_or_else(|| ReferralError::NotFound("commission not found in this program".into()))
}

/// A program manager clears the review hold of a pending commission; the approval job then
/// approves it when its hold period has ended.
pub fn clear_hold(
    conn: &mut DbConn,
    program: &Program,
    commission_id: &str,
    actor: &Actor,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<CommissionView, ReferralError> {
    let commission = program_commission(conn, program, commission_id)?;
    if !commission.held || commission.status != STATUS_PENDING {
        return Err(ReferralError::Conflict(format!(
            "commission {} is not held for review (status {})",
            commission.id, commission.status
        )));
    }
    if !store::set_hold(conn, &commission.id, false, None, now)? {
        return Err(ReferralError::Conflict(
            "the commission changed meanwhile; reload".into(),
        ));
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    let reason = match note {
        Some(note) => format!("review hold cleared: {note}"),
        None => "review hold cleared".to_string(),
    };
    store::insert_transition(
        conn,
        &commission.id,
        Some(STATUS_PENDING),
        STATUS_PENDING,
        &reason,
        actor.user_id(),
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::CommissionHoldCleared,
        Some(&program.vendor_id),
        &commission.id,
        json!({"note": note, "amount_minor": commission.amount_minor, "currency": commission.currency}),
        now,
    )?;
    let fresh = program_commission(conn, program, commission_id)?;
    Ok(CommissionView::from(&fresh))
}

/// A program manager rejects a pending commission after review (e.g. a confirmed
/// self-referral): it becomes `reversed`.
pub fn reject_commission(
    conn: &mut DbConn,
    program: &Program,
    commission_id: &str,
    actor: &Actor,
    reason: &str,
    now: NaiveDateTime,
) -> Result<CommissionView, ReferralError> {
    let reason = reason.trim();
    if !text_ok(reason, 500) {
        return Err(ReferralError::field(
            "reason",
            "say why the commission is rejected (1–500 characters)",
        ));
    }
    let commission = program_commission(conn, program, commission_id)?;
    if commission.status != STATUS_PENDING
        || !store::change_status(conn, &commission.id, STATUS_PENDING, STATUS_REVERSED, now)?
    {
        return Err(ReferralError::Conflict(format!(
            "only pending commissions can be rejected; this one is {}",
            commission.status
        )));
    }
    store::insert_transition(
        conn,
        &commission.id,
        Some(STATUS_PENDING),
        STATUS_REVERSED,
        &format!("rejected after review: {reason}"),
        actor.user_id(),
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::CommissionRejected,
        Some(&program.vendor_id),
        &commission.id,
        json!({"reason": reason, "amount_minor": commission.amount_minor, "currency": commission.currency}),
        now,
    )?;
    let fresh = program_commission(conn, program, commission_id)?;
    Ok(CommissionView::from(&fresh))
}

pub fn list_commissions(
    conn: &mut DbConn,
    program: &Program,
    held_only: bool,
) -> Result<Vec<CommissionView>, ReferralError> {
    Ok(
        store::commissions_of_program(conn, &program.id, held_only, 500)?
            .iter()
            .map(CommissionView::from)
            .collect(),
    )
}

// =============================================================================================
// Payouts

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub program: String,
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub reference: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
    pub commissions: usize,
}

fn payout_view(
    conn: &mut DbConn,
    payout: &Payout,
    referral_code: &str,
    advocate: &str,
) -> Result<PayoutView, ReferralError> {
    let commissions = store::commissions_of_payout(conn, &payout.id)?.len();
    Ok(PayoutView {
        id: payout.id.clone(),
        program: payout.program_id.clone(),
        enrollment: payout.enrollment_id.clone(),
        referral_code: referral_code.to_string(),
        advocate: advocate.to_string(),
        amount_minor: payout.amount_minor,
        currency: payout.currency.clone(),
        status: payout.status.clone(),
        reference: payout.reference.clone(),
        created_at: rfc3339_seconds(payout.created_at),
        paid_at: payout.paid_at.map(rfc3339_seconds),
        commissions,
    })
}

/// An advocate's payable balance: approved commissions not yet in a payout (sales minus
/// approved clawbacks).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Balance {
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub balance_minor: i64,
    pub commissions: usize,
    /// Why no payout would be created now, if so.
    pub blocked: Option<String>,
}

/// Payable balances per advocate, with the reason a payout would not be created.
pub fn balances(conn: &mut DbConn, program: &Program) -> Result<Vec<Balance>, ReferralError> {
    let mut by_enrollment: BTreeMap<String, (i64, usize)> = BTreeMap::new();
    for c in store::payable_commissions(conn, &program.id)? {
        let entry = by_enrollment.entry(c.enrollment_id.clone()).or_default();
        entry.0 = entry.0.saturating_add(c.amount_minor);
        entry.1 += 1;
    }
    let advocates: HashMap<String, store::Advocate> =
        store::advocates_of_program(conn, &program.id)?
            .into_iter()
            .map(|a| (a.enrollment.id.clone(), a))
            .collect();
    Ok(by_enrollment
        .into_iter()
        .map(|(enrollment, (balance, count))| {
            let (code, name) = advocates
                .get(&enrollment)
                .map(|a| (a.enrollment.referral_code.clone(), a.name.clone()))
                .unwrap_or_default();
            let blocked = if balance < 0 {
                Some("negative balance: clawbacks exceed approved earnings".to_string())
            } else if balance == 0 {
                Some("nothing to pay".to_string())
            } else if balance < program.min_payout_minor {
                Some(format!(
                    "below the minimum payout of {}",
                    format_amount(program.min_payout_minor, &program.currency)
                ))
            } else {
                None
            };
            Balance {
                enrollment,
                referral_code: code,
                advocate: name,
                balance_minor: balance,
                commissions: count,
                blocked,
            }
        })
        .collect())
}

/// Creates one payout per advocate whose approved balance is positive and at least the
/// program's minimum. A negative balance (approved clawbacks outweighing earnings) blocks that
/// advocate's payout until new earnings cover it.
pub fn create_payouts(
    conn: &mut DbConn,
    program: &Program,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Vec<PayoutView>, ReferralError> {
    let by = actor.user_id();
    let mut rows: BTreeMap<String, Vec<Commission>> = BTreeMap::new();
    for c in store::payable_commissions(conn, &program.id)? {
        rows.entry(c.enrollment_id.clone()).or_default().push(c);
    }
    let advocates: HashMap<String, store::Advocate> =
        store::advocates_of_program(conn, &program.id)?
            .into_iter()
            .map(|a| (a.enrollment.id.clone(), a))
            .collect();
    let mut created = Vec::new();
    for (enrollment_id, commissions) in rows {
        let balance = commissions
            .iter()
            .fold(0i64, |sum, c| sum.saturating_add(c.amount_minor));
        if balance <= 0 || balance < program.min_payout_minor {
            continue;
        }
        let id = db::new_id();
        store::insert_payout(conn, &id, program, &enrollment_id, balance, by, now)?;
        let ids: Vec<String> = commissions.iter().map(|c| c.id.clone()).collect();
        if store::attach_to_payout(conn, &ids, &id)? != ids.len() {
            return Err(ReferralError::Conflict(
                "another payout run took some of these commissions; reload and try again".into(),
            ));
        }
        for c in &commissions {
            store::insert_transition(
                conn,
                &c.id,
                Some(STATUS_APPROVED),
                STATUS_APPROVED,
                &format!("included in payout {id}"),
                by,
                now,
            )?;
        }
        let payout = store::find_payout(conn, &id)?
            .ok_or_else(|| ReferralError::Internal("payout vanished".into()))?;
        let (code, name) = advocates
            .get(&enrollment_id)
            .map(|a| (a.enrollment.referral_code.clone(), a.name.clone()))
            .unwrap_or_default();
        created.push(payout_view(conn, &payout, &code, &name)?);
    }
    if !created.is_empty() {
        audit::record(
            conn,
            actor,
            Action::PayoutsCreated,
            Some(&program.vendor_id),
            &program.id,
            json!({
                "payouts": created
                    .iter()
                    .map(|p| json!({"id": p.id, "amount_minor": p.amount_minor, "currency": p.currency}))
                    .collect::<Vec<_>>(),
            }),
            now,
        )?;
    }
    Ok(created)
}

/// The payout with its program, for authorization before [`mark_payout_paid`].
pub fn payout_with_program(
    conn: &mut DbConn,
    payout_id: &str,
) -> Result<(Payout, Program, Vendor), ReferralError> {
    let not_found = || ReferralError::NotFound("payout not found".into());
    let payout = store::find_payout(conn, payout_id)?.ok_or_else(not_found)?;
    let (program, vendor) =
        store::find_program_by_ref(conn, &payout.program_id)?.ok_or_else(not_found)?;
    Ok((payout, program, vendor))
}

/// Records that a payout was sent: the payout and its commissions become `paid` and the
/// advocate gets a `payout_sent` mail. Repeating with the same reference answers the same.
pub fn mark_payout_paid(
    conn: &mut DbConn,
    payout: &Payout,
    reference: &str,
    actor: &Actor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<PayoutView, ReferralError> {
    let reference = reference.trim();
    if !text_ok(reference, MAX_ID_LEN) {
        return Err(ReferralError::field(
            "reference",
            "enter the transfer's reference (1–200 characters)",
        ));
    }
    let enrollment = store::find_enrollment(conn, &payout.enrollment_id)?
        .ok_or_else(|| ReferralError::Internal("payout without enrollment".into()))?;
    let (name, email) = store::advocate_contact(conn, &enrollment.user_id)?;
    if payout.status == PAYOUT_PAID {
        if payout.reference.as_deref() == Some(reference) {
            return payout_view(conn, payout, &enrollment.referral_code, &name);
        }
        return Err(ReferralError::Conflict(format!(
            "payout {} was already marked paid with reference {}",
            payout.id,
            payout.reference.as_deref().unwrap_or("")
        )));
    }
    if !store::mark_payout_paid(conn, &payout.id, reference, now)? {
        return Err(ReferralError::Conflict(
            "the payout was marked paid meanwhile; reload".into(),
        ));
    }
    for c in store::commissions_of_payout(conn, &payout.id)? {
        if store::mark_commission_paid(conn, &c.id, &payout.id, now)? {
            store::insert_transition(
                conn,
                &c.id,
                Some(STATUS_APPROVED),
                STATUS_PAID,
                &format!("payout {} sent, reference {reference}", payout.id),
                actor.user_id(),
                now,
            )?;
        }
    }
    let vendor_id = store::find_program(conn, &payout.program_id)?.map(|p| p.vendor_id);
    if let Some(vendor_id) = &vendor_id {
        webhooks::emit(
            conn,
            vendor_id,
            EventType::PayoutPaid,
            &payout.id,
            now,
            |_| {
                Ok(json!({
                    "payout_id": payout.id,
                    "program_id": payout.program_id,
                    "enrollment_id": payout.enrollment_id,
                    "referral_code": enrollment.referral_code,
                    "amount_minor": payout.amount_minor,
                    "currency": payout.currency,
                    "reference": reference,
                    "paid_at": rfc3339_seconds(now),
                }))
            },
        )?;
    }
    audit::record(
        conn,
        actor,
        Action::PayoutMarkedPaid,
        vendor_id.as_deref(),
        &payout.id,
        json!({
            "reference": reference,
            "amount_minor": payout.amount_minor,
            "currency": payout.currency,
        }),
        now,
    )?;
    mail::enqueue(
        conn,
        &mail::templates::payout_sent(
            &email,
            &name,
            &format_amount(payout.amount_minor, &payout.currency),
            reference,
            &links.referrals_dashboard(),
        ),
        now,
    )?;
    let fresh = store::find_payout(conn, &payout.id)?
        .ok_or_else(|| ReferralError::Internal("payout vanished".into()))?;
    payout_view(conn, &fresh, &enrollment.referral_code, &name)
}

pub fn list_payouts(
    conn: &mut DbConn,
    program: &Program,
) -> Result<Vec<PayoutView>, ReferralError> {
    let rows = store::payouts_of_program(conn, &program.id)?;
    rows.iter()
        .map(|(payout, code, name, _)| payout_view(conn, payout, code, name))
        .collect()
}

/// All payouts of the program as CSV (for the bank transfer or the bookkeeping).
pub fn payouts_csv(conn: &mut DbConn, program: &Program) -> Result<String, ReferralError> {
    let rows = store::payouts_of_program(conn, &program.id)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ReferralError::Internal(e.to_string());
    writer
        .write_record([
            "payout_id",
            "created_at",
            "status",
            "paid_at",
            "reference",
            "enrollment_id",
            "referral_code",
            "advocate_name",
            "advocate_email",
            "amount_minor",
            "amount",
            "currency",
        ])
        .map_err(internal)?;
    for (payout, code, name, email) in rows {
        let amount = format_amount(payout.amount_minor, &payout.currency);
        let amount = amount.split(' ').next().unwrap_or("").to_string();
        writer
            .write_record([
                payout.id.clone(),
                rfc3339_seconds(payout.created_at),
                payout.status.clone(),
                payout.paid_at.map(rfc3339_seconds).unwrap_or_default(),
                csv_cell(payout.reference.as_deref().unwrap_or("")),
                payout.enrollment_id.clone(),
                code,
                csv_cell(&name),
                csv_cell(&email),
                payout.amount_minor.to_string(),
                amount,
                payout.currency.clone(),
            ])
            .map_err(internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReferralError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ReferralError::Internal(e.to_string()))
}

// =============================================================================================
// Practitioner's view

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct StatusTotal {
    pub count: usize,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyEnrollment {
    #[serde(flatten)]
    pub enrollment: EnrollmentView,
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    /// Sale commissions not reversed (the funnel's last step).
    pub sales: i64,
    /// Per status: pending, approved, paid, reversed (and held: pending ones under review).
    pub commissions: BTreeMap<String, StatusTotal>,
    /// Approved, not yet paid (negative while clawbacks outweigh earnings).
    pub balance_minor: i64,
    pub paid_minor: i64,
    pub recent_commissions: Vec<CommissionView>,
    pub payouts: Vec<PayoutView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyReferrals {
    pub disclosure: &'static str,
    pub enrollments: Vec<MyEnrollment>,
}

fn status_totals(commissions: &[Commission]) -> BTreeMap<String, StatusTotal> {
    let mut totals: BTreeMap<String, StatusTotal> = [
        STATUS_PENDING,
        "held",
        STATUS_APPROVED,
        STATUS_PAID,
        STATUS_REVERSED,
    ]
    .iter()
    .map(|s| ((*s).to_string(), StatusTotal::default()))
    .collect();
    for c in commissions {
        let key = if c.status == STATUS_PENDING && c.held {
            "held"
        } else {
            c.status.as_str()
        };
        let entry = totals.entry(key.to_string()).or_default();
        entry.count += 1;
        entry.amount_minor = entry.amount_minor.saturating_add(c.amount_minor);
    }
    totals
}

/// Everything the referral dashboard and `GET /api/v1/me/referrals` show.
pub fn my_referrals(
    conn: &mut DbConn,
    user_id: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<MyReferrals, ReferralError> {
    let mut out = Vec::new();
    for (enrollment, program, vendor) in store::enrollments_of_user(conn, user_id)? {
        let view = enrollment_view(conn, &enrollment, &program, &vendor, links, now)?;
        let commissions = store::commissions_of_enrollment(conn, &enrollment.id)?;
        let totals = status_totals(&commissions);
        let balance_minor = totals.get(STATUS_APPROVED).map_or(0, |t| t.amount_minor);
        let paid_minor = totals.get(STATUS_PAID).map_or(0, |t| t.amount_minor);
        let invoices = store::invoices_by_enrollment(conn, &program.id)?
            .get(&enrollment.id)
            .copied()
            .unwrap_or(0);
        let payouts = store::payouts_of_enrollment(conn, &enrollment.id)?
            .iter()
            .map(|p| payout_view(conn, p, &enrollment.referral_code, ""))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(MyEnrollment {
            clicks: store::human_clicks_of_enrollment(conn, &enrollment.id)?,
            customers: store::customers_of_enrollment(conn, &enrollment.id)?,
            invoices,
            sales: i64::try_from(
                commissions
                    .iter()
                    .filter(|c| c.kind == KIND_SALE && c.status != STATUS_REVERSED)
                    .count(),
            )
            .unwrap_or(i64::MAX),
            commissions: totals,
            balance_minor,
            paid_minor,
            recent_commissions: commissions
                .iter()
                .take(20)
                .map(CommissionView::from)
                .collect(),
            payouts,
            enrollment: view,
        });
    }
    Ok(MyReferrals {
        disclosure: DISCLOSURE,
        enrollments: out,
    })
}

/// The person's enrollment in a program, if any (the program page shows it).
pub fn my_enrollment(
    conn: &mut DbConn,
    program: &Program,
    vendor: &Vendor,
    user_id: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<Option<EnrollmentView>, ReferralError> {
    match store::find_enrollment_of_user(conn, &program.id, user_id)? {
        Some(e) => Ok(Some(enrollment_view(
            conn, &e, program, vendor, links, now,
        )?)),
        None => Ok(None),
    }
}

// =============================================================================================
// Funnel

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PractitionerFunnel {
    pub registered: i64,
    pub attempted: i64,
    pub certified: i64,
    pub enrolled: i64,
    pub earning: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdvocateFunnel {
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub status: String,
    pub tier: String,
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    pub commissions: i64,
    /// Approved and paid commissions, net of clawbacks.
    pub earned_minor: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FunnelView {
    pub program: String,
    pub currency: String,
    /// Clicks (bots excluded) → customers → invoices → commissions.
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    pub commissions: i64,
    pub practitioners: PractitionerFunnel,
    pub advocates: Vec<AdvocateFunnel>,
}

pub fn funnel(conn: &mut DbConn, program: &Program) -> Result<FunnelView, ReferralError> {
    let clicks = store::human_clicks_by_enrollment(conn, &program.id)?;
    let customers = store::customers_by_enrollment(conn, &program.id)?;
    let invoices = store::invoices_by_enrollment(conn, &program.id)?;
    let mut sale_counts: HashMap<String, i64> = HashMap::new();
    let mut earned: HashMap<String, i64> = HashMap::new();
    for fact in store::commission_facts(conn, &program.id)? {
        if fact.kind == KIND_SALE && fact.status != STATUS_REVERSED {
            *sale_counts.entry(fact.enrollment_id.clone()).or_default() += 1;
        }
        if fact.status == STATUS_APPROVED || fact.status == STATUS_PAID {
            let e = earned.entry(fact.enrollment_id).or_default();
            *e = e.saturating_add(fact.amount_minor);
        }
    }
    let advocates: Vec<AdvocateFunnel> = store::advocates_of_program(conn, &program.id)?
        .into_iter()
        .map(|a| {
            let id = a.enrollment.id.clone();
            AdvocateFunnel {
                clicks: clicks.get(&id).copied().unwrap_or(0),
                customers: customers.get(&id).copied().unwrap_or(0),
                invoices: invoices.get(&id).copied().unwrap_or(0),
                commissions: sale_counts.get(&id).copied().unwrap_or(0),
                earned_minor: earned.get(&id).copied().unwrap_or(0),
                referral_code: a.enrollment.referral_code,
                advocate: a.name,
                status: a.enrollment.status,
                tier: a.enrollment.tier_code,
                enrollment: id,
            }
        })
        .collect();
    let sum = |f: fn(&AdvocateFunnel) -> i64| advocates.iter().map(f).sum::<i64>();
    let practitioners = PractitionerFunnel {
        registered: store::count_users(conn)?,
        attempted: store::count_attempters(conn, &program.vendor_id)?,
        certified: store::count_certified(conn, &program.vendor_id)?,
        enrolled: i64::try_from(advocates.len()).unwrap_or(i64::MAX),
        earning: i64::try_from(advocates.iter().filter(|a| a.earned_minor > 0).count())
            .unwrap_or(i64::MAX),
    };
    Ok(FunnelView {
        program: program.id.clone(),
        currency: program.currency.clone(),
        clicks: sum(|a| a.clicks),
        customers: sum(|a| a.customers),
        invoices: sum(|a| a.invoices),
        commissions: sum(|a| a.commissions),
        practitioners,
        advocates,
    })
}

// =============================================================================================
// Disclosure

/// Below this many people enrolled in a year, that year's figures are withheld: with a handful
/// of advocates a median or a percentile is one person's income.
pub const DISCLOSURE_MIN_ADVOCATES: u64 = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearFigures {
    pub year: i32,
    pub enrolled: u64,
    /// Fewer than `DISCLOSURE_MIN_ADVOCATES` people: the three figures below are `null`.
    pub withheld: bool,
    /// Share of enrolled people whose net earnings that year were zero or less, in basis points.
    pub earning_nothing_share_bp: Option<u32>,
    pub median_minor: Option<i64>,
    pub p90_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisclosureView {
    pub program: ProgramView,
    pub years: Vec<YearFigures>,
}

/// The public yearly earnings disclosure: per calendar year, the people enrolled at any time in
/// it and, over them, the share earning nothing, the median and the 90th percentile of their
/// net earnings (approved and paid commissions created that year, clawbacks subtracted).
pub fn disclosure(
    conn: &mut DbConn,
    program: &Program,
    vendor: &Vendor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<DisclosureView, ReferralError> {
    let view = program_view(conn, program, vendor, None, links)?;
    let enrollments = store::enrollment_dates(conn, &program.id)?;
    let mut earnings: HashMap<(String, i32), i64> = HashMap::new();
    for fact in store::commission_facts(conn, &program.id)? {
        if fact.status == STATUS_APPROVED || fact.status == STATUS_PAID {
            let e = earnings
                .entry((fact.enrollment_id, fact.created_at.year()))
                .or_default();
            *e = e.saturating_add(fact.amount_minor);
        }
    }
    let mut years = Vec::new();
    for year in (program.created_at.year()..=now.year()).rev() {
        let end = NaiveDate::from_ymd_opt(year + 1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or(NaiveDateTime::MAX);
        let values: Vec<i64> = enrollments
            .iter()
            .filter(|(_, enrolled_at)| *enrolled_at < end)
            .map(|(id, _)| earnings.get(&(id.clone(), year)).copied().unwrap_or(0))
            .collect();
        let figures = disclosure::earnings_disclosure(&values);
        let shown = figures.enrolled >= DISCLOSURE_MIN_ADVOCATES;
        years.push(YearFigures {
            year,
            enrolled: figures.enrolled,
            withheld: !shown,
            earning_nothing_share_bp: shown.then_some(figures.earning_nothing_share_bp),
            median_minor: shown.then_some(figures.median_minor),
            p90_minor: shown.then_some(figures.p90_minor),
        });
    }
    Ok(DisclosureView {
        program: view,
        years,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_totals_split_held_from_pending() {
        let t = NaiveDateTime::default();
        let c = |status: &str, held: bool, amount: i64| Commission {
            id: String::new(),
            program_id: String::new(),
            enrollment_id: String::new(),
            customer_id: String::new(),
            billing_event_id: String::new(),
            invoice_id: String::new(),
            kind: KIND_SALE.into(),
            base_minor: 0,
            rate_bps: 0,
            amount_minor: amount,
            currency: "EUR".into(),
            status: status.into(),
            held,
            held_reason: None,
            hold_until: t,
            tier_snapshot: String::new(),
            payout_id: None,
            reverses_id: None,
            idempotency_key: String::new(),
            created_at: t,
            updated_at: t,
        };
        let totals = status_totals(&[
            c(STATUS_PENDING, false, 10),
            c(STATUS_PENDING, true, 20),
            c(STATUS_APPROVED, false, 5),
            c(STATUS_APPROVED, false, -8),
        ]);
        assert_eq!(totals["pending"].amount_minor, 10);
        assert_eq!(totals["held"].count, 1);
        assert_eq!(totals["approved"].amount_minor, -3);
        assert_eq!(totals["paid"].count, 0);
    }
}
