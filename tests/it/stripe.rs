//! Stripe hand-off (issue 14 items 1 and 2): paid exams through the vendor's Stripe checkout and
//! referral billing straight from Stripe's webhooks, at `POST /webhooks/stripe/{vendor}`.
//!
//! Signatures are computed here the way Stripe's libraries do (HMAC-SHA256 under the whole
//! `whsec_…` secret over `"<t>.<raw body>"`) and cross-checked with the official `stripe` Python
//! package (`tests/python/stripe_webhook.py`), which also signs some deliveries itself.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::exams::{publish, start, vendor_with_examiner, BankSpec, ExamVendor};
use crate::common::referrals::{click, count, enroll, page, shop, submit};
use crate::common::{csrf_token_in, Answer, TestApp, User};

const SECRET: &str = "whsec_test_5f1d0c9e8b7a6f5e4d3c2b1a09f8e7d6";
const PRICE: i64 = 15000;

/// `Stripe-Signature` computed as Stripe's libraries do.
fn stripe_header(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Runs the script off the runtime's thread, so the app's connections stay served meanwhile.
async fn python(args: &[&str], body: &[u8]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || run_python(&args, &body))
        .await
        .unwrap()
}

fn run_python(args: &[String], body: &[u8]) -> (bool, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/stripe_webhook.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/test installs the stripe package)");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the stripe package is missing: {stderr}"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

/// Stripe's own library accepts `header` for `body` (and returns the event id).
async fn stripe_accepts(header: &str, body: &[u8]) -> bool {
    let (ok, id) = python(&["verify", SECRET, header], body).await;
    if ok {
        let event: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(event["id"], id.as_str());
    }
    ok
}

/// A header made by Stripe's own library.
async fn stripe_signed(t: i64, body: &[u8]) -> String {
    let (ok, header) = python(&["sign", SECRET, &t.to_string()], body).await;
    assert!(ok, "stripe signs");
    header
}

fn now(app: &TestApp) -> i64 {
    app.state.clock.now().and_utc().timestamp()
}

fn event(id: &str, kind: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": id, "object": "event", "api_version": "2026-11-17.clover", "type": kind,
        "created": 1_796_000_000, "livemode": false, "data": {"object": object}
    }))
    .unwrap()
}

fn session(id: &str, order: &str, amount: i64, currency: &str, pi: &str) -> Value {
    json!({"id": id, "object": "checkout.session", "client_reference_id": order,
           "payment_status": "paid", "status": "complete", "amount_total": amount,
           "currency": currency, "payment_intent": pi, "customer": null, "mode": "payment",
           "customer_details": {"email": "candidate@example.org"}, "metadata": {}})
}

/// One delivery on a fresh connection (the Python calls block this thread for longer than the
/// server keeps idle connections).
async fn deliver(app: &TestApp, vendor: &str, body: &[u8], header: Option<&str>) -> Answer {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut request = client
        .post(app.url(&format!("/webhooks/stripe/{vendor}")))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_vec());
    if let Some(header) = header {
        request = request.header("Stripe-Signature", header);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        text: response.text().await.unwrap_or_default(),
    }
}

/// Delivers `body` signed now with the vendor's secret (our signature, checked by Stripe's).
async fn deliver_signed(app: &TestApp, vendor: &str, body: &[u8]) -> Value {
    let header = stripe_header(SECRET, now(app), body);
    deliver(app, vendor, body, Some(&header))
        .await
        .expect(200)
        .json()
}

async fn set_secret(app: &TestApp, vendor: &str, owner: &User) {
    let view = app
        .put(
            &format!("/api/v1/vendors/{vendor}/stripe"),
            Some(&owner.token),
            json!({"webhook_secret": SECRET}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(view["configured"], true);
    assert_eq!(view["secret_hint"], "whsec_…e7d6");
    assert!(!view.to_string().contains(SECRET));
    assert!(view["endpoint_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/webhooks/stripe/{vendor}")));
}

/// A vendor selling `paid-exam` for 150.00 EUR through a Payment Link, its Stripe secret set.
async fn seller(app: &TestApp) -> ExamVendor {
    let vendor = vendor_with_examiner(app, "acad").await;
    publish(app, &vendor, &BankSpec::paid("paid-exam", PRICE)).await;
    set_secret(app, "acad", &vendor.owner).await;
    let view = app
        .put(
            "/api/v1/vendors/acad/exams/paid-exam/checkout",
            Some(&vendor.owner.token),
            json!({"payment_link": "https://buy.stripe.com/test_4gw5kE", "amount_minor": PRICE, "currency": "EUR"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(view["payment_link"], "https://buy.stripe.com/test_4gw5kE");
    vendor
}

/// The candidate's pending order and the checkout URL carrying it.
async fn checkout(app: &TestApp, candidate: &User) -> String {
    let started = app
        .post(
            "/api/v1/exams/acad/paid-exam/checkout",
            Some(&candidate.token),
            json!({}),
        )
        .await
        .expect(201)
        .json();
    let order = started["order"].as_str().unwrap().to_string();
    let url = url::Url::parse(started["checkout_url"].as_str().unwrap()).unwrap();
    assert_eq!(url.host_str(), Some("buy.stripe.com"));
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert!(query.contains(&("client_reference_id".into(), order.clone())));
    assert!(query.contains(&("prefilled_email".into(), candidate.email.clone())));
    assert_eq!(started["amount_minor"], PRICE);
    order
}

async fn order_status(app: &TestApp, order: &str) -> (String, Option<String>) {
    let id = order.to_string();
    app.state
        .db(move |c| {
            credo::exams::store::find_order(c, &id)
                .map(|o| o.map(|o| (o.status.to_string(), o.attempt_id)).unwrap())
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_paid_session_pays_the_order_once_and_forged_deliveries_change_nothing() {
    let app = TestApp::start().await;
    seller(&app).await;
    let candidate = app.user("cand@example.org", "Candidate").await;
    start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(402);
    let order = checkout(&app, &candidate).await;
    // A second click on "Pay" reuses the pending order.
    assert_eq!(checkout(&app, &candidate).await, order);
    assert_eq!(order_status(&app, &order).await.0, "pending");

    let body = event(
        "evt_paid_1",
        "checkout.session.completed",
        session("cs_1", &order, PRICE, "eur", "pi_1"),
    );
    let t = now(&app);
    let good = stripe_header(SECRET, t, &body);
    // Our computation is what Stripe's library computes and accepts.
    assert_eq!(stripe_signed(t, &body).await, good);
    assert!(stripe_accepts(&good, &body).await);

    let mut tampered = body.clone();
    let at = tampered.windows(5).position(|w| w == b"15000").unwrap();
    tampered[at] = b'1';
    tampered[at + 1] = b'0';
    let wrong_secret = stripe_header("whsec_someone_else_0123456789abcdef", t, &body);
    let stale = stripe_header(SECRET, t - 301, &body);
    let future = stripe_header(SECRET, t + 400, &body);
    // Stripe's library refuses the same headers.
    assert!(!stripe_accepts(&good, &tampered).await);
    assert!(!stripe_accepts(&wrong_secret, &body).await);
    assert!(!stripe_accepts(&stale, &body).await);
    for (what, body, header) in [
        ("no header", &body, None),
        ("wrong secret", &body, Some(wrong_secret.as_str())),
        ("stale timestamp", &body, Some(stale.as_str())),
        ("future timestamp", &body, Some(future.as_str())),
        ("tampered body", &tampered, Some(good.as_str())),
        ("garbage header", &body, Some("v1=abc")),
    ] {
        let answer = deliver(&app, "acad", body, header).await;
        assert_eq!(answer.status.as_u16(), 400, "{what}: {}", answer.text);
        assert_eq!(answer.json()["status"], 400, "{what}");
        assert_eq!(order_status(&app, &order).await.0, "pending", "{what}");
    }
    assert_eq!(count(&app, "stripe_events").await, 0);
    start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(402);

    // Signed by Stripe's own library: accepted.
    let answer = deliver(
        &app,
        "acad",
        &body,
        Some(&stripe_signed(now(&app), &body).await),
    )
    .await
    .expect(200)
    .json();
    assert_eq!(answer["outcome"], "paid", "{answer}");
    assert_eq!(answer["order"], order.as_str());
    assert_eq!(answer["replayed"], false);
    assert_eq!(order_status(&app, &order).await.0, "paid");

    // The same event again (Stripe retries): nothing new.
    let again = deliver_signed(&app, "acad", &body).await;
    assert_eq!(again["replayed"], true, "{again}");
    assert_eq!(again["outcome"], "paid");
    assert_eq!(count(&app, "stripe_events").await, 1);
    assert_eq!(count(&app, "orders").await, 1);

    // The entitlement: the attempt starts and uses the order.
    let attempt = start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(201)
        .json();
    assert_eq!(
        order_status(&app, &order).await.1.as_deref(),
        attempt["id"].as_str()
    );
    // No checkout for a vendor that sells nothing, or a free exam.
    app.post(
        "/api/v1/exams/acad/nope/checkout",
        Some(&candidate.token),
        json!({}),
    )
    .await
    .expect(404);
    app.stop().await;
}

#[actix_web::test]
async fn twenty_concurrent_deliveries_of_one_event_pay_one_order() {
    let app = TestApp::start().await;
    seller(&app).await;
    let candidate = app.user("cand@example.org", "Candidate").await;
    let order = checkout(&app, &candidate).await;
    let body = event(
        "evt_storm",
        "checkout.session.completed",
        session("cs_storm", &order, PRICE, "eur", "pi_storm"),
    );
    let header = stripe_header(SECRET, now(&app), &body);
    let deliveries = (0..20).map(|_| deliver(&app, "acad", &body, Some(&header)));
    let answers = futures_util::future::join_all(deliveries).await;
    let mut fresh = 0;
    for answer in &answers {
        assert_eq!(answer.status.as_u16(), 200, "{}", answer.text);
        let json = answer.json();
        assert_eq!(json["outcome"], "paid", "{json}");
        if json["replayed"] == false {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one delivery applied the event");
    assert_eq!(count(&app, "stripe_events").await, 1);
    assert_eq!(count(&app, "orders").await, 1);
    assert_eq!(order_status(&app, &order).await.0, "paid");
    start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(201);
    // One order bought one attempt: the next needs another payment.
    app.stop().await;
}

#[actix_web::test]
async fn a_payment_that_does_not_match_the_price_is_held_for_the_vendor_to_see() {
    let app = TestApp::start().await;
    let vendor = seller(&app).await;
    let candidate = app.user("cand@example.org", "Candidate").await;
    for (n, (amount, currency)) in [(100, "eur"), (PRICE, "usd")].into_iter().enumerate() {
        let order = checkout(&app, &candidate).await;
        let body = event(
            &format!("evt_off_{n}"),
            "checkout.session.completed",
            session(
                &format!("cs_{n}"),
                &order,
                amount,
                currency,
                &format!("pi_{n}"),
            ),
        );
        let answer = deliver_signed(&app, "acad", &body).await;
        assert_eq!(answer["outcome"], "held", "{answer}");
        assert_eq!(order_status(&app, &order).await.0, "held");
        start(&app, &candidate, "acad", "paid-exam", json!({}))
            .await
            .expect(402);
    }
    let (browser, _) = app.browser_session(&vendor.owner.email).await;
    let (status, html) = page(&browser, &app, "/vendor/acad/stripe").await;
    assert_eq!(status, 200);
    assert_eq!(
        html.matches("held for review</strong>").count(),
        2,
        "{html}"
    );
    assert!(
        html.contains("paid 1.00 EUR (pi_0) but the order is for 150.00 EUR"),
        "{html}"
    );
    assert!(html.contains("whsec_…e7d6") && !html.contains(SECRET));
    // The price is typed in euros: a fraction of a cent is refused next to the field.
    assert!(html.contains("name=\"price\" type=\"text\" inputmode=\"decimal\" value=\"150.00\""));
    assert!(!html.contains("minor units"));
    let csrf = csrf_token_in(&html);
    let form = |price: &'static str| {
        [
            ("csrf_token", csrf.as_str()),
            ("payment_link", "https://buy.stripe.com/test_4gw5kE"),
            ("price", price),
            ("currency", "EUR"),
        ]
    };
    let path = "/vendor/acad/stripe/exams/paid-exam";
    let (status, _, html) = submit(&browser, &app, path, &form("149.505")).await;
    assert_eq!(status, 422);
    assert!(
        html.contains("id=\"price-error\">EUR amounts have 2 decimals"),
        "{html}"
    );
    let (status, location, _) = submit(&browser, &app, path, &form("149.5")).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/vendor/acad/stripe"))
    );
    let price = app
        .get("/api/v1/exams/acad/paid-exam", None)
        .await
        .expect(200)
        .json()["price"]
        .clone();
    assert_eq!(price, json!({"amount_minor": 14_950, "currency": "EUR"}));
    // Examiners don't see the owner's page.
    let (examiner_browser, _) = app.browser_session(&vendor.examiner.email).await;
    assert_eq!(
        page(&examiner_browser, &app, "/vendor/acad/stripe").await.0,
        403
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_full_refund_withdraws_an_unused_entitlement_and_leaves_a_taken_attempt() {
    let app = TestApp::start().await;
    seller(&app).await;
    let candidate = app.user("cand@example.org", "Candidate").await;
    let refund = |n: usize, full: bool| {
        let (refunded, previous) = if full { (PRICE, 0) } else { (5000, 0) };
        serde_json::to_vec(&json!({
            "id": format!("evt_refund_{n}_{full}"), "object": "event", "type": "charge.refunded",
            "created": 1_796_000_000,
            "data": {
                "object": {"id": format!("ch_{n}"), "object": "charge", "payment_intent": format!("pi_r{n}"),
                           "amount": PRICE, "amount_refunded": refunded, "refunded": full, "currency": "eur",
                           "invoice": null, "customer": null},
                "previous_attributes": {"amount_refunded": previous}
            }
        }))
        .unwrap()
    };
    // Paid, not used: a partial refund keeps it, a full refund withdraws it.
    let order = checkout(&app, &candidate).await;
    let paid = event(
        "evt_r0",
        "checkout.session.completed",
        session("cs_r0", &order, PRICE, "eur", "pi_r0"),
    );
    assert_eq!(deliver_signed(&app, "acad", &paid).await["outcome"], "paid");
    let partial = deliver_signed(&app, "acad", &refund(0, false)).await;
    assert_eq!(partial["outcome"], "partial_refund", "{partial}");
    assert_eq!(order_status(&app, &order).await.0, "paid");
    let full = deliver_signed(&app, "acad", &refund(0, true)).await;
    assert_eq!(full["outcome"], "refunded", "{full}");
    assert!(full["detail"].as_str().unwrap().contains("withdrawn"));
    assert_eq!(order_status(&app, &order).await.0, "refunded");
    start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(402);
    // The refund went nowhere near the advocate program.
    assert_eq!(count(&app, "billing_events").await, 0);

    // Paid and used: the refund marks the order, the attempt stands.
    let order = checkout(&app, &candidate).await;
    let paid = event(
        "evt_r1",
        "checkout.session.completed",
        session("cs_r1", &order, PRICE, "eur", "pi_r1"),
    );
    assert_eq!(deliver_signed(&app, "acad", &paid).await["outcome"], "paid");
    let attempt = start(&app, &candidate, "acad", "paid-exam", json!({}))
        .await
        .expect(201)
        .json();
    let full = deliver_signed(&app, "acad", &refund(1, true)).await;
    assert_eq!(full["outcome"], "refunded");
    assert!(full["detail"]
        .as_str()
        .unwrap()
        .contains(attempt["id"].as_str().unwrap()));
    let (status, used_by) = order_status(&app, &order).await;
    assert_eq!(
        (status.as_str(), used_by.as_deref()),
        ("refunded", attempt["id"].as_str())
    );

    // Event types Credo does not use are acknowledged and ignored.
    let other = deliver_signed(
        &app,
        "acad",
        &event(
            "evt_po",
            "payout.paid",
            json!({"id": "po_1", "object": "payout"}),
        ),
    )
    .await;
    assert_eq!(other["outcome"], "ignored");
    // A body that is not an event, correctly signed: 400.
    let junk = br#"{"hello": "world"}"#;
    let header = stripe_header(SECRET, now(&app), junk);
    deliver(&app, "acad", junk, Some(&header)).await.expect(400);
    app.stop().await;
}

#[actix_web::test]
async fn stripe_customers_and_invoices_earn_commissions_like_the_event_api() {
    let app = TestApp::start().await;
    let shop = shop(&app, "saas").await;
    let owner = User {
        id: String::new(),
        email: "owner@saas.example".into(),
        token: app.login("owner@saas.example").await,
    };
    set_secret(&app, "saas", &owner).await;
    let advocate = app.user("ada@advocates.example", "Ada").await;
    let code = enroll(&app, &shop, &advocate).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();

    // customer.created with the click in metadata binds the customer.
    let clicked = click(&app, &code).await;
    let created = deliver_signed(
        &app,
        "saas",
        &event(
            "evt_cus_1",
            "customer.created",
            json!({"id": "cus_1", "object": "customer", "email": "buyer@customer.example",
                   "metadata": {"credo_click": clicked}}),
        ),
    )
    .await;
    assert_eq!(created["outcome"], "bound", "{created}");
    assert_eq!(created["referral"]["external_id"], "cus_1");

    // A Checkout Session whose client_reference_id is a click binds its customer too.
    let clicked_again = click(&app, &code).await;
    let session_bound = deliver_signed(
        &app,
        "saas",
        &event(
            "evt_cs_click",
            "checkout.session.completed",
            json!({"id": "cs_sub", "object": "checkout.session", "client_reference_id": clicked_again,
                   "payment_status": "paid", "amount_total": 5000, "currency": "eur",
                   "customer": "cus_2", "mode": "subscription", "metadata": {}}),
        ),
    )
    .await;
    assert_eq!(session_bound["outcome"], "bound", "{session_bound}");
    assert_eq!(count(&app, "customers").await, 2);

    // invoice.paid: one commission at the member tier's 10 %.
    let paid_at = now(&app) - 60;
    let invoice = event(
        "evt_inv_1",
        "invoice.paid",
        json!({"id": "in_1", "object": "invoice", "customer": "cus_1", "amount_paid": 12345,
               "currency": "eur", "created": paid_at - 10, "status": "paid",
               "status_transitions": {"paid_at": paid_at}}),
    );
    let answer = deliver_signed(&app, "saas", &invoice).await;
    assert_eq!(answer["outcome"], "referral_event", "{answer}");
    let effect = &answer["referral"]["effect"];
    assert_eq!(effect["outcome"], "commission_created", "{answer}");
    let commission = &effect["commissions"][0];
    assert_eq!(commission["rate_bps"], 1000);
    assert_eq!(commission["base_minor"], 12345);
    assert_eq!(commission["amount_minor"], 1234);
    assert_eq!(answer["referral"]["source"], "stripe");
    assert_eq!(answer["referral"]["external_event_id"], "evt_inv_1");
    // Stripe retries: the same effect, nothing new.
    let replay = deliver_signed(&app, "saas", &invoice).await;
    assert_eq!(replay["replayed"], true, "{replay}");
    assert_eq!(count(&app, "commissions").await, 1);
    assert_eq!(count(&app, "billing_events").await, 1);

    // charge.refunded on that invoice: reversed before payout, as for the event API.
    let refund = serde_json::to_vec(&json!({
        "id": "evt_ref_1", "object": "event", "type": "charge.refunded", "created": now(&app) - 5,
        "data": {
            "object": {"id": "ch_1", "object": "charge", "invoice": "in_1", "customer": "cus_1",
                       "payment_intent": "pi_sub_1", "amount": 12345, "amount_refunded": 12345,
                       "refunded": true, "currency": "eur"},
            "previous_attributes": {"amount_refunded": 0, "refunded": false}
        }
    }))
    .unwrap();
    let reversed = deliver_signed(&app, "saas", &refund).await;
    assert_eq!(
        reversed["referral"]["effect"]["outcome"], "commission_reversed",
        "{reversed}"
    );
    assert_eq!(
        reversed["referral"]["effect"]["reversed"][0],
        commission["id"]
    );

    // Without the vendor's secret set, nothing is accepted.
    let body = event("evt_x", "customer.created", json!({"id": "cus_9"}));
    let header = stripe_header(SECRET, now(&app), &body);
    deliver(&app, "acad-none", &body, Some(&header))
        .await
        .expect(404);
    app.stop().await;
}
