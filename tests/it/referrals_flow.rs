//! Referral network through the HTTP API: clicks and redirects, customer binding, commissions,
//! approval, self-referral review, refunds, clawbacks, payouts and the funnel.

use std::time::Duration as StdDuration;

use crate::common::referrals::*;
use crate::common::{eventually, job_pass, TestApp};
use chrono::Duration;
use diesel::prelude::*;
use serde_json::{json, Value};

const WAIT: StdDuration = StdDuration::from_secs(10);

async fn wait_status(app: &TestApp, shop: &Shop, id: &str, status: &str) -> Value {
    eventually(&format!("commission {id} {status}"), WAIT, || async {
        let c = commission_status(app, shop, id).await;
        (c["status"] == status).then_some(c)
    })
    .await
}

fn commission_id(answer: &Value) -> String {
    answer["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no commission in {answer}"))
        .to_string()
}

#[actix_web::test]
async fn click_bind_invoice_commission_and_approval() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana Advocate").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let code = enrollment["referral_code"].as_str().unwrap().to_string();
    assert!(code.starts_with("ANAADV-"), "{code}");
    assert_eq!(enrollment["tier"], "member");
    assert_eq!(enrollment["link"], app.url(&format!("/r/{code}")));
    assert!(enrollment["disclosure"]
        .as_str()
        .unwrap()
        .contains("earns a commission"));

    let click_id = click(&app, &code).await;
    let bound = bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "click_id": click_id, "email": "buyer@client.example"}),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(bound["referral_code"], code.as_str());
    assert_eq!(bound["bound"], true);

    let answer = post_event(
        &app,
        &shop,
        event(&app, "evt_1", "invoice_paid", "inv_1", "cus_1", 15_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(answer["effect"]["outcome"], "commission_created");
    let commission = &answer["effect"]["commissions"][0];
    assert_eq!(commission["amount_minor"], 1500);
    assert_eq!(commission["rate_bps"], 1000);
    assert_eq!(commission["tier"], "member");
    assert_eq!(commission["status"], "pending");
    assert_eq!(commission["held"], false);
    let id = commission_id(&answer);

    // Still in the 14-day hold: the job leaves it pending.
    app.state.clock.advance(Duration::days(13));
    job_pass(&app).await;
    assert_eq!(
        commission_status(&app, &shop, &id).await["status"],
        "pending"
    );

    app.state.clock.advance(Duration::days(2));
    wait_status(&app, &shop, &id, "approved").await;
    let mail = app
        .smtp
        .wait_for("ana@example.org", |m| {
            m.subject.contains("Commission approved")
        })
        .await;
    assert!(mail.subject.contains("15.00 EUR"), "{}", mail.subject);
    let me = me(&app, &ana).await;
    assert_eq!(me["balance_minor"], 1500);
    assert_eq!(me["clicks"], 1);
    assert_eq!(me["customers"], 1);
    assert_eq!(me["invoices"], 1);
    assert_eq!(me["sales"], 1);
    assert_eq!(me["commissions"]["approved"]["count"], 1);
    assert!(me["disclosure"].as_str().unwrap().contains("commission"));

    // Every status change is in the append-only log.
    let transitions: Vec<(Option<String>, String)> = {
        let id = id.clone();
        app.state
            .db(move |c| {
                use credo::db::schema::commission_transitions as t;
                t::table
                    .filter(t::commission_id.eq(&id))
                    .order(t::at.asc())
                    .select((t::from_status, t::to_status))
                    .load(c)
                    .map_err(credo::db::DbError::from)
            })
            .await
            .unwrap()
    };
    assert_eq!(
        transitions,
        vec![
            (None, "pending".to_string()),
            (Some("pending".to_string()), "approved".to_string())
        ]
    );
    app.stop().await;
}

#[actix_web::test]
async fn redirect_records_the_click_and_keeps_the_landing_query() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();

    // Codes are matched case-insensitively.
    let answer = app
        .client
        .get(app.url(&format!("/r/{}", code.to_lowercase())))
        .header("User-Agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15")
        .header("Referer", "https://blog.example/why-acme")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("https://shop.example/pricing?plan=team&credo_click="),
        "{location}"
    );
    let click_id = location.rsplit('=').next().unwrap().to_string();

    // A crawler is recorded but flagged.
    let bot = app
        .client
        .get(app.url(&format!("/r/{code}")))
        .header(
            "User-Agent",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(bot.status().as_u16(), 302);

    let clicks = eventually("both clicks stored", WAIT, || async {
        let rows: Vec<(String, String, String, Option<String>, String, bool)> = app
            .state
            .db(|c| {
                use credo::db::schema::clicks as k;
                k::table
                    .order(k::at.asc())
                    .select((
                        k::id,
                        k::ip_hash,
                        k::ua_hash,
                        k::referrer,
                        k::landing,
                        k::is_bot,
                    ))
                    .load(c)
                    .map_err(credo::db::DbError::from)
            })
            .await
            .unwrap();
        (rows.len() == 2).then_some(rows)
    })
    .await;
    let human = clicks
        .iter()
        .find(|c| c.0 == click_id)
        .expect("the human click");
    assert_eq!(human.1.len(), 64, "address stored as a salted hash");
    assert!(!human.1.contains("127.0.0.1"));
    assert_eq!(human.2.len(), 64);
    assert_eq!(human.3.as_deref(), Some("https://blog.example/why-acme"));
    assert_eq!(human.4, location);
    assert!(!human.5);
    assert!(clicks.iter().any(|c| c.5), "the crawler is flagged");
    // Bots are excluded from the advocate's figures.
    assert_eq!(me(&app, &ana).await["clicks"], 1);
    app.stop().await;
}

#[actix_web::test]
async fn unknown_or_suspended_codes_get_a_404_page_without_location() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let code = enrollment["referral_code"].as_str().unwrap().to_string();

    for path in [
        "/r/ANNA-22222".to_string(),
        "/r/not-a-code".to_string(),
        "/r/https%3A%2F%2Fevil.example".to_string(),
        "/r/%2F%2Fevil.example".to_string(),
    ] {
        let answer = app.get(&path, None).await.expect(404);
        assert!(answer.header("location").is_none(), "{path}");
        assert!(answer
            .header("content-type")
            .unwrap()
            .starts_with("text/html"));
        assert!(answer.text.contains("does not work"), "{path}");
    }

    let suspend = |status: &'static str| {
        let path = format!(
            "/api/v1/programs/{}/advocates/{}/status",
            shop.id(),
            enrollment["id"].as_str().unwrap()
        );
        let token = shop.manager.token.clone();
        let app = &app;
        async move {
            app.post(&path, Some(&token), json!({"status": status}))
                .await
                .expect(200)
        }
    };
    suspend("suspended").await;
    let answer = app.get(&format!("/r/{code}"), None).await.expect(404);
    assert!(answer.header("location").is_none());
    suspend("active").await;
    app.get(&format!("/r/{code}"), None).await.expect(302);
    app.stop().await;
}

#[actix_web::test]
async fn clicks_in_the_group_commit_buffer_are_written_at_graceful_shutdown() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = app.client.clone();
        let url = app.url(&format!("/r/{code}"));
        tasks.push(tokio::spawn(async move {
            let answer = client.get(url).send().await.unwrap();
            assert_eq!(answer.status().as_u16(), 302);
            answer.headers()["location"].to_str().unwrap().to_string()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 200, "every redirect has its own click id");
    let state = app.state.clone();
    app.stop().await;
    let stored: i64 = state
        .db(|c| {
            use credo::db::schema::clicks as k;
            k::table
                .count()
                .get_result(c)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(stored, 200);
}

#[actix_web::test]
async fn without_group_commit_each_click_is_written_before_the_redirect() {
    let app = TestApp::builder()
        .env("CREDO_CLICK_FLUSH_MS", "0")
        .start()
        .await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let click_id = click(&app, &code).await;
    assert_eq!(app.state.clicks.buffered(), 0);
    let found = app
        .state
        .db(move |c| {
            use credo::db::schema::clicks as k;
            k::table
                .find(&click_id)
                .count()
                .get_result::<i64>(c)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(found, 1);
    app.stop().await;
}

#[actix_web::test]
async fn binding_window_first_binding_wins_and_unknown_references() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let bob = app.user("bob@example.org", "Bob").await;
    let ana_code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let bob_code = enroll(&app, &shop, &bob).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();

    // A click older than the 30-day window binds nothing.
    let old_click = click(&app, &ana_code).await;
    app.state.clock.advance(Duration::days(31));
    let answer = bind(
        &app,
        &shop,
        json!({"external_id": "cus_old", "click_id": old_click}),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(answer["bound"], false);
    assert!(answer["reason"].as_str().unwrap().contains("30-day"));
    assert_eq!(count(&app, "customers").await, 0);

    // First binding wins, also against a concurrent second one.
    let ana_click = click(&app, &ana_code).await;
    let bob_click = click(&app, &bob_code).await;
    let mut tasks = Vec::new();
    for click_id in [ana_click.clone(), bob_click.clone()] {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/programs/{}/customers", shop.id()));
        let key = shop.key.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&json!({"external_id": "cus_1", "click_id": click_id}))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(
        statuses.contains(&201) && statuses.contains(&200),
        "{statuses:?}"
    );
    let winner = answers.iter().find(|a| a.0 == 201).unwrap().1["referral_code"].clone();
    let loser = answers.iter().find(|a| a.0 == 200).unwrap().1["referral_code"].clone();
    assert_eq!(winner, loser, "the later call answers the existing binding");
    // And later, with a code instead of a click.
    let again = bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "referral_code": bob_code}),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(again["referral_code"], winner);
    assert_eq!(count(&app, "customers").await, 1);

    // Binding by code needs no click; codes are normalized.
    bind(
        &app,
        &shop,
        json!({"external_id": "cus_2", "referral_code": format!(" {} ", bob_code.to_lowercase())}),
    )
    .await
    .expect(201);

    // Unknown click or code: input errors.
    let unknown = bind(
        &app,
        &shop,
        json!({"external_id": "cus_3", "click_id": "nope"}),
    )
    .await
    .expect(422);
    assert_eq!(unknown.error_fields(), vec!["click_id"]);
    let unknown = bind(
        &app,
        &shop,
        json!({"external_id": "cus_3", "referral_code": "ZZZ-22222"}),
    )
    .await
    .expect(422);
    assert_eq!(unknown.error_fields(), vec!["referral_code"]);
    let missing = bind(&app, &shop, json!({"email": "not an address"}))
        .await
        .expect(422);
    assert_eq!(
        missing.error_fields(),
        vec!["external_id", "click_id", "email"]
    );
    // A click and a code of two different advocates contradict each other.
    let fresh = click(&app, &ana_code).await;
    bind(
        &app,
        &shop,
        json!({"external_id": "cus_4", "click_id": fresh, "referral_code": bob_code}),
    )
    .await
    .expect(422);
    app.stop().await;
}

async fn bound_customer(
    app: &TestApp,
    shop: &Shop,
    user: &crate::common::User,
    customer: &str,
) -> String {
    let code = enroll(app, shop, user).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    bind(
        app,
        shop,
        json!({"external_id": customer, "referral_code": code}),
    )
    .await
    .expect(201);
    code
}

#[actix_web::test]
async fn refund_before_approval_reverses_and_partial_refund_recreates_the_remainder() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    bound_customer(&app, &shop, &ana, "cus_1").await;

    // Full refund while pending → reversed, nothing new.
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "inv_1", "cus_1", 15_000),
    )
    .await
    .expect(201)
    .json();
    let first = commission_id(&sale);
    let refund = post_event(
        &app,
        &shop,
        event(&app, "e2", "refund", "inv_1", "cus_1", 15_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(refund["effect"]["outcome"], "commission_reversed");
    assert_eq!(refund["effect"]["reversed"], json!([first]));
    assert_eq!(refund["effect"]["commissions"], json!([]));
    assert_eq!(
        commission_status(&app, &shop, &first).await["status"],
        "reversed"
    );

    // Partial refund → reversed and re-created for the non-refunded base.
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e3", "invoice_paid", "inv_2", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    let original = commission_id(&sale);
    let partial = post_event(
        &app,
        &shop,
        event(&app, "e4", "refund", "inv_2", "cus_1", 2_500),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(partial["effect"]["outcome"], "commission_reversed");
    let remainder = &partial["effect"]["commissions"][0];
    assert_eq!(remainder["base_minor"], 7_500);
    assert_eq!(remainder["amount_minor"], 750);
    assert_eq!(remainder["rate_bps"], 1000);
    assert_eq!(remainder["status"], "pending");
    assert_eq!(remainder["reverses"], original.as_str());
    assert_eq!(
        remainder["hold_until"], sale["effect"]["commissions"][0]["hold_until"],
        "the remainder keeps the original hold period"
    );
    // Refunding the rest reverses the remainder; a further refund has nothing left.
    let rest = post_event(
        &app,
        &shop,
        event(&app, "e5", "refund", "inv_2", "cus_1", 9_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(rest["effect"]["outcome"], "commission_reversed");
    assert_eq!(rest["effect"]["commissions"], json!([]));
    let nothing = post_event(
        &app,
        &shop,
        event(&app, "e6", "refund", "inv_2", "cus_1", 100),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(nothing["effect"]["outcome"], "no_commission");
    let me = me(&app, &ana).await;
    assert_eq!(me["commissions"]["reversed"]["count"], 3);
    assert_eq!(me["commissions"]["pending"]["count"], 0);
    assert_eq!(me["balance_minor"], 0);
    app.stop().await;
}

#[actix_web::test]
async fn refund_after_payout_claws_back_and_a_negative_balance_blocks_the_next_payout() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["hold_days"] = json!(0)).await;
    let ana = app.user("ana@example.org", "Ana").await;
    bound_customer(&app, &shop, &ana, "cus_1").await;
    let payouts_path = format!("/api/v1/programs/{}/payouts", shop.id());

    let sale = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "inv_1", "cus_1", 20_000),
    )
    .await
    .expect(201)
    .json();
    let sale_id = commission_id(&sale);
    wait_status(&app, &shop, &sale_id, "approved").await;
    let created = app
        .post(&payouts_path, Some(&shop.manager.token), json!({}))
        .await
        .expect(201)
        .json();
    assert_eq!(created.as_array().unwrap().len(), 1);
    assert_eq!(created[0]["amount_minor"], 2000);
    assert_eq!(created[0]["currency"], "EUR");
    let payout_id = created[0]["id"].as_str().unwrap().to_string();
    // Nothing left to pay out.
    let again = app
        .post(&payouts_path, Some(&shop.manager.token), json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(again, json!([]));

    let paid = app
        .post(
            &format!("/api/v1/payouts/{payout_id}/paid"),
            Some(&shop.manager.token),
            json!({"reference": "SEPA-2026-001"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(paid["status"], "paid");
    assert_eq!(
        commission_status(&app, &shop, &sale_id).await["status"],
        "paid"
    );
    app.smtp
        .wait_for("ana@example.org", |m| {
            m.subject.contains("Payout sent: 20.00 EUR")
        })
        .await;
    // Marking it paid again with another reference is refused; the same one answers the same.
    app.post(
        &format!("/api/v1/payouts/{payout_id}/paid"),
        Some(&shop.manager.token),
        json!({"reference": "OTHER"}),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/payouts/{payout_id}/paid"),
        Some(&shop.manager.token),
        json!({"reference": "SEPA-2026-001"}),
    )
    .await
    .expect(200);

    // Refund after payout: a new negative clawback; the paid row is untouched.
    let refund = post_event(
        &app,
        &shop,
        event(&app, "e2", "refund", "inv_1", "cus_1", 20_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(refund["effect"]["outcome"], "clawback_created");
    let clawback = &refund["effect"]["commissions"][0];
    assert_eq!(clawback["kind"], "clawback");
    assert_eq!(clawback["base_minor"], -20_000);
    assert_eq!(clawback["amount_minor"], -2000);
    assert_eq!(clawback["status"], "approved");
    assert_eq!(clawback["reverses"], sale_id.as_str());
    let paid_row = commission_status(&app, &shop, &sale_id).await;
    assert_eq!(paid_row["status"], "paid");
    assert_eq!(paid_row["amount_minor"], 2000);
    assert_eq!(me(&app, &ana).await["balance_minor"], -2000);

    // A new sale does not cover the debt: the payout stays blocked.
    let small = post_event(
        &app,
        &shop,
        event(&app, "e3", "invoice_paid", "inv_2", "cus_1", 5_000),
    )
    .await
    .expect(201)
    .json();
    wait_status(&app, &shop, &commission_id(&small), "approved").await;
    let blocked = app
        .post(&payouts_path, Some(&shop.manager.token), json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(blocked, json!([]));
    let list = app
        .get(&payouts_path, Some(&shop.manager.token))
        .await
        .expect(200)
        .json();
    assert_eq!(list["balances"][0]["balance_minor"], -1500);
    assert!(list["balances"][0]["blocked"]
        .as_str()
        .unwrap()
        .contains("negative"));

    // Once earnings cover it, the payout nets the clawback.
    let big = post_event(
        &app,
        &shop,
        event(&app, "e4", "invoice_paid", "inv_3", "cus_1", 40_000),
    )
    .await
    .expect(201)
    .json();
    wait_status(&app, &shop, &commission_id(&big), "approved").await;
    let created = app
        .post(&payouts_path, Some(&shop.manager.token), json!({}))
        .await
        .expect(201)
        .json();
    assert_eq!(created[0]["amount_minor"], 2500);
    assert_eq!(created[0]["commissions"], 3);

    // CSV export.
    let csv = app
        .get(&format!("{payouts_path}.csv"), Some(&shop.manager.token))
        .await
        .expect(200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.text);
    assert!(lines[0].starts_with("payout_id,created_at,status"));
    assert!(csv.text.contains("SEPA-2026-001"));
    assert!(csv.text.contains(",2500,25.00,EUR"));
    app.stop().await;
}

#[actix_web::test]
async fn minimum_payout_is_respected() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| {
        p["hold_days"] = json!(0);
        p["min_payout_minor"] = json!(5000);
    })
    .await;
    let ana = app.user("ana@example.org", "Ana").await;
    bound_customer(&app, &shop, &ana, "cus_1").await;
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "inv_1", "cus_1", 20_000),
    )
    .await
    .expect(201)
    .json();
    wait_status(&app, &shop, &commission_id(&sale), "approved").await;
    let path = format!("/api/v1/programs/{}/payouts", shop.id());
    let none = app
        .post(&path, Some(&shop.key), json!({}))
        .await
        .expect(200)
        .json();
    assert_eq!(none, json!([]));
    let list = app.get(&path, Some(&shop.key)).await.expect(200).json();
    assert!(list["balances"][0]["blocked"]
        .as_str()
        .unwrap()
        .contains("minimum"));
    app.stop().await;
}

#[actix_web::test]
async fn self_referral_is_held_and_skipped_by_the_approval_job_until_cleared() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["hold_days"] = json!(0)).await;
    let ana = app.user("ana@ana-consulting.example", "Ana").await;
    let gil = app.user("gil@gmail.com", "Gil").await;
    let ana_code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let gil_code = enroll(&app, &shop, &gil).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    // Same organisation domain as the advocate, and the advocate's own address.
    bind(&app, &shop, json!({"external_id": "c1", "referral_code": ana_code, "email": "Boss@Ana-Consulting.example"}))
        .await
        .expect(201);
    bind(
        &app,
        &shop,
        json!({"external_id": "c2", "referral_code": gil_code, "email": "gil@gmail.com"}),
    )
    .await
    .expect(201);
    // A stranger at the same public mail provider is fine.
    bind(
        &app,
        &shop,
        json!({"external_id": "c3", "referral_code": gil_code, "email": "someone@gmail.com"}),
    )
    .await
    .expect(201);

    let domain = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "c1", 10_000),
    )
    .await
    .expect(201)
    .json();
    let c1 = &domain["effect"]["commissions"][0];
    assert_eq!(c1["held"], true);
    assert!(c1["held_reason"]
        .as_str()
        .unwrap()
        .contains("ana-consulting.example"));
    let own = post_event(
        &app,
        &shop,
        event(&app, "e2", "invoice_paid", "i2", "c2", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(own["effect"]["commissions"][0]["held"], true);
    let fine = post_event(
        &app,
        &shop,
        event(&app, "e3", "invoice_paid", "i3", "c3", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(fine["effect"]["commissions"][0]["held"], false);

    // The job approves the clean one and skips the held ones, however long we wait.
    wait_status(&app, &shop, &commission_id(&fine), "approved").await;
    app.state.clock.advance(Duration::days(60));
    job_pass(&app).await;
    let held_id = commission_id(&domain);
    assert_eq!(
        commission_status(&app, &shop, &held_id).await["status"],
        "pending"
    );
    let held = app
        .get(
            &format!("/api/v1/programs/{}/commissions?held=true", shop.id()),
            Some(&shop.key),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(held.as_array().unwrap().len(), 2);

    // Clearing needs a person of the vendor: not an API key, not another vendor's staff.
    let clear_path = format!(
        "/api/v1/programs/{}/commissions/{held_id}/clear-hold",
        shop.id()
    );
    app.post(&clear_path, Some(&shop.key), json!({}))
        .await
        .expect(403);
    let manager = app.login(&shop.manager.email).await;
    let cleared = app
        .post(
            &clear_path,
            Some(&manager),
            json!({"note": "their client, checked"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(cleared["held"], false);
    wait_status(&app, &shop, &held_id, "approved").await;
    app.post(&clear_path, Some(&manager), json!({}))
        .await
        .expect(409);

    // The other one is rejected after review.
    let own_id = commission_id(&own);
    let rejected = app
        .post(
            &format!("/api/v1/programs/{}/commissions/{own_id}/reject", shop.id()),
            Some(&manager),
            json!({"reason": "bought through their own link"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(rejected["status"], "reversed");
    app.stop().await;
}

#[actix_web::test]
async fn commissions_only_within_commission_months_of_binding() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["commission_months"] = json!(2)).await;
    let ana = app.user("ana@example.org", "Ana").await;
    bound_customer(&app, &shop, &ana, "cus_1").await;
    app.state.clock.advance(Duration::days(50));
    let inside = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "cus_1", 1000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(inside["effect"]["outcome"], "commission_created");
    app.state.clock.advance(Duration::days(20));
    let outside = post_event(
        &app,
        &shop,
        event(&app, "e2", "invoice_paid", "i2", "cus_1", 1000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(outside["effect"]["outcome"], "no_commission");
    assert!(outside["effect"]["reason"]
        .as_str()
        .unwrap()
        .contains("commission months"));
    // An invoice of a customer nobody referred is stored but earns nothing.
    let stranger = post_event(
        &app,
        &shop,
        event(&app, "e3", "invoice_paid", "i3", "cus_x", 1000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(stranger["effect"]["outcome"], "no_commission");
    // The same invoice reported again under another event id earns once.
    let twice = post_event(
        &app,
        &shop,
        event(&app, "e4", "invoice_paid", "i1", "cus_1", 1000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(twice["effect"]["outcome"], "no_commission");
    assert_eq!(count(&app, "commissions").await, 1);
    app.stop().await;
}

#[actix_web::test]
async fn funnel_per_program_and_advocate() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["hold_days"] = json!(0)).await;
    let ana = app.user("ana@example.org", "Ana").await;
    let bob = app.user("bob@example.org", "Bob").await;
    let _carl = app.user("carl@example.org", "Carl").await;
    grant_credential(&app, &ana, "acme", "acme-admin", None).await;
    let ana_code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    enroll(&app, &shop, &bob).await;
    let c1 = click(&app, &ana_code).await;
    click(&app, &ana_code).await;
    app.client
        .get(app.url(&format!("/r/{ana_code}")))
        .header("User-Agent", "curl/8.5.0")
        .send()
        .await
        .unwrap();
    bind(&app, &shop, json!({"external_id": "cus_1", "click_id": c1}))
        .await
        .expect(201);
    app.state.clock.advance(Duration::minutes(1));
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "cus_1", 10_000),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(sale["effect"]["commissions"][0]["tier"], "certified");
    wait_status(&app, &shop, &commission_id(&sale), "approved").await;

    eventually("three clicks stored", WAIT, || async {
        (count(&app, "clicks").await == 3).then_some(())
    })
    .await;
    let funnel = app
        .get(
            &format!("/api/v1/programs/{}/funnel", shop.id()),
            Some(&shop.key),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(
        (
            funnel["clicks"].clone(),
            funnel["customers"].clone(),
            funnel["invoices"].clone(),
            funnel["commissions"].clone()
        ),
        (json!(2), json!(1), json!(1), json!(1)),
        "bots excluded: {funnel}"
    );
    let p = &funnel["practitioners"];
    assert_eq!(p["attempted"], 1);
    assert_eq!(p["certified"], 1);
    assert_eq!(p["enrolled"], 2);
    assert_eq!(p["earning"], 1);
    assert!(p["registered"].as_i64().unwrap() >= 5);
    let ana_row = funnel["advocates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["referral_code"] == ana_code.as_str())
        .unwrap()
        .clone();
    assert_eq!(ana_row["clicks"], 2);
    assert_eq!(ana_row["earned_minor"], 2000);
    // Practitioners can't read the program's funnel.
    app.get(
        &format!("/api/v1/programs/{}/funnel", shop.id()),
        Some(&bob.token),
    )
    .await
    .expect(403);
    app.stop().await;
}

#[actix_web::test]
async fn an_address_over_the_redirect_limit_is_still_redirected_but_counted_as_automated() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let limit = credo::ratelimit::REDIRECTS_PER_MINUTE as usize;
    let total = limit + 60;
    for batch in 0..(total / 20) {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let client = app.client.clone();
            let url = app.url(&format!("/r/{code}"));
            tasks.push(tokio::spawn(async move {
                client
                    .get(url)
                    .header(
                        "User-Agent",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                    )
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 302, "batch {batch}");
        }
    }
    eventually("every click stored", WAIT, || async {
        (count(&app, "clicks").await == total as i64).then_some(())
    })
    .await;
    let people = me(&app, &ana).await["clicks"].as_i64().unwrap() as usize;
    assert!(
        people >= limit && people < total,
        "{people} of {total} clicks counted as people"
    );
    app.stop().await;
}
