//! Issuing the credential of a pass.

use chrono::{Months, NaiveDateTime, Timelike};
use rand::Rng;
use rand_core::OsRng;
use url::Url;

use super::issuer_keys::signing_key;
use super::status_lists::claim_list_slot;
use super::{CredentialError, IssueContext, IssueRequest};
use crate::accounts;
use crate::credentials::badge::{self, BadgeInput};
use crate::credentials::status_list;
use crate::credentials::store::{self, NewCredential};
use crate::db::{self, is_unique_violation, new_id, DbConn};
use crate::mail::{self, templates};
use crate::validation::FieldErrors;
use crate::webhooks::{self, EventType};

fn validate_request(request: &IssueRequest) -> Result<(), CredentialError> {
    let mut errors = FieldErrors::new();
    errors.check(
        (0..=100).contains(&request.pass_percent),
        "pass_percent",
        "must be between 0 and 100",
    );
    errors.check(
        (0..=10_000).contains(&request.score_bp),
        "score_bp",
        "must be between 0 and 10000",
    );
    errors.check(
        (0..=1200).contains(&request.validity_months),
        "validity_months",
        "must be between 0 and 1200",
    );
    errors.check(
        !request.exam_title.trim().is_empty(),
        "exam_title",
        "must not be empty",
    );
    errors.check(
        crate::validation::is_slug(&request.exam_slug),
        "exam_slug",
        "must be a slug",
    );
    errors.finish().map_err(CredentialError::Validation)
}

/// `8450` → `"84.5"`, `7000` → `"70"`.
pub fn format_score(score_bp: i32) -> String {
    let whole = score_bp / 100;
    let hundredths = score_bp % 100;
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(t)
}

/// Builds, signs and stores the `OpenBadgeCredential` for a passed attempt, allocates its random
/// status index, supersedes the person's older current credentials for the same exam (and for
/// exams this one renews), queues the mail with the JSON attached and updates the holder's referral
/// tier. Idempotent per attempt: a second call returns the first credential's id.
pub fn issue_for_pass(
    conn: &mut DbConn,
    ctx: &IssueContext,
    request: &IssueRequest,
    now: NaiveDateTime,
) -> Result<String, CredentialError> {
    if let Some(existing) = store::find_by_attempt(conn, &request.attempt_id)? {
        return Ok(existing);
    }
    validate_request(request)?;
    let vendor = accounts::store::find_vendor(conn, &request.vendor_id)?
        .ok_or(CredentialError::NotFound("vendor"))?;
    let user = accounts::store::find_user(conn, &request.user_id)?
        .ok_or(CredentialError::NotFound("user"))?;
    let person_id = uuid::Uuid::parse_str(&user.id)
        .map_err(|_| CredentialError::Internal(format!("user id {} is not a UUID", user.id)))?;

    let issued_at = whole_seconds(now);
    let valid_until = match request.validity_months {
        0 => None,
        months => Some(
            issued_at
                .checked_add_months(Months::new(months.unsigned_abs()))
                .ok_or_else(|| CredentialError::Internal("validity out of range".into()))?,
        ),
    };
    let (key_row, key) = signing_key(conn, ctx, &vendor, now)?;
    let list = claim_list_slot(conn, ctx, &vendor, &key, now)?;
    let list_url = Url::parse(&ctx.links.status_list(&vendor.slug, list.number))
        .map_err(|e| CredentialError::Internal(format!("status list URL: {e}")))?;
    let parse_url = |text: String, what: &str| {
        Url::parse(&text).map_err(|e| CredentialError::Internal(format!("{what} URL: {e}")))
    };
    let issuer_url = Url::parse(&vendor.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| ctx.links.base().clone());
    let achievement_id = parse_url(
        ctx.links.achievement(&vendor.slug, &request.exam_slug),
        "achievement",
    )?;
    let evidence_url = parse_url(ctx.links.attempt_result(&request.attempt_id), "evidence")?;
    let achievement_image = parse_url(
        ctx.links.badge(
            &vendor.slug,
            &request.exam_slug,
            crate::badges::Format::Png.as_str(),
        ),
        "badge image",
    )?;
    let description = match request.exam_description.trim() {
        "" => request.exam_title.trim(),
        text => text,
    };
    let score = format_score(request.score_bp);
    let graded_on = issued_at.date().format("%Y-%m-%d");

    let mut rng = OsRng;
    for _ in 0..64 {
        let index = rng.gen_range(0..list.size);
        if store::index_taken(conn, &list.id, index)? {
            continue;
        }
        let id = new_id();
        let credential_id = uuid::Uuid::parse_str(&id)
            .map_err(|e| CredentialError::Internal(format!("new id: {e}")))?;
        let input = BadgeInput {
            credential_id,
            person_id,
            holder_email: user.email.clone(),
            salt: badge::new_salt(&mut rng),
            holder_name: Some(user.display_name.clone()),
            issuer_did: key.did().to_owned(),
            issuer_name: vendor.name.clone(),
            issuer_url: issuer_url.clone(),
            achievement_id: achievement_id.clone(),
            achievement_name: request.exam_title.trim().to_owned(),
            achievement_description: description.to_owned(),
            achievement_image: Some(achievement_image.clone()),
            pass_percent: u8::try_from(request.pass_percent).unwrap_or(100),
            evidence_url: evidence_url.clone(),
            evidence_name: format!("{} exam attempt", request.exam_title.trim()),
            evidence_description: format!(
                "Online exam attempt graded on {graded_on} with a score of {score}% (pass mark {}%).",
                request.pass_percent
            ),
            valid_from: issued_at.and_utc(),
            valid_until: valid_until.map(|t| t.and_utc()),
            status: status_list::status_entry(&list_url, index.unsigned_abs().into()),
        };
        let signed = badge::issue_credential(&input, &key, issued_at.and_utc())?;
        let new = NewCredential {
            id: &id,
            vendor_id: &vendor.id,
            exam_id: &request.exam_id,
            attempt_id: &request.attempt_id,
            user_id: &user.id,
            issuer_key_id: &key_row.id,
            status_list_id: &list.id,
            status_index: index,
            json: &signed.json,
            valid_from: issued_at,
            valid_until,
            created_at: now,
        };
        match db::statement(conn, |c| store::insert_credential(c, &new)) {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                // Either this attempt was certified meanwhile, or the index was taken.
                if let Some(existing) = store::find_by_attempt(conn, &request.attempt_id)? {
                    return Ok(existing);
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }

        let renewal = store::Renewal {
            vendor_id: &vendor.id,
            exam_id: &request.exam_id,
            exam_slug: &request.exam_slug,
        };
        store::supersede(conn, &user.id, &renewal, &id, now)?;

        let page = ctx.links.credential_page(&id);
        let until_text = valid_until.map(|t| t.date().format("%Y-%m-%d").to_string());
        let mail = templates::credential_issued(
            &user.email,
            &user.display_name,
            &templates::CredentialIssued {
                achievement: request.exam_title.trim(),
                issuer: &vendor.name,
                page_link: &page,
                valid_until: until_text.as_deref(),
                credential_json: &signed.json,
                credential_id: &id,
            },
        );
        mail::enqueue(conn, &mail, now)?;
        webhooks::credential_event(
            conn,
            &ctx.links,
            EventType::CredentialIssued,
            &vendor.id,
            &id,
            now,
        )?;
        ctx.credentials_changed(conn, &user.id, &vendor.id, "credential issued", now)?;
        tracing::info!(credential_id = %id, attempt_id = %request.attempt_id, "credential issued");
        return Ok(id);
    }
    Err(CredentialError::Conflict(
        "could not allocate a status index; try again".into(),
    ))
}
