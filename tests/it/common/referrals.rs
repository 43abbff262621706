//! Referral test helpers: a vendor with a program manager, an API key and a program; exam rows
//! inserted directly and credentials issued and revoked through the credentials service (the
//! full exam-pass path is covered in tests/journey.rs); billing events and webhook signatures.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::{json, Value};

use super::{Answer, TestApp, User};
use credo::db::schema::{attempts, credentials, exam_versions, exams, vendors};
use credo::db::{new_id, DbConn, DbError};

/// A vendor running an advocate program.
pub struct Shop {
    pub vendor_id: String,
    pub manager: User,
    pub key: String,
    pub program: Value,
}

impl Shop {
    pub fn id(&self) -> String {
        self.program["id"].as_str().unwrap().to_string()
    }

    pub fn secret(&self) -> String {
        self.program["webhook_secret"].as_str().unwrap().to_string()
    }
}

pub const LANDING: &str = "https://shop.example/pricing?plan=team";

/// Program settings used by most tests: EUR, base tier 10 %, certified tier 20 %.
pub fn program_body(exam: &str) -> Value {
    json!({
        "currency": "EUR",
        "landing_url": LANDING,
        "attribution_window_days": 30,
        "hold_days": 14,
        "commission_months": 12,
        "min_payout_minor": 1000,
        "terms_version": "2026-01",
        "terms_text": "Be honest. Say that your link earns a commission.",
        "tiers": [
            {"code": "member", "rank": 0, "rate_bps": 1000},
            {"code": "certified", "rank": 10, "rate_bps": 2000, "requires_current_credentials": [exam]}
        ]
    })
}

/// A vendor with an owner, a program manager, an API key, one exam and a program.
pub async fn shop(app: &TestApp, slug: &str) -> Shop {
    shop_with(app, slug, |_| {}).await
}

pub async fn shop_with(app: &TestApp, slug: &str, adjust: impl FnOnce(&mut Value)) -> Shop {
    let owner = app
        .user(&format!("owner@{slug}.example"), &format!("{slug} Owner"))
        .await;
    app.vendor(slug, &owner).await;
    let manager = app
        .user(&format!("pm@{slug}.example"), "Program Manager")
        .await;
    app.add_member(slug, &owner, &manager, "program_manager")
        .await;
    let key = app.api_key(slug, &owner).await;
    let exam = format!("{slug}-admin");
    ensure_exam(app, slug, &exam).await;
    let mut body = program_body(&exam);
    adjust(&mut body);
    let program = app
        .put(
            &format!("/api/v1/vendors/{slug}/program"),
            Some(&manager.token),
            body,
        )
        .await
        .expect(200)
        .json();
    Shop {
        vendor_id: vendor_id(app, slug).await,
        manager,
        key,
        program,
    }
}

pub async fn vendor_id(app: &TestApp, slug: &str) -> String {
    let slug = slug.to_string();
    app.state
        .db(move |c| {
            vendors::table
                .filter(vendors::slug.eq(&slug))
                .select(vendors::id)
                .first::<String>(c)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

/// Inserts the exam row (and a version) if the vendor has no exam with this slug yet.
pub async fn ensure_exam(app: &TestApp, vendor: &str, slug: &str) -> String {
    let vendor_id = vendor_id(app, vendor).await;
    let slug = slug.to_string();
    let now = app.state.clock.now();
    app.state
        .db(move |c| ensure_exam_row(c, &vendor_id, &slug, now).map_err(DbError::from))
        .await
        .unwrap()
}

fn ensure_exam_row(
    c: &mut DbConn,
    vendor_id: &str,
    slug: &str,
    now: NaiveDateTime,
) -> QueryResult<String> {
    if let Some(id) = exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(exams::slug.eq(slug))
        .select(exams::id)
        .first::<String>(c)
        .optional()?
    {
        return Ok(id);
    }
    let id = new_id();
    let version = new_id();
    diesel::insert_into(exams::table)
        .values((
            exams::id.eq(&id),
            exams::vendor_id.eq(vendor_id),
            exams::slug.eq(slug),
            exams::title.eq(format!("Exam {slug}")),
            exams::description.eq(""),
            exams::price_minor.eq(15_000i64),
            exams::currency.eq("EUR"),
            exams::duration_minutes.eq(60),
            exams::pass_percent.eq(70),
            exams::validity_months.eq(24),
            exams::allow_review.eq(false),
            exams::retake_cooldown_days.eq(0),
            exams::retake_max_per_year.eq(3),
            exams::retake_wait_after_pass_days.eq(0),
            exams::questions_per_form.eq(10),
            exams::created_at.eq(now),
            exams::updated_at.eq(now),
        ))
        .execute(c)?;
    diesel::insert_into(exam_versions::table)
        .values((
            exam_versions::id.eq(&version),
            exam_versions::exam_id.eq(&id),
            exam_versions::number.eq(1),
            exam_versions::label.eq("1"),
            exam_versions::content_hash.eq("x"),
            exam_versions::bank.eq("{}"),
            exam_versions::source_format.eq("toml"),
            exam_versions::source_name.eq("test"),
            exam_versions::created_at.eq(now),
        ))
        .execute(c)?;
    diesel::update(exams::table.find(&id))
        .set(exams::current_version_id.eq(&version))
        .execute(c)?;
    Ok(id)
}

/// Gives `user` a credential for the vendor's exam through the real issuing path (as grading does
/// on a pass), valid from now for `valid_for` rounded up to whole months as exams define validity
/// (forever when `None`). Issuing updates the referral tier itself.
pub async fn grant_credential(
    app: &TestApp,
    user: &User,
    vendor: &str,
    exam: &str,
    valid_for: Option<Duration>,
) -> String {
    let vendor_id = vendor_id(app, vendor).await;
    let exam_id = ensure_exam(app, vendor, exam).await;
    let user_id = user.id.clone();
    let now = app.state.clock.now();
    let ctx = app.state.issue_context();
    let exam_slug = exam.to_string();
    let validity_months = valid_for.map_or(0, |d| {
        i32::try_from((d.num_days() + 29) / 30).unwrap().max(1)
    });
    app.state
        .tx(move |c| {
            let version: String = exams::table
                .find(&exam_id)
                .select(exams::current_version_id)
                .first::<Option<String>>(c)?
                .unwrap_or_default();
            let attempt = new_id();
            diesel::insert_into(attempts::table)
                .values((
                    attempts::id.eq(&attempt),
                    attempts::exam_id.eq(&exam_id),
                    attempts::version_id.eq(&version),
                    attempts::user_id.eq(&user_id),
                    attempts::status.eq("graded"),
                    attempts::form.eq("{}"),
                    attempts::started_at.eq(now),
                    attempts::deadline.eq(now),
                    attempts::submitted_at.eq(Some(now)),
                    attempts::graded_at.eq(Some(now)),
                    attempts::score_bp.eq(Some(9000)),
                    attempts::passed.eq(Some(true)),
                ))
                .execute(c)?;
            let request = credo::credentials::IssueRequest {
                attempt_id: attempt,
                user_id,
                vendor_id,
                exam_id,
                exam_title: format!("Exam {exam_slug}"),
                exam_slug,
                exam_description: String::new(),
                pass_percent: 70,
                score_bp: 9000,
                validity_months,
                renewal_exam_slug: None,
            };
            credo::credentials::issue_for_pass(c, &ctx, &request, None, now)
        })
        .await
        .unwrap()
}

/// Revokes a credential now through the credentials service (which updates the tier).
pub async fn revoke_credential(app: &TestApp, credential_id: &str) {
    let id = credential_id.to_string();
    let now = app.state.clock.now();
    let ctx = app.state.issue_context();
    app.state
        .tx(move |c| {
            let vendor_id: String = credentials::table
                .find(&id)
                .select(credentials::vendor_id)
                .first(c)?;
            let vendor = credo::accounts::store::find_vendor(c, &vendor_id)?
                .ok_or(credo::credentials::CredentialError::NotFound("vendor"))?;
            credo::credentials::revoke(
                c,
                &ctx,
                &vendor,
                &id,
                "test revocation",
                &credo::audit::Actor::system("test"),
                now,
            )
        })
        .await
        .unwrap();
}

/// Enrolls `user` and returns the answer (`referral_code`, `link`, `tier`, …).
pub async fn enroll(app: &TestApp, shop: &Shop, user: &User) -> Value {
    app.post(
        &format!("/api/v1/programs/{}/enrollments", shop.id()),
        Some(&user.token),
        json!({"accept_terms_version": "2026-01"}),
    )
    .await
    .expect(201)
    .json()
}

/// Follows `/r/<code>` like a browser and returns the click id from the landing URL.
pub async fn click(app: &TestApp, code: &str) -> String {
    let answer = app
        .client
        .get(app.url(&format!("/r/{code}")))
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        )
        .header("Referer", "https://blog.example/post")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let url = url::Url::parse(&location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "credo_click")
        .map(|(_, v)| v.into_owned())
        .expect("credo_click in the landing URL")
}

/// Binds a customer with the vendor's API key.
pub async fn bind(app: &TestApp, shop: &Shop, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/programs/{}/customers", shop.id()),
        Some(&shop.key),
        body,
    )
    .await
}

pub fn rfc3339(t: NaiveDateTime) -> String {
    credo::clock::rfc3339_seconds(t)
}

/// A billing event body at the app's current time.
pub fn event(
    app: &TestApp,
    id: &str,
    kind: &str,
    invoice: &str,
    customer: &str,
    amount: i64,
) -> Value {
    json!({
        "source": "billing",
        "external_event_id": id,
        "kind": kind,
        "invoice_id": invoice,
        "customer_external_id": customer,
        "amount_minor": amount,
        "currency": "EUR",
        "occurred_at": rfc3339(app.state.clock.now()),
    })
}

pub async fn post_event(app: &TestApp, shop: &Shop, body: Value) -> Answer {
    app.post(
        &format!("/api/v1/programs/{}/events", shop.id()),
        Some(&shop.key),
        body,
    )
    .await
}

/// Posts a raw body to the webhook with the given signature header (if any).
pub async fn post_webhook(
    app: &TestApp,
    shop: &Shop,
    body: &[u8],
    signature: Option<String>,
) -> Answer {
    let mut request = app
        .client
        .post(app.url(&format!("/api/v1/programs/{}/webhook", shop.id())))
        .header("Content-Type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Credo-Signature", signature);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

/// `Credo-Signature` for `body` at the app clock's time shifted by `offset_secs`.
pub fn signature(app: &TestApp, secret: &str, body: &[u8], offset_secs: i64) -> String {
    let t = app.state.clock.now().and_utc().timestamp() + offset_secs;
    credo::referrals::sign(secret.as_bytes(), t, body).unwrap()
}

/// The person's referral figures (`GET /api/v1/me/referrals`), first enrollment. Signs in
/// again when the session expired (tests move the clock past session lifetimes).
pub async fn me(app: &TestApp, user: &User) -> Value {
    let mut answer = app.get("/api/v1/me/referrals", Some(&user.token)).await;
    if answer.status.as_u16() == 401 {
        let token = app.login(&user.email).await;
        answer = app.get("/api/v1/me/referrals", Some(&token)).await;
    }
    answer.expect(200).json()["enrollments"][0].clone()
}

/// Counts rows of a table (tests that check "nothing new").
pub async fn count(app: &TestApp, sql_table: &'static str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    app.state
        .db(move |c| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {sql_table}"))
                .get_result::<Count>(c)
                .map(|r| r.n)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

/// One commission as program managers see it (`Null` when unknown).
pub async fn commission_status(app: &TestApp, shop: &Shop, id: &str) -> Value {
    let list = app
        .get(
            &format!("/api/v1/programs/{}/commissions", shop.id()),
            Some(&shop.key),
        )
        .await
        .expect(200)
        .json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// GET a page with the browser: `(status, body)`.
pub async fn page(browser: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let answer = browser.get(app.url(path)).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

/// POST a form with the browser: `(status, location, body)`.
pub async fn submit(
    browser: &reqwest::Client,
    app: &TestApp,
    path: &str,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let answer = browser
        .post(app.url(path))
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (status, location, answer.text().await.unwrap())
}
