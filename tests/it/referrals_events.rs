//! The billing-event inbox: idempotency under concurrency, the signed webhook, rounding through
//! the API, and bad input that must be a 4xx problem, never a 5xx.

use crate::common::referrals::*;
use crate::common::TestApp;
use serde_json::{json, Value};

async fn advocate_with_customer(app: &TestApp, shop: &Shop) {
    let ana = app.user("ana@example.org", "Ana").await;
    let code = enroll(app, shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    bind(
        app,
        shop,
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);
}

#[actix_web::test]
async fn fifty_concurrent_identical_events_make_exactly_one_commission() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    advocate_with_customer(&app, &shop).await;
    let body = event(
        &app,
        "evt_race",
        "invoice_paid",
        "inv_race",
        "cus_1",
        12_345,
    );
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/programs/{}/events", shop.id()));
        let key = shop.key.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(key)
                .json(&body)
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
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    let replayed = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(
        (created, replayed),
        (1, 49),
        "{:?}",
        answers.iter().map(|a| a.0).collect::<Vec<_>>()
    );
    // Every answer carries the same stored effect.
    let effects: std::collections::HashSet<String> = answers
        .iter()
        .map(|(_, a)| a["effect"].to_string())
        .collect();
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert!(
        answers
            .iter()
            .all(|(_, a)| a["effect"]["commissions"][0]["amount_minor"] == 1234),
        "1234.5 rounds to even"
    );
    assert_eq!(count(&app, "billing_events").await, 1);
    assert_eq!(count(&app, "commissions").await, 1);
    assert_eq!(count(&app, "commission_transitions").await, 1);
    app.stop().await;
}

#[actix_web::test]
async fn commission_rounds_half_to_even_through_the_api() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    advocate_with_customer(&app, &shop).await;
    // Base tier 10 %: 25 → 2.5 → 2, 35 → 3.5 → 4, 5 → 0.5 → 0, 1 → 0, 9999 → 999.9 → 1000.
    for (i, (base, expected)) in [
        (25_i64, 2_i64),
        (35, 4),
        (5, 0),
        (1, 0),
        (9_999, 1000),
        (i64::MAX, 922_337_203_685_477_581_i64),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = post_event(
            &app,
            &shop,
            event(
                &app,
                &format!("e{i}"),
                "invoice_paid",
                &format!("i{i}"),
                "cus_1",
                base,
            ),
        )
        .await
        .expect(201)
        .json();
        assert_eq!(
            answer["effect"]["commissions"][0]["amount_minor"],
            json!(expected),
            "base {base}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_same_event_again_is_a_no_op_with_the_same_effect() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    advocate_with_customer(&app, &shop).await;
    let body = event(&app, "evt_1", "invoice_paid", "inv_1", "cus_1", 15_000);
    let first = post_event(&app, &shop, body.clone())
        .await
        .expect(201)
        .json();
    let again = post_event(&app, &shop, body.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(first["effect"], again["effect"]);
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["replayed"], true);
    // Reusing the id for different content is refused rather than silently ignored.
    let mut changed = body.clone();
    changed["amount_minor"] = json!(99_999);
    post_event(&app, &shop, changed).await.expect(409);
    // The same external id from another source is another event.
    let mut other_source = body;
    other_source["source"] = json!("stripe");
    let other = post_event(&app, &shop, other_source)
        .await
        .expect(201)
        .json();
    assert_eq!(
        other["effect"]["outcome"], "no_commission",
        "the invoice already earned"
    );
    assert_eq!(count(&app, "commissions").await, 1);
    app.stop().await;
}

#[actix_web::test]
async fn webhook_checks_signature_and_window_and_ignores_replays() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    advocate_with_customer(&app, &shop).await;
    let secret = shop.secret();
    assert!(secret.starts_with("whsec_"));
    let body = serde_json::to_vec(&event(
        &app,
        "wh_1",
        "invoice_paid",
        "inv_1",
        "cus_1",
        15_000,
    ))
    .unwrap();

    // Missing, forged, stale, malformed, tampered: 401 problems, nothing stored.
    let none = post_webhook(&app, &shop, &body, None).await.expect(401);
    assert_eq!(
        none.json()["type"],
        "https://credo.dev/problems/bad-signature"
    );
    post_webhook(
        &app,
        &shop,
        &body,
        Some(signature(&app, "whsec_wrong", &body, 0)),
    )
    .await
    .expect(401);
    let stale = post_webhook(
        &app,
        &shop,
        &body,
        Some(signature(&app, &secret, &body, -301)),
    )
    .await
    .expect(401);
    assert!(stale.json()["detail"].as_str().unwrap().contains("300 s"));
    post_webhook(
        &app,
        &shop,
        &body,
        Some(signature(&app, &secret, &body, 400)),
    )
    .await
    .expect(401);
    post_webhook(&app, &shop, &body, Some("t=abc,v1=00".into()))
        .await
        .expect(401);
    let mut tampered = body.clone();
    let signed = signature(&app, &secret, &body, 0);
    tampered.extend_from_slice(b" ");
    post_webhook(&app, &shop, &tampered, Some(signed))
        .await
        .expect(401);
    assert_eq!(count(&app, "billing_events").await, 0);

    // A valid signature inside the window is accepted.
    let first = post_webhook(
        &app,
        &shop,
        &body,
        Some(signature(&app, &secret, &body, -299)),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(first["effect"]["outcome"], "commission_created");

    // The same body replayed later with a fresh valid signature: no second commission.
    app.state.clock.advance(chrono::Duration::minutes(10));
    let replay = post_webhook(&app, &shop, &body, Some(signature(&app, &secret, &body, 0)))
        .await
        .expect(200)
        .json();
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["effect"], first["effect"]);
    assert_eq!(count(&app, "commissions").await, 1);

    // Another program's secret does not open this program's webhook.
    let other = shop_with(&app, "globex", |_| {}).await;
    post_webhook(
        &app,
        &shop,
        &body,
        Some(signature(&app, &other.secret(), &body, 0)),
    )
    .await
    .expect(401);
    app.stop().await;
}

#[actix_web::test]
async fn bad_input_is_a_4xx_problem_never_a_5xx() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let other = shop_with(&app, "globex", |p| p["currency"] = json!("USD")).await;
    advocate_with_customer(&app, &shop).await;
    let path = format!("/api/v1/programs/{}/events", shop.id());
    let good = event(&app, "e", "invoice_paid", "i", "cus_1", 1000);
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        serde_json::to_vec(&body).unwrap()
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        serde_json::to_vec(&body).unwrap()
    };
    let raw = |text: &str| text.as_bytes().to_vec();
    let amount_text = |amount: &str| {
        let text = serde_json::to_string(&good).unwrap();
        text.replace(
            "\"amount_minor\":1000",
            &format!("\"amount_minor\":{amount}"),
        )
        .into_bytes()
    };

    struct Case {
        name: &'static str,
        key: String,
        content_type: &'static str,
        body: Vec<u8>,
        status: u16,
        field: Option<&'static str>,
    }
    let case = |name, body, status, field| Case {
        name,
        key: shop.key.clone(),
        content_type: "application/json",
        body,
        status,
        field,
    };
    let cases = vec![
        case(
            "unknown currency",
            with("currency", json!("XYZ")),
            422,
            Some("currency"),
        ),
        case(
            "lower-case currency",
            with("currency", json!("eur")),
            422,
            Some("currency"),
        ),
        case(
            "other currency than the program's",
            with("currency", json!("USD")),
            422,
            Some("currency"),
        ),
        case(
            "negative amount",
            with("amount_minor", json!(-100)),
            422,
            Some("amount_minor"),
        ),
        case(
            "zero amount",
            with("amount_minor", json!(0)),
            422,
            Some("amount_minor"),
        ),
        case(
            "amount over i64",
            amount_text("9223372036854775808"),
            422,
            Some("amount_minor"),
        ),
        case(
            "amount far over i64",
            amount_text("99999999999999999999999"),
            422,
            Some("amount_minor"),
        ),
        case(
            "fractional amount",
            amount_text("10.5"),
            422,
            Some("amount_minor"),
        ),
        case(
            "amount as text",
            with("amount_minor", json!("1000")),
            422,
            Some("amount_minor"),
        ),
        case(
            "missing amount",
            without("amount_minor"),
            422,
            Some("amount_minor"),
        ),
        case("missing source", without("source"), 422, Some("source")),
        case(
            "missing event id",
            without("external_event_id"),
            422,
            Some("external_event_id"),
        ),
        case(
            "missing invoice",
            without("invoice_id"),
            422,
            Some("invoice_id"),
        ),
        case(
            "missing customer",
            without("customer_external_id"),
            422,
            Some("customer_external_id"),
        ),
        case(
            "missing time",
            without("occurred_at"),
            422,
            Some("occurred_at"),
        ),
        case(
            "bad time",
            with("occurred_at", json!("yesterday")),
            422,
            Some("occurred_at"),
        ),
        case(
            "future time",
            with("occurred_at", json!("2999-01-01T00:00:00Z")),
            422,
            Some("occurred_at"),
        ),
        case(
            "unknown kind",
            with("kind", json!("chargeback")),
            422,
            Some("kind"),
        ),
        case(
            "exam fee",
            with("kind", json!("exam_fee")),
            422,
            Some("kind"),
        ),
        case(
            "voucher purchase",
            with("kind", json!("voucher_purchase")),
            422,
            Some("kind"),
        ),
        case(
            "recruiting bonus",
            with("kind", json!("recruiting_bonus")),
            422,
            Some("kind"),
        ),
        case("missing kind", without("kind"), 422, Some("kind")),
        case("empty object", raw("{}"), 422, Some("source")),
        case("not an object", raw("[1,2]"), 422, None),
        case("not JSON", raw("{\"kind\": "), 400, None),
        case("empty body", raw(""), 400, None),
        case("huge body", vec![b' '; 300 * 1024], 413, None),
        Case {
            content_type: "text/plain",
            ..case(
                "wrong content type",
                serde_json::to_vec(&good).unwrap(),
                415,
                None,
            )
        },
        Case {
            key: other.key.clone(),
            ..case(
                "another vendor's API key",
                serde_json::to_vec(&good).unwrap(),
                403,
                None,
            )
        },
        Case {
            key: "credo_sk_nope".into(),
            ..case(
                "unknown API key",
                serde_json::to_vec(&good).unwrap(),
                401,
                None,
            )
        },
    ];
    for c in cases {
        let answer = app
            .post_raw(&path, Some(&c.key), c.content_type, c.body)
            .await;
        assert_eq!(
            answer.status.as_u16(),
            c.status,
            "{}: {}",
            c.name,
            answer.text
        );
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{}",
            c.name
        );
        if let Some(field) = c.field {
            assert!(
                answer.error_fields().contains(&field.to_string()),
                "{}: {:?}",
                c.name,
                answer.error_fields()
            );
        }
    }
    // All missing fields are reported at once.
    let all = app
        .post_raw(&path, Some(&shop.key), "application/json", b"{}".to_vec())
        .await;
    assert_eq!(all.error_fields().len(), 8, "{:?}", all.error_fields());
    // Unknown program, and another vendor's program addressed with this vendor's key.
    app.post(
        "/api/v1/programs/nope/events",
        Some(&shop.key),
        good.clone(),
    )
    .await
    .expect(404);
    app.post(
        &format!("/api/v1/programs/{}/events", other.id()),
        Some(&shop.key),
        good.clone(),
    )
    .await
    .expect(403);
    app.post(&path, None, good).await.expect(401);
    assert_eq!(count(&app, "billing_events").await, 0);
    app.stop().await;
}
