//! Programs: the vendor's program settings and tiers, their view, and the webhook signing secret
//! (rotation with an overlap, verification).

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::recompute::recompute_tier;
use super::{text_ok, MAX_DAYS, MAX_MONTHS, MAX_TERMS_TEXT, WEBHOOK_TOLERANCE_SECS};
use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::links::Links;
use crate::money::{format_amount, format_percent, parse_currency, MAX_RATE_BPS};
use crate::referrals::{sealed, store, tiers, Program, ReferralError, TierRule, WebhookError};
use crate::secrets::MasterKey;
use crate::text::plural;
use crate::validation::FieldErrors;

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
pub(super) fn exam_titles(
    conn: &mut DbConn,
    vendor_id: &str,
) -> diesel::QueryResult<HashMap<String, String>> {
    Ok(store::vendor_exams(conn, vendor_id)?.into_iter().collect())
}

/// Titles of the exams `slugs`, each its slug when the exam has no title on record.
pub(super) fn titles_of(
    slugs: &[impl AsRef<str>],
    exam_titles: &HashMap<String, String>,
) -> Vec<String> {
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

/// Every program as anyone may see it, by vendor name.
pub fn public_programs(
    conn: &mut DbConn,
    links: &Links,
) -> Result<Vec<ProgramView>, ReferralError> {
    store::list_programs(conn)?
        .iter()
        .map(|(program, vendor)| program_view(conn, program, vendor, None, links))
        .collect()
}

/// One program as anyone may see it; `reference` is its id or its vendor's slug.
pub fn public_program(
    conn: &mut DbConn,
    reference: &str,
    links: &Links,
) -> Result<ProgramView, ReferralError> {
    let (program, vendor) = find_program(conn, reference)?;
    program_view(conn, &program, &vendor, None, links)
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
        super::super::verify_signature(secret.as_bytes(), header, body, at, WEBHOOK_TOLERANCE_SECS)
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
