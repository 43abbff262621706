//! Outbound webhooks (Standard Webhooks): a real HTTP receiver (`tests/python/webhook_receiver.py`)
//! verifies every delivery with the `standardwebhooks` package; every event type arrives; a
//! receiver that is down gets every event once it is back; several nodes on one database deliver
//! each event exactly once.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde_json::{json, Value};

use crate::common::exams::{pass_exam, publish, vendor_with_examiner, BankSpec, ExamVendor};
use crate::common::process::{ChildConfig, ChildServer};
use crate::common::referrals::{
    bind, enroll, ensure_exam, event, grant_credential, post_event, program_body, vendor_id, Shop,
};
use crate::common::{eventually, free_port, TestApp, User};

const WAIT: StdDuration = StdDuration::from_secs(30);

/// The Python receiver: verifies with `standardwebhooks`, logs one JSON line per request.
struct Receiver {
    child: Child,
    log: PathBuf,
}

impl Receiver {
    fn start(port: u16, secret: &str, log: &Path, delay_ms: u32) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/webhook_receiver.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(secret)
            .arg(log)
            .args(["--delay-ms", &delay_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 tests/python/webhook_receiver.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the receiver did not start (is standardwebhooks installed? scripts/test installs it)"
        );
        Receiver {
            child,
            log: log.to_path_buf(),
        }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn entries(&self) -> Vec<Value> {
        entries(&self.log)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn entries(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Verified deliveries by `webhook-id`, failing on a duplicate or a rejected one.
fn verified_once(entries: &[Value]) -> HashMap<String, Value> {
    let mut seen = HashMap::new();
    for entry in entries {
        assert_eq!(
            entry["ok"], true,
            "the receiver rejected a delivery: {entry}"
        );
        let id = entry["id"].as_str().unwrap().to_string();
        assert!(
            seen.insert(id.clone(), entry.clone()).is_none(),
            "{id} was delivered twice"
        );
    }
    seen
}

fn hooks_app() -> crate::common::TestAppBuilder {
    TestApp::builder()
        .env("CREDO_WEBHOOK_ALLOW_HTTP", "true")
        .env("CREDO_WEBHOOK_ALLOW_PRIVATE", "true")
}

async fn create_endpoint(
    app: &TestApp,
    vendor: &str,
    owner: &User,
    port: u16,
    events: Value,
) -> Value {
    app.post(
        &format!("/api/v1/vendors/{vendor}/webhooks"),
        Some(&owner.token),
        json!({"url": format!("http://127.0.0.1:{port}/hooks"), "events": events}),
    )
    .await
    .expect(201)
    .json()
}

/// The endpoint's deliveries, read with a fresh session (tests move the clock past sessions).
async fn deliveries(app: &TestApp, vendor: &str, owner: &User, endpoint: &str) -> Vec<Value> {
    let token = app.login(&owner.email).await;
    app.get(
        &format!("/api/v1/vendors/{vendor}/webhooks/{endpoint}/deliveries"),
        Some(&token),
    )
    .await
    .expect(200)
    .json()
    .as_array()
    .unwrap()
    .clone()
}

/// Waits until the endpoint's `count` deliveries are all marked delivered (each is marked after
/// the receiver answered it, by the one sender holding its lease).
async fn all_delivered(app: &TestApp, endpoint: &str, count: usize) {
    eventually(
        "every delivery marked delivered",
        StdDuration::from_secs(60),
        || {
            let (state, endpoint) = (app.state.clone(), endpoint.to_string());
            async move {
                let statuses: Vec<String> = state
                    .db(move |conn| {
                        use credo::db::schema::webhook_deliveries::dsl::*;
                        use diesel::prelude::*;
                        webhook_deliveries
                            .filter(endpoint_id.eq(endpoint))
                            .select(status)
                            .load(conn)
                            .map_err(credo::db::DbError::from)
                    })
                    .await
                    .unwrap();
                (statuses.len() == count && statuses.iter().all(|s| s == "delivered")).then_some(())
            }
        },
    )
    .await;
}

/// One webhook job pass, driven by the test (the background loop runs too; leases keep them apart).
async fn pass(app: &TestApp) {
    let sender = credo::webhooks::sender::Sender::new(&app.state.config.webhooks).unwrap();
    credo::jobs::webhooks::run_once(app.state.clone(), Arc::new(sender))
        .await
        .unwrap();
}

/// A vendor with an exam, an examiner, and an advocate program (hold 0 days) run by its owner.
async fn vendor_with_program(app: &TestApp, slug: &str) -> (ExamVendor, Shop) {
    let vendor = vendor_with_examiner(app, slug).await;
    publish(app, &vendor, &BankSpec::free("basics")).await;
    let mut body = program_body("basics");
    body["hold_days"] = json!(0);
    let program = app
        .put(
            &format!("/api/v1/vendors/{slug}/program"),
            Some(&vendor.owner.token),
            body,
        )
        .await
        .expect(200)
        .json();
    let shop = Shop {
        vendor_id: vendor_id(app, slug).await,
        manager: vendor.owner.clone(),
        key: app.api_key(slug, &vendor.owner).await,
        program,
    };
    (vendor, shop)
}

#[actix_web::test]
async fn every_event_type_arrives_signed_and_verifies_with_the_standard_webhooks_package() {
    let app = hooks_app().start().await;
    let (acme, shop) = vendor_with_program(&app, "acme").await;
    let port = free_port();
    let endpoint = create_endpoint(&app, "acme", &acme.owner, port, json!([])).await;
    let secret = endpoint["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(endpoint["events"].as_array().unwrap().len(), 6);
    // The secret is shown once: never in the listing, never in the clear in the database.
    let listed = app
        .get("/api/v1/vendors/acme/webhooks", Some(&acme.owner.token))
        .await
        .expect(200)
        .text;
    assert!(!listed.contains(&secret) && listed.contains("127.0.0.1"));
    let stored: Vec<String> = {
        use credo::db::schema::webhook_endpoints;
        use diesel::prelude::*;
        app.state
            .db(|c| {
                webhook_endpoints::table
                    .select(webhook_endpoints::secret_sealed)
                    .load(c)
                    .map_err(credo::db::DbError::from)
            })
            .await
            .unwrap()
    };
    assert!(stored.iter().all(|s| !s.contains(&secret[6..])));

    let log = app.dir.path().join("received.jsonl");
    let receiver = Receiver::start(port, &secret, &log, 0);

    // attempt.graded and credential.issued, through the real exam path.
    let ana = app.user("ana@example.org", "Ana Advocate").await;
    let passed = pass_exam(&app, &ana, "acme", "basics").await;
    let ana_credential = passed["credential_id"].as_str().unwrap().to_string();
    // credential.revoked, through the revoke route.
    let ben = app.user("ben@example.org", "Ben").await;
    let ben_credential = pass_exam(&app, &ben, "acme", "basics").await["credential_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{ben_credential}/revoke"),
        Some(&acme.examiner.token),
        json!({"reason": "exam content leaked"}),
    )
    .await
    .expect(200);
    // commission.approved (hold 0 days: the approval job approves it) and payout.paid.
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);
    let sale = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "inv_1", "cus_1", 20_000),
    )
    .await
    .expect(201)
    .json();
    let commission = sale["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let payouts_path = format!("/api/v1/programs/{}/payouts", shop.id());
    let payout = eventually("the commission approved and paid out", WAIT, || async {
        let created = app
            .post(&payouts_path, Some(&shop.manager.token), json!({}))
            .await;
        (created.status == 201).then(|| created.json()[0]["id"].as_str().unwrap().to_string())
    })
    .await;
    app.post(
        &format!("/api/v1/payouts/{payout}/paid"),
        Some(&shop.manager.token),
        json!({"reference": "SEPA-1"}),
    )
    .await
    .expect(200);
    // Two issued, one revoked, two graded, one commission, one payout.
    eventually("seven deliveries", WAIT, || async {
        (receiver.entries().len() >= 7).then_some(())
    })
    .await;
    // credential.expired: a year and a bit later (validity 12 months); Ben's was revoked.
    app.state.clock.advance(Duration::days(370));
    let all = eventually("the expiry delivery", WAIT, || async {
        let got = receiver.entries();
        (got.len() >= 8).then_some(got)
    })
    .await;
    // Nothing more comes once every job has had another pass: every event once.
    crate::common::job_pass(&app).await;
    assert_eq!(receiver.entries().len(), all.len());
    let by_id = verified_once(&receiver.entries());
    let mut by_type: HashMap<String, Vec<Value>> = HashMap::new();
    for entry in by_id.values() {
        by_type
            .entry(entry["type"].as_str().unwrap().to_string())
            .or_default()
            .push(entry["payload"].clone());
    }
    let subjects = |kind: &str| -> HashSet<String> {
        by_type
            .get(kind)
            .unwrap_or_else(|| panic!("no {kind} in {by_type:?}"))
            .iter()
            .map(|p| {
                let data = &p["data"];
                ["credential_id", "attempt_id", "commission_id", "payout_id"]
                    .iter()
                    .find_map(|k| data[k].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<HashSet<_>>();
    let attempt = passed["id"].as_str().map(str::to_owned);
    assert_eq!(
        subjects("credential.issued"),
        ids(&[&ana_credential, &ben_credential])
    );
    assert_eq!(subjects("credential.revoked"), ids(&[&ben_credential]));
    assert_eq!(subjects("credential.expired"), ids(&[&ana_credential]));
    assert_eq!(subjects("attempt.graded").len(), 2, "{attempt:?}");
    assert_eq!(subjects("commission.approved"), ids(&[&commission]));
    assert_eq!(subjects("payout.paid"), ids(&[&payout]));
    assert_eq!(by_id.len(), 8);
    let revoked = &by_type["credential.revoked"][0]["data"];
    assert_eq!(revoked["revocation_reason"], "exam content leaked");
    assert_eq!(revoked["holder"]["email"], "ben@example.org");
    let graded = by_type["attempt.graded"]
        .iter()
        .find(|p| p["data"]["candidate"]["email"] == "ana@example.org")
        .unwrap();
    assert_eq!(graded["data"]["passed"], true);
    assert_eq!(graded["data"]["credential_id"], ana_credential.as_str());
    assert_eq!(by_type["payout.paid"][0]["data"]["reference"], "SEPA-1");
    assert!(by_type["payout.paid"][0]["data"]["amount_minor"].as_i64() > Some(0));

    // The console lists the deliveries with status, attempts and the last response code.
    let endpoint_id = endpoint["id"].as_str().unwrap();
    let listed = deliveries(&app, "acme", &acme.owner, endpoint_id).await;
    assert_eq!(listed.len(), 8);
    assert!(listed
        .iter()
        .all(|d| d["status"] == "delivered" && d["attempts"] == 1 && d["last_status"] == 204));

    // After a rotation the receiver, still holding the old secret, refuses the signature (the
    // check is real); with the new secret the retried delivery verifies.
    let owner_token = app.login(&acme.owner.email).await;
    let rotated = app
        .post(
            &format!("/api/v1/vendors/acme/webhooks/{endpoint_id}/secret"),
            Some(&owner_token),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    let new_secret = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new_secret, secret);
    let cid = app.user("cid@example.org", "Cid").await;

    pass_exam(&app, &cid, "acme", "basics").await;
    eventually("a refused delivery", WAIT, || async {
        receiver
            .entries()
            .iter()
            .any(|e| e["ok"] == false)
            .then_some(())
    })
    .await;
    let refused = eventually("the refusal recorded", WAIT, || async {
        deliveries(&app, "acme", &acme.owner, endpoint_id)
            .await
            .into_iter()
            .find(|d| d["last_status"] == 400 && d["status"] == "pending")
    })
    .await;
    receiver.stop();
    let log2 = app.dir.path().join("received-2.jsonl");
    let receiver = Receiver::start(port, &new_secret, &log2, 0);
    app.state.clock.advance(Duration::hours(2));
    eventually("the retried deliveries", WAIT, || async {
        (receiver.entries().len() >= 2).then_some(())
    })
    .await;
    let retried = verified_once(&receiver.entries());
    assert!(
        retried.contains_key(refused["id"].as_str().unwrap()),
        "{retried:?}"
    );

    // The console page shows the endpoint and its deliveries with a resend button.
    let (browser, _) = app.browser_session(&acme.owner.email).await;
    let page = browser
        .get(app.url("/vendor/acme/webhooks"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("http://127.0.0.1:{port}/hooks")),
        "{page}"
    );
    assert!(
        page.contains("HTTP 204") && page.contains("Resend"),
        "{page}"
    );
    assert!(!page.contains(&new_secret));
    app.stop().await;
}

#[actix_web::test]
async fn a_receiver_down_for_a_while_gets_every_event_once_it_returns() {
    // Retries start one minute apart (doubling, at most an hour) and stop after the day.
    let app = hooks_app()
        .env("CREDO_WEBHOOK_RETRY_BASE_MS", "60000")
        .start()
        .await;
    let owner = app.user("owner@down.example", "Owner").await;
    app.vendor("down", &owner).await;
    ensure_exam(&app, "down", "ops").await;
    let port = free_port();
    let endpoint = create_endpoint(&app, "down", &owner, port, json!(["credential.issued"])).await;
    let (endpoint_id, secret) = (
        endpoint["id"].as_str().unwrap().to_string(),
        endpoint["secret"].as_str().unwrap().to_string(),
    );
    let holder = app.user("holder@example.org", "Holder").await;
    let mut credentials = HashSet::new();
    for _ in 0..5 {
        credentials.insert(grant_credential(&app, &holder, "down", "ops", None).await);
    }
    // Nobody listens: an hour of failed attempts, each answered by nothing.
    for _ in 0..6 {
        pass(&app).await;
        app.state.clock.advance(Duration::minutes(10));
    }
    pass(&app).await;
    let waiting = deliveries(&app, "down", &owner, &endpoint_id).await;
    assert_eq!(waiting.len(), 5);
    for d in &waiting {
        assert_eq!(d["status"], "pending", "{d}");
        assert!(d["attempts"].as_i64().unwrap() >= 3, "{d}");
        assert!(
            d["last_status"].is_null() && d["last_error"].is_string(),
            "{d}"
        );
    }
    // Back up: every event arrives, once.
    let log = app.dir.path().join("received.jsonl");
    let receiver = Receiver::start(port, &secret, &log, 0);
    app.state.clock.advance(Duration::hours(1));
    pass(&app).await;
    // A delivery is marked delivered after its answer; then one more pass sends nothing again.
    all_delivered(&app, &endpoint_id, 5).await;
    pass(&app).await;
    let got = verified_once(&receiver.entries());
    let subjects: HashSet<String> = got
        .values()
        .map(|e| e["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects, credentials);
    let ids: HashSet<String> = waiting
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        got.keys().cloned().collect::<HashSet<_>>(),
        ids,
        "the webhook-id is stable across retries"
    );

    // Down for more than the day: the delivery fails for good; the owner resends it later, with
    // the same webhook-id.
    receiver.stop();
    let late = grant_credential(&app, &holder, "down", "ops", None).await;
    pass(&app).await;
    app.state.clock.advance(Duration::hours(25));
    pass(&app).await;
    let failed = eventually("the delivery given up", WAIT, || async {
        deliveries(&app, "down", &owner, &endpoint_id)
            .await
            .into_iter()
            .find(|d| d["subject_id"] == late.as_str() && d["status"] == "failed")
    })
    .await;
    let receiver = Receiver::start(port, &secret, &app.dir.path().join("again.jsonl"), 0);
    pass(&app).await;
    assert!(
        receiver.entries().is_empty(),
        "a failed delivery is not retried by itself"
    );
    let failed_id = failed["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/vendors/down/webhook-deliveries/{failed_id}/resend"),
        Some(&app.login(&owner.email).await),
        json!({}),
    )
    .await
    .expect(202);
    eventually("the resent delivery", WAIT, || async {
        (!receiver.entries().is_empty()).then_some(())
    })
    .await;
    let resent = verified_once(&receiver.entries());
    assert_eq!(
        resent.keys().map(String::as_str).collect::<Vec<_>>(),
        vec![failed_id]
    );
    // Another vendor's owner cannot see or resend it.
    let other = app.user("owner@other.example", "Other").await;
    app.vendor("other", &other).await;
    app.post(
        &format!("/api/v1/vendors/other/webhook-deliveries/{failed_id}/resend"),
        Some(&other.token),
        json!({}),
    )
    .await
    .expect(404);
    app.stop().await;
}

#[actix_web::test]
async fn endpoints_refuse_plain_http_and_private_addresses_by_default() {
    let app = TestApp::start().await;
    let owner = app.user("owner@strict.example", "Owner").await;
    app.vendor("strict", &owner).await;
    for (url, fragment) in [
        ("http://hooks.example.com/x", "https://"),
        ("https://127.0.0.1:9000/x", "not a public address"),
        ("https://10.0.0.8/x", "not a public address"),
        ("https://localhost/x", "not a public address"),
        ("not a url", "absolute URL"),
    ] {
        let answer = app
            .post(
                "/api/v1/vendors/strict/webhooks",
                Some(&owner.token),
                json!({"url": url}),
            )
            .await
            .expect(422);
        assert_eq!(answer.error_fields(), vec!["url"], "{url}");
        assert!(answer.text.contains(fragment), "{url}: {}", answer.text);
    }
    app.post(
        "/api/v1/vendors/strict/webhooks",
        Some(&owner.token),
        json!({"url": "https://hooks.example.com/x", "events": ["credential.minted"]}),
    )
    .await
    .expect(422);
    // Examiners are staff but not owners.
    let examiner = app.user("examiner@strict.example", "Examiner").await;
    app.add_member("strict", &owner, &examiner, "examiner")
        .await;
    app.get("/api/v1/vendors/strict/webhooks", Some(&examiner.token))
        .await
        .expect(403);
    app.stop().await;
}

#[actix_web::test]
async fn two_nodes_on_one_database_deliver_each_event_exactly_once() {
    // The test's own instance only sets up (its jobs pass once, then wait ten minutes).
    let app = hooks_app()
        .env("CREDO_JOB_INTERVAL_MS", "600000")
        .start()
        .await;
    let owner = app.user("owner@nodes.example", "Owner").await;
    app.vendor("nodes", &owner).await;
    ensure_exam(&app, "nodes", "ops").await;
    let port = free_port();
    let endpoint = create_endpoint(&app, "nodes", &owner, port, json!([])).await;
    // A slow receiver, so both nodes have deliveries in flight at once.
    let log = app.dir.path().join("received.jsonl");
    let receiver = Receiver::start(port, endpoint["secret"].as_str().unwrap(), &log, 30);
    let (database_url, dir, smtp_url) = (
        app.database_url.clone(),
        app.dir.path().to_path_buf(),
        app.smtp.url(),
    );
    let nodes = tokio::task::spawn_blocking(move || {
        let node = |name: &str| {
            ChildServer::start(&ChildConfig {
                database_url: &database_url,
                data_dir: &dir.join(name),
                smtp_url: &smtp_url,
                extra_env: vec![
                    ("CREDO_WEBHOOK_ALLOW_HTTP", "true".into()),
                    ("CREDO_WEBHOOK_ALLOW_PRIVATE", "true".into()),
                ],
            })
        };
        [node("a"), node("b")]
    })
    .await
    .unwrap();
    let holder = app.user("holder@example.org", "Holder").await;
    let count = 40;
    for _ in 0..count {
        grant_credential(&app, &holder, "nodes", "ops", None).await;
    }
    let endpoint_id = endpoint["id"].as_str().unwrap();
    all_delivered(&app, endpoint_id, count).await;
    // Stop both nodes (SIGTERM, waiting for them to exit): nothing of theirs is in flight any
    // more. Then one pass of this instance's webhook job: nothing is left to send.
    let nodes = tokio::task::spawn_blocking(move || {
        let mut nodes = nodes;
        for node in &mut nodes {
            node.terminate();
        }
        nodes
    })
    .await
    .unwrap();
    pass(&app).await;
    let got = verified_once(&receiver.entries());
    assert_eq!(got.len(), count);
    for node in &nodes {
        assert!(
            node.logs().contains("webhook delivered"),
            "a node delivered nothing:\n{}",
            node.logs()
        );
    }
    app.stop().await;
}
