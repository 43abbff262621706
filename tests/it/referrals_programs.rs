//! Programs, tiers, enrollment, disclosure and the ethical guard rails: tiers read only current
//! credentials (issued, revoked, expired), exam purchases never count, and nothing in the schema
//! or the API pays for recruiting.

use std::time::Duration as StdDuration;

use crate::common::referrals::*;
use crate::common::{eventually, job_pass, TestApp};
use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};

const WAIT: StdDuration = StdDuration::from_secs(10);

async fn tier_changes(app: &TestApp, enrollment_id: &str) -> Vec<(Option<String>, String, String)> {
    let id = enrollment_id.to_string();
    app.state
        .db(move |c| {
            credo::referrals::store::tier_changes_of(c, &id)
                .map(|rows| {
                    rows.into_iter()
                        .map(|r| (r.from_tier, r.to_tier, r.reason))
                        .collect()
                })
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap()
}

fn change(from: Option<&str>, to: &str, reason: &str) -> (Option<String>, String, String) {
    (from.map(str::to_string), to.to_string(), reason.to_string())
}

#[actix_web::test]
async fn program_put_validates_every_field_and_get_shows_the_secret_to_managers_only() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let program = &shop.program;
    assert_eq!(program["currency"], "EUR");
    assert_eq!(program["tiers"].as_array().unwrap().len(), 2);
    assert!(program["id"].as_str().unwrap().len() > 30);
    let secret = shop.secret();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        program["webhook_url"],
        app.url(&format!("/api/v1/programs/{}/webhook", shop.id()))
    );

    // The secret is generated once and stored sealed, not in clear text.
    let stored: String = {
        let id = shop.id();
        app.state
            .db(move |c| {
                use credo::db::schema::programs as p;
                p::table
                    .find(&id)
                    .select(p::webhook_secret)
                    .first(c)
                    .map_err(credo::db::DbError::from)
            })
            .await
            .unwrap()
    };
    assert!(!stored.contains(&secret));
    let mut body = program_body("acme-admin");
    body["hold_days"] = json!(7);
    let updated = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            body,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(updated["id"], program["id"]);
    assert_eq!(updated["webhook_secret"], secret.as_str());
    assert_eq!(updated["hold_days"], 7);
    let got = app
        .get("/api/v1/vendors/acme/program", Some(&shop.key))
        .await
        .expect(200)
        .json();
    assert_eq!(got["webhook_secret"], secret.as_str());

    // Public views never show it; practitioners and other vendors can't read the staff view.
    let public = app
        .get(&format!("/api/v1/programs/{}", shop.id()), None)
        .await
        .expect(200)
        .json();
    assert!(public.get("webhook_secret").is_none());
    assert_eq!(public["terms_version"], "2026-01");
    let by_slug = app
        .get("/api/v1/programs/acme", None)
        .await
        .expect(200)
        .json();
    assert_eq!(by_slug["id"], program["id"]);
    let ana = app.user("ana@example.org", "Ana").await;
    app.get("/api/v1/vendors/acme/program", Some(&ana.token))
        .await
        .expect(403);
    let other = shop_with(&app, "globex", |_| {}).await;
    app.get("/api/v1/vendors/acme/program", Some(&other.key))
        .await
        .expect(403);
    app.put(
        "/api/v1/vendors/acme/program",
        Some(&other.manager.token),
        program_body("acme-admin"),
    )
    .await
    .expect(403);
    app.get("/api/v1/vendors/nobody/program", Some(&shop.key))
        .await
        .expect(404);

    // Every problem at once, each named.
    let bad = json!({
        "currency": "ABC",
        "landing_url": "javascript:alert(1)",
        "attribution_window_days": -1,
        "hold_days": 99999,
        "commission_months": -3,
        "min_payout_minor": -5,
        "terms_version": " ",
        "tiers": [
            {"code": "member", "rank": 0, "rate_bps": 1000},
            {"code": "member", "rank": 0, "rate_bps": 20000, "requires_current_credentials": ["globex-admin"]},
            {"code": "gold", "rank": 5, "rate_bps": 500, "requires_current_credentials": ["acme-admin"]}
        ]
    });
    let answer = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            bad,
        )
        .await
        .expect(422);
    let fields = answer.error_fields();
    for field in [
        "currency",
        "landing_url",
        "attribution_window_days",
        "hold_days",
        "commission_months",
        "min_payout_minor",
        "terms_version",
        "tiers[1].rate_bps",
        "tiers[1].requires_current_credentials[0]",
    ] {
        assert!(
            fields.contains(&field.to_string()),
            "{field} missing in {fields:?}"
        );
    }
    // Tier rules once the shapes are right: duplicates, base tier, rate order.
    let answer = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            json!({
                "currency": "EUR", "landing_url": "https://acme.example/", "attribution_window_days": 30,
                "hold_days": 0, "commission_months": 12, "min_payout_minor": 0, "terms_version": "1",
                "tiers": [
                    {"code": "member", "rank": 0, "rate_bps": 1000},
                    {"code": "member", "rank": 0, "rate_bps": 1500, "requires_current_credentials": ["acme-admin"]},
                    {"code": "gold", "rank": 5, "rate_bps": 500, "requires_current_credentials": ["acme-admin"]}
                ]
            }),
        )
        .await
        .expect(422);
    let fields = answer.error_fields();
    assert!(fields.contains(&"tiers[1].code".to_string()), "{fields:?}");
    assert!(fields.contains(&"tiers[1].rank".to_string()), "{fields:?}");
    assert!(
        fields.contains(&"tiers[2].rate_bps".to_string()),
        "{fields:?}"
    );
    let missing = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            json!({}),
        )
        .await
        .expect(422);
    assert_eq!(
        missing.error_fields().len(),
        8,
        "{:?}",
        missing.error_fields()
    );
    // The stored program is unchanged by refused updates.
    let got = app
        .get("/api/v1/vendors/acme/program", Some(&shop.key))
        .await
        .expect(200)
        .json();
    assert_eq!(got["hold_days"], 7);
    app.stop().await;
}

#[actix_web::test]
async fn enrollment_needs_the_current_terms_is_free_and_idempotent() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let path = format!("/api/v1/programs/{}/enrollments", shop.id());
    let wrong = app
        .post(
            &path,
            Some(&ana.token),
            json!({"accept_terms_version": "2025-01"}),
        )
        .await
        .expect(422);
    assert_eq!(wrong.error_fields(), vec!["accept_terms_version"]);
    assert!(wrong.json()["detail"].as_str().unwrap().contains("2026-01"));
    app.post(&path, Some(&ana.token), json!({}))
        .await
        .expect(422);
    // Vendor API keys can't enroll anyone.
    app.post(
        &path,
        Some(&shop.key),
        json!({"accept_terms_version": "2026-01"}),
    )
    .await
    .expect(403);

    let first = enroll(&app, &shop, &ana).await;
    assert_eq!(first["terms_accepted_version"], "2026-01");
    assert_eq!(first["status"], "active");
    assert_eq!(first["next_tier"]["code"], "certified");
    assert_eq!(first["next_tier"]["missing_exams"], json!(["acme-admin"]));
    // Enrolling again answers the existing enrollment.
    let again = app
        .post(
            &path,
            Some(&ana.token),
            json!({"accept_terms_version": "2026-01"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(again["referral_code"], first["referral_code"]);
    assert_eq!(again["id"], first["id"]);

    // New terms: the enrollment records the version accepted again.
    let mut body = program_body("acme-admin");
    body["terms_version"] = json!("2026-06");
    app.put(
        "/api/v1/vendors/acme/program",
        Some(&shop.manager.token),
        body,
    )
    .await
    .expect(200);
    let me_now = me(&app, &ana).await;
    assert_eq!(me_now["terms_accepted_version"], "2026-01");
    assert_eq!(me_now["terms_version"], "2026-06");
    let accepted = app
        .post(
            &path,
            Some(&ana.token),
            json!({"accept_terms_version": "2026-06"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(accepted["terms_accepted_version"], "2026-06");
    // Codes are unique and readable.
    let bob = app.user("bob@example.org", "Ana").await;
    let other = enroll_with(&app, &shop, &bob, "2026-06").await;
    assert_ne!(other["referral_code"], first["referral_code"]);
    assert!(other["referral_code"].as_str().unwrap().starts_with("ANA-"));
    app.stop().await;
}

async fn enroll_with(
    app: &TestApp,
    shop: &Shop,
    user: &crate::common::User,
    version: &str,
) -> Value {
    app.post(
        &format!("/api/v1/programs/{}/enrollments", shop.id()),
        Some(&user.token),
        json!({"accept_terms_version": version}),
    )
    .await
    .expect(201)
    .json()
}

#[actix_web::test]
async fn tier_follows_current_credentials_and_old_commissions_keep_their_snapshot() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let code = enrollment["referral_code"].as_str().unwrap().to_string();
    bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);

    // Enrolled before certifying: base rate.
    let before = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(before["effect"]["commissions"][0]["rate_bps"], 1000);

    // After passing: certified rate for invoices after that moment.
    app.state.clock.advance(Duration::minutes(1));
    let credential = grant_credential(&app, &ana, "acme", "acme-admin", None).await;
    app.state.clock.advance(Duration::minutes(1));
    assert_eq!(me(&app, &ana).await["tier"], "certified");
    let certified = post_event(
        &app,
        &shop,
        event(&app, "e2", "invoice_paid", "i2", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    let snapshot = &certified["effect"]["commissions"][0];
    assert_eq!(snapshot["rate_bps"], 2000);
    assert_eq!(snapshot["tier"], "certified");
    assert_eq!(snapshot["amount_minor"], 2000);

    // After revocation: base rate for new invoices.
    revoke_credential(&app, &credential).await;
    app.state.clock.advance(Duration::minutes(1));
    assert_eq!(me(&app, &ana).await["tier"], "member");
    let after = post_event(
        &app,
        &shop,
        event(&app, "e3", "invoice_paid", "i3", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(after["effect"]["commissions"][0]["rate_bps"], 1000);

    // The older commission keeps its snapshot.
    let id = certified["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap();
    let kept = commission_status(&app, &shop, id).await;
    assert_eq!(kept["rate_bps"], 2000);
    assert_eq!(kept["tier"], "certified");
    assert_eq!(kept["amount_minor"], 2000);

    assert_eq!(
        tier_changes(&app, enrollment["id"].as_str().unwrap()).await,
        vec![
            change(None, "member", "enrolled"),
            change(Some("member"), "certified", "credential issued"),
            change(Some("certified"), "member", "credential revoked"),
        ]
    );

    // Certified before enrolling: the enrollment starts in the certified tier.
    let bob = app.user("bob@example.org", "Bob").await;
    grant_credential(&app, &bob, "acme", "acme-admin", None).await;
    assert_eq!(enroll(&app, &shop, &bob).await["tier"], "certified");
    // Another vendor's credential is no tier input here.
    let carl = app.user("carl@example.org", "Carl").await;
    shop_with(&app, "globex", |_| {}).await;
    grant_credential(&app, &carl, "globex", "acme-admin", None).await;
    assert_eq!(enroll(&app, &shop, &carl).await["tier"], "member");
    app.stop().await;
}

#[actix_web::test]
async fn expired_credential_lowers_the_tier_through_the_job() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let code = enrollment["referral_code"].as_str().unwrap().to_string();
    bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);
    grant_credential(&app, &ana, "acme", "acme-admin", Some(Duration::days(30))).await;
    app.state.clock.advance(Duration::minutes(1));
    let certified = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(certified["effect"]["commissions"][0]["rate_bps"], 2000);

    app.state.clock.advance(Duration::days(31));
    let enrollment_id = enrollment["id"].as_str().unwrap().to_string();
    eventually("tier recomputed after expiry", WAIT, || async {
        tier_changes(&app, &enrollment_id)
            .await
            .contains(&change(Some("certified"), "member", "credential expired"))
            .then_some(())
    })
    .await;
    assert_eq!(me(&app, &ana).await["tier"], "member");
    let after = post_event(
        &app,
        &shop,
        event(&app, "e2", "invoice_paid", "i2", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(after["effect"]["commissions"][0]["rate_bps"], 1000);
    let kept = commission_status(
        &app,
        &shop,
        certified["effect"]["commissions"][0]["id"]
            .as_str()
            .unwrap(),
    )
    .await;
    assert_eq!(kept["rate_bps"], 2000);
    // Recorded once, however many job passes ran.
    job_pass(&app).await;
    assert_eq!(tier_changes(&app, &enrollment_id).await.len(), 3);
    app.stop().await;
}

#[actix_web::test]
async fn exam_fees_and_voucher_purchases_never_change_a_tier_or_earn() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let exam_id = ensure_exam(&app, "acme", "acme-admin").await;
    // Ana buys the exam and redeems a voucher: paid orders for the vendor's exam.
    let user_id = ana.id.clone();
    let now = app.state.clock.now();
    app.state
        .tx(move |c| {
            use credo::db::schema::orders as o;
            for provider in ["manual", "voucher"] {
                diesel::insert_into(o::table)
                    .values((
                        o::id.eq(credo::db::new_id()),
                        o::exam_id.eq(&exam_id),
                        o::user_id.eq(&user_id),
                        o::amount_minor.eq(150_000i64),
                        o::currency.eq("EUR"),
                        o::provider.eq(provider),
                        o::status.eq("paid"),
                        o::created_at.eq(now),
                        o::paid_at.eq(Some(now)),
                    ))
                    .execute(c)?;
            }
            credo::referrals::on_credentials_changed(c, &user_id, "no-such-vendor", "noop", now)?;
            Ok::<_, credo::referrals::ReferralError>(())
        })
        .await
        .unwrap();
    // Also recompute for the right vendor: purchases are no tier input.
    let (user_id, vendor_id) = (ana.id.clone(), shop.vendor_id.clone());
    app.state
        .tx(move |c| {
            credo::referrals::on_credentials_changed(c, &user_id, &vendor_id, "check", now)
        })
        .await
        .unwrap();
    app.state.clock.advance(Duration::minutes(1));
    let me_now = me(&app, &ana).await;
    assert_eq!(me_now["tier"], "member");
    assert_eq!(me_now["commissions"]["pending"]["count"], 0);
    assert_eq!(count(&app, "commissions").await, 0);
    assert_eq!(
        tier_changes(&app, enrollment["id"].as_str().unwrap()).await,
        vec![change(None, "member", "enrolled")]
    );
    // The inbox refuses exam fees and voucher purchases as billing events.
    for kind in ["exam_fee", "voucher_purchase", "exam_purchase"] {
        let mut body = event(&app, kind, "invoice_paid", "inv", "cus", 15_000);
        body["kind"] = json!(kind);
        post_event(&app, &shop, body).await.expect(422);
    }
    // Passing (not paying) is what raises the tier.
    grant_credential(&app, &ana, "acme", "acme-admin", None).await;
    assert_eq!(me(&app, &ana).await["tier"], "certified");
    app.stop().await;
}

async fn columns(app: &TestApp, table: &'static str) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    app.state
        .db(move |c| {
            let sql = match c {
                credo::db::DbConn::Sqlite(_) => {
                    format!("SELECT name FROM pragma_table_info('{table}')")
                }
                credo::db::DbConn::Postgres(_) => format!(
                    "SELECT column_name::text AS name FROM information_schema.columns \
                     WHERE table_schema = 'public' AND table_name = '{table}'"
                ),
            };
            diesel::sql_query(sql)
                .load::<Column>(c)
                .map(|rows| {
                    let mut names: Vec<String> = rows.into_iter().map(|r| r.name).collect();
                    names.sort();
                    names
                })
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap()
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

const FORBIDDEN: &[&str] = &[
    "upline",
    "downline",
    "parent",
    "sponsor",
    "recruit",
    "referred_by",
    "level",
    "override",
];

#[actix_web::test]
async fn no_upline_column_or_recruiting_commission_exists() {
    let app = TestApp::start().await;
    // The migrations of both dialects.
    for dialect in ["sqlite", "postgres"] {
        let sql = std::fs::read_to_string(format!(
            "{}/migrations/{dialect}/2026-11-23-000004_referrals/up.sql",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .to_lowercase();
        let code: String = sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        for word in FORBIDDEN {
            assert!(!code.contains(word), "{dialect} migration mentions {word}");
        }
    }
    // The live schema: enrollments link a person to a program, nothing else; commissions
    // point at the enrollment whose customer bought.
    assert_eq!(
        columns(&app, "enrollments").await,
        sorted(&[
            "id",
            "program_id",
            "user_id",
            "referral_code",
            "tier_code",
            "terms_accepted_version",
            "status",
            "enrolled_at",
            "updated_at",
            "tier_checked_at"
        ])
    );
    assert_eq!(
        columns(&app, "commissions").await,
        sorted(&[
            "id",
            "program_id",
            "enrollment_id",
            "customer_id",
            "billing_event_id",
            "invoice_id",
            "kind",
            "base_minor",
            "rate_bps",
            "amount_minor",
            "currency",
            "status",
            "held",
            "held_reason",
            "hold_until",
            "tier_snapshot",
            "payout_id",
            "reverses_id",
            "idempotency_key",
            "created_at",
            "updated_at"
        ])
    );
    for table in [
        "programs",
        "tiers",
        "tier_changes",
        "clicks",
        "customers",
        "billing_events",
        "payouts",
        "commission_transitions",
    ] {
        for column in columns(&app, table).await {
            assert!(
                !FORBIDDEN.iter().any(|w| column.contains(w)),
                "{table}.{column}"
            );
        }
    }
    // The database itself refuses any other commission kind.
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    bind(
        &app,
        &shop,
        json!({"external_id": "c", "referral_code": code}),
    )
    .await
    .expect(201);
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e", "invoice_paid", "i", "c", 1000),
    )
    .await
    .expect(201)
    .json();
    let sale_id = sale["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = app
        .state
        .db(move |c| {
            diesel::sql_query(format!(
                "INSERT INTO commissions SELECT 'x', program_id, enrollment_id, customer_id, \
                 billing_event_id, invoice_id, 'recruiting_bonus', base_minor, rate_bps, amount_minor, \
                 currency, status, held, held_reason, hold_until, tier_snapshot, payout_id, \
                 reverses_id, 'other-key', created_at, updated_at FROM commissions WHERE id = '{sale_id}'"
            ))
            .execute(c)
            .map_err(credo::db::DbError::from)
        })
        .await;
    assert!(refused.is_err(), "a recruiting commission kind was stored");

    // The API input structs refuse recruiting settings and referrers of advocates.
    let mut body = program_body("acme-admin");
    body["recruiting_bonus_bps"] = json!(500);
    let answer = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            body,
        )
        .await
        .expect(422);
    assert_eq!(answer.error_fields(), vec!["recruiting_bonus_bps"]);
    let mut body = program_body("acme-admin");
    body["tiers"][1]["override_bps_on_downline"] = json!(100);
    let answer = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&shop.manager.token),
            body,
        )
        .await
        .expect(422);
    assert_eq!(
        answer.error_fields(),
        vec!["tiers[1].override_bps_on_downline"]
    );
    let bob = app.user("bob@example.org", "Bob").await;
    let answer = app
        .post(
            &format!("/api/v1/programs/{}/enrollments", shop.id()),
            Some(&bob.token),
            json!({"accept_terms_version": "2026-01", "referred_by": code}),
        )
        .await
        .expect(422);
    assert_eq!(answer.error_fields(), vec!["referred_by"]);
    // …and the published API describes no such field.
    let openapi = app
        .get("/api/openapi.json", None)
        .await
        .expect(200)
        .text
        .to_lowercase();
    for word in [
        "upline",
        "downline",
        "sponsor",
        "recruiting_bonus",
        "referred_by",
    ] {
        assert!(!openapi.contains(word), "OpenAPI mentions {word}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn disclosure_shows_terms_and_yearly_figures() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["hold_days"] = json!(0)).await;
    let ana = app.user("ana@example.org", "Ana").await;
    let bob = app.user("bob@example.org", "Bob").await;
    let carl = app.user("carl@example.org", "Carl").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    enroll(&app, &shop, &bob).await;
    enroll(&app, &shop, &carl).await;
    bind(
        &app,
        &shop,
        json!({"external_id": "c", "referral_code": code}),
    )
    .await
    .expect(201);
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e", "invoice_paid", "i", "c", 30_000),
    )
    .await
    .expect(201)
    .json();
    let id = sale["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    eventually("approved", WAIT, || async {
        (commission_status(&app, &shop, &id).await["status"] == "approved").then_some(())
    })
    .await;

    let json = app
        .get(&format!("/api/v1/programs/{}/disclosure", shop.id()), None)
        .await
        .expect(200)
        .json();
    // Three advocates: a median or a percentile would be one person's income.
    let year = &json["years"][0];
    assert_eq!(year["enrolled"], 3);
    assert_eq!(year["withheld"], true);
    for figure in ["earning_nothing_share_bp", "median_minor", "p90_minor"] {
        assert_eq!(year[figure], Value::Null, "{figure} of {json}");
    }
    let page = app
        .get(&format!("/programs/{}/disclosure", shop.id()), None)
        .await
        .expect(200);
    assert!(
        page.text
            .contains("Fewer than 5 advocates: figures withheld to protect their privacy."),
        "{}",
        page.text
    );
    assert!(!page.text.contains("66.67 %"));

    // Five: the figures are published.
    let dina = app.user("dina@example.org", "Dina").await;
    let emil = app.user("emil@example.org", "Emil").await;
    enroll(&app, &shop, &dina).await;
    enroll(&app, &shop, &emil).await;
    let json = app
        .get(&format!("/api/v1/programs/{}/disclosure", shop.id()), None)
        .await
        .expect(200)
        .json();
    let year = &json["years"][0];
    assert_eq!(year["enrolled"], 5);
    assert_eq!(year["withheld"], false);
    assert_eq!(year["earning_nothing_share_bp"], 8000);
    assert_eq!(year["median_minor"], 0);
    assert_eq!(year["p90_minor"], 3000);

    let page = app
        .get(&format!("/programs/{}/disclosure", shop.id()), None)
        .await
        .expect(200);
    assert!(page
        .text
        .contains("Be honest. Say that your link earns a commission."));
    assert!(!page.text.contains("figures withheld"));
    assert!(page.text.contains("30.00 EUR"), "p90");
    assert!(page.text.contains("earns a commission"));
    let by_slug = app.get("/programs/acme/disclosure", None).await.expect(200);
    assert!(by_slug.text.contains("90th percentile"));
    app.get("/programs/nobody/disclosure", None)
        .await
        .expect(404);
    app.stop().await;
}
