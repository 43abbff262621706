//! Issuance next to its cryptography, for `bench/issuance.sh` (PERFORMANCE.md goal: issuance
//! ≥ 25 % of the raw eddsa-jcs-2022 sign rate on SQLite). One thread each:
//! - issuance as grading does it: `credentials::prepare_issue` on a pooled connection (build and
//!   sign), then `credentials::issue_for_pass` in its own transaction (store the credential, claim
//!   its status list slot, supersede the previous one, write the holder's mail to the outbox),
//!   IN_FLIGHT of them at a time (1 unless given), as passes graded at the same moment are;
//! - raw: `IssuerKey::sign` of the same unsigned credential with the vendor's key and suite.
//!
//! Configured like `credo serve` (CREDO_* environment) on a migrated database holding the vendor
//! `VENDOR_SLUG` (whose cryptosuite it sets to CRYPTOSUITE, eddsa-jcs-2022 unless given); each
//! credential goes to a new holder, as passes mostly do. Prints `issued/s signed/s`.
//! `bench/verify.sh` also uses it to issue the credentials it verifies.
//! `cargo run --release --example issuance_rate -- VENDOR_SLUG COUNT [CRYPTOSUITE [IN_FLIGHT]]`

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::NaiveDateTime;
use credo::config::{Config, Overrides};
use credo::credentials::proof::Cryptosuite;
use credo::credentials::{service, store, CredentialError, IssueRequest};
use credo::db::schema::{attempts, exam_versions, exams, users};
use credo::db::{self, new_id, DbConn, DbError};
use credo::AppState;
use diesel::prelude::*;

const EXAM_DESCRIPTION: &str = "Designing, deploying and running the product at scale.";

/// One exam with one version and `count` graded, passed attempts, each of a new holder.
fn seed(
    conn: &mut DbConn,
    exam_slug: &str,
    vendor_id: &str,
    count: usize,
    now: NaiveDateTime,
) -> Result<Vec<IssueRequest>, DbError> {
    let (exam_id, version_id) = (new_id(), new_id());
    diesel::insert_into(exams::table)
        .values((
            exams::id.eq(&exam_id),
            exams::vendor_id.eq(vendor_id),
            exams::slug.eq(exam_slug),
            exams::title.eq("Certified Solutions Architect"),
            exams::description.eq(EXAM_DESCRIPTION),
            exams::current_version_id.eq(&version_id),
            exams::price_minor.eq(0i64),
            exams::currency.eq("USD"),
            exams::duration_minutes.eq(60),
            exams::pass_percent.eq(70),
            exams::validity_months.eq(24),
            exams::allow_review.eq(true),
            exams::retake_cooldown_days.eq(0),
            exams::retake_max_per_year.eq(0),
            exams::retake_wait_after_pass_days.eq(0),
            exams::questions_per_form.eq(10),
            exams::created_at.eq(now),
            exams::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(exam_versions::table)
        .values((
            exam_versions::id.eq(&version_id),
            exam_versions::exam_id.eq(&exam_id),
            exam_versions::number.eq(1),
            exam_versions::label.eq("2026.1"),
            exam_versions::content_hash.eq("0"),
            exam_versions::bank.eq("{}"),
            exam_versions::source_format.eq("toml"),
            exam_versions::source_name.eq("bench.toml"),
            exam_versions::created_at.eq(now),
        ))
        .execute(conn)?;
    let mut requests = Vec::with_capacity(count);
    for _ in 0..count {
        let (attempt, user_id) = (new_id(), new_id());
        diesel::insert_into(users::table)
            .values((
                users::id.eq(&user_id),
                users::email.eq(format!("holder-{user_id}@bench.example")),
                users::display_name.eq("Alexandra Martínez-Oduya"),
                users::password_hash.eq("!"),
                users::is_operator.eq(false),
                users::email_verified_at.eq(now),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .execute(conn)?;
        diesel::insert_into(attempts::table)
            .values((
                attempts::id.eq(&attempt),
                attempts::exam_id.eq(&exam_id),
                attempts::version_id.eq(&version_id),
                attempts::user_id.eq(&user_id),
                attempts::status.eq("graded"),
                attempts::form.eq("{}"),
                attempts::started_at.eq(now),
                attempts::deadline.eq(now),
                attempts::submitted_at.eq(now),
                attempts::graded_at.eq(now),
                attempts::score_bp.eq(8450),
                attempts::passed.eq(true),
            ))
            .execute(conn)?;
        requests.push(IssueRequest {
            attempt_id: attempt,
            user_id,
            vendor_id: vendor_id.to_owned(),
            exam_id: exam_id.clone(),
            exam_slug: exam_slug.to_owned(),
            exam_title: "Certified Solutions Architect".into(),
            exam_description: EXAM_DESCRIPTION.into(),
            pass_percent: 70,
            score_bp: 8450,
            validity_months: 24,
            renewal_exam_slug: None,
        });
    }
    Ok(requests)
}

#[actix_web::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (slug, count, suite, in_flight) = match args.as_slice() {
        [slug, count] => (slug, count, "eddsa-jcs-2022", "1"),
        [slug, count, suite] => (slug, count, suite.as_str(), "1"),
        [slug, count, suite, in_flight] => (slug, count, suite.as_str(), in_flight.as_str()),
        _ => return Err("usage: issuance_rate VENDOR_SLUG COUNT [CRYPTOSUITE [IN_FLIGHT]]".into()),
    };
    let suite = Cryptosuite::parse(suite).ok_or(format!("unknown cryptosuite {suite}"))?;
    let count: usize = count.parse().map_err(|_| "COUNT must be a number")?;
    let in_flight: usize = match in_flight.parse() {
        Ok(n) if n > 0 => n,
        _ => return Err("IN_FLIGHT must be a positive number".into()),
    };
    let config = Config::load(&Overrides::default()).map_err(|e| e.to_string())?;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let ctx = state.issue_context();
    let now = state.clock.now();
    let exam_slug = format!("architect-{}-{in_flight}", suite.as_str());
    let vendor_slug = slug.clone();
    let requests = state
        .tx(move |conn| {
            let vendor = service::find_vendor_by_slug(conn, &vendor_slug)?;
            store::set_vendor_cryptosuite(conn, &vendor.id, suite.as_str(), now)?;
            Ok::<_, CredentialError>(seed(conn, &exam_slug, &vendor.id, count, now)?)
        })
        .await
        .map_err(|e| e.to_string())?;

    let started = Instant::now();
    let queue = Arc::new(Mutex::new(requests.into_iter()));
    let issuers = (0..in_flight).map(|_| {
        let (state, ctx, queue) = (state.clone(), ctx.clone(), queue.clone());
        async move {
            let mut last = None;
            loop {
                let Some(request) = queue.lock().map_err(|e| e.to_string())?.next() else {
                    return Ok::<_, String>(last);
                };
                // As grading does: built and signed on a pooled connection, then recorded in
                // one transaction.
                let (context, ahead) = (ctx.clone(), request.clone());
                let prepared = state
                    .db(move |conn| {
                        db::reads(conn, |c| service::prepare_issue(c, &context, &ahead, now))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let ctx = ctx.clone();
                let id = state
                    .tx(move |conn| service::issue_for_pass(conn, &ctx, &request, prepared, now))
                    .await
                    .map_err(|e| e.to_string())?;
                last = Some(id);
            }
        }
    });
    let mut last = None;
    for issued in futures_util::future::join_all(issuers).await {
        last = issued?.or(last);
    }
    let last = last.ok_or("nothing was issued")?;
    let issued = count as f64 / started.elapsed().as_secs_f64();

    let ctx = state.issue_context();
    let slug = slug.clone();
    let (document, key) = state
        .db(move |conn| {
            let row = store::find_credential(conn, &last)?
                .ok_or(CredentialError::NotFound("credential"))?;
            let vendor = service::find_vendor_by_slug(conn, &slug)?;
            let (_, key) = service::signing_key(conn, &ctx, &vendor, now)?;
            Ok::<_, CredentialError>((row.json, key))
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut unsigned: serde_json::Value =
        serde_json::from_str(&document).map_err(|e| e.to_string())?;
    let proof = unsigned
        .as_object_mut()
        .and_then(|doc| doc.remove("proof"))
        .ok_or("the issued credential has no proof")?;
    if proof["cryptosuite"] != suite.as_str() {
        return Err(format!(
            "issued with {}, not {}",
            proof["cryptosuite"],
            suite.as_str()
        ));
    }
    let key = key.with_cryptosuite(suite);
    let created = now.and_utc();
    let rounds = count.max(1000);
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(
            key.sign(std::hint::black_box(&unsigned), created)
                .map_err(|e| e.to_string())?,
        );
    }
    let signed = rounds as f64 / started.elapsed().as_secs_f64();
    println!("{issued:.0} {signed:.0}");
    Ok(())
}
