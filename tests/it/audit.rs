//! The audit trail: every privileged operation of the OpenAPI document writes one row naming the
//! actor, the time and the address; rows can't be changed; owners read their vendor's trail as
//! JSON pages, CSV and a console page, operators everyone's.

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::exams::{pass_exam, upload_toml, BankSpec};
use crate::common::referrals::{commission_status, program_body, rfc3339, Shop};
use crate::common::{eventually, Answer, TestApp, User};
use credo::audit::EventView;

const WAIT: StdDuration = StdDuration::from_secs(10);

/// Every audit row, newest first, read through the application's pool.
async fn trail(app: &TestApp) -> Vec<EventView> {
    app.state
        .db(|c| credo::audit::store::page(c, None, i64::MAX, 0).map_err(credo::db::DbError::from))
        .await
        .unwrap()
}

/// The privileged operations of the served OpenAPI document: operationId → (method, path).
async fn privileged_operations(app: &TestApp) -> Vec<(String, String, String)> {
    let doc = app.get("/api/openapi.json", None).await.expect(200).json();
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let privileged = op.get("x-credo-privileged") == Some(&json!(true));
            let public = op.get("security") == Some(&json!([]));
            if method != "get" && !public {
                // Every authenticated write decides: audited, or a stated reason why not.
                assert!(
                    privileged ^ op.get("x-credo-not-audited").is_some_and(Value::is_string),
                    "{method} {path}: mark it x-credo-privileged or say why it is x-credo-not-audited"
                );
            }
            if privileged {
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path}: privileged without operationId"));
                found.push((id.to_string(), method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(found.len() >= 15, "privileged operations: {found:?}");
    found
}

/// Whether a concrete path fits an OpenAPI path template (`{name}` matches one segment).
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap();
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

enum Body {
    Json(Value),
    Toml(String),
    /// Raw bytes with their content type, sent with the operation's method.
    Raw(&'static str, Vec<u8>),
    Empty,
}

/// Drives the privileged operations one by one and checks each wrote its audit row.
struct Driver<'a> {
    app: &'a TestApp,
    operations: Vec<(String, String, String)>,
    driven: BTreeSet<String>,
}

impl Driver<'_> {
    /// Sends the request for `operation` (checked against the document's method and path) as
    /// `caller` and expects one new audit row by `actor_id` at the current time.
    async fn drive(
        &mut self,
        operation: &str,
        method: Method,
        path: &str,
        caller: &str,
        actor_id: &str,
        body: Body,
    ) -> Value {
        let (_, doc_method, template) = self
            .operations
            .iter()
            .find(|(id, _, _)| id == operation)
            .unwrap_or_else(|| panic!("{operation} is not a privileged operation of the document"));
        assert_eq!(doc_method, method.as_str(), "{operation}");
        assert!(
            fits(template, path),
            "{operation}: {path} is not {template}"
        );
        let before: BTreeSet<String> = trail(self.app).await.into_iter().map(|e| e.id).collect();
        let at = credo::clock::rfc3339_seconds(self.app.state.clock.now());
        let answer: Answer = match body {
            Body::Json(body) => {
                self.app
                    .request(method, path, Some(caller), Some(body))
                    .await
            }
            Body::Empty => self.app.request(method, path, Some(caller), None).await,
            Body::Toml(text) => {
                self.app
                    .post_raw(path, Some(caller), "application/toml", text.into_bytes())
                    .await
            }
            Body::Raw(content_type, bytes) => {
                self.app
                    .send_raw(method, path, Some(caller), content_type, bytes)
                    .await
            }
        };
        assert!(
            answer.status.is_success(),
            "{operation}: {} {}",
            answer.status,
            answer.text
        );
        let new: Vec<EventView> = trail(self.app)
            .await
            .into_iter()
            .filter(|e| !before.contains(&e.id) && e.actor_kind.as_str() != "system")
            .collect();
        assert_eq!(new.len(), 1, "{operation} wrote {new:#?}");
        let row = &new[0];
        assert_eq!(
            row.actor_id.as_deref(),
            Some(actor_id),
            "{operation}: {row:?}"
        );
        assert!(
            matches!(row.actor_kind.as_str(), "user" | "api_key"),
            "{row:?}"
        );
        assert!(!row.actor_display.is_empty());
        assert_eq!(row.client_address.as_deref(), Some("127.0.0.1"), "{row:?}");
        // The clock runs: the act happened between the request and its answer.
        let after = credo::clock::rfc3339_seconds(self.app.state.clock.now());
        assert!(
            at <= row.at && row.at <= after,
            "{operation}: recorded at {}, not between {at} and {after}",
            row.at
        );
        assert!(!row.subject_id.is_empty());
        self.driven.insert(operation.to_string());
        if answer.text.is_empty() {
            Value::Null
        } else {
            answer.json()
        }
    }
}

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

#[actix_web::test]
async fn every_privileged_operation_writes_one_audit_row() {
    let app = TestApp::start().await;
    let operations = privileged_operations(&app).await;
    let mut d = Driver {
        app: &app,
        operations: operations.clone(),
        driven: BTreeSet::new(),
    };
    let operator = app.operator().await;
    let owner = app.user("owner@audit.example", "Olga Owner").await;
    let ada = app.user("ada@adacorp.example", "Ada Advocate").await;
    let candidate = app.user("cid@example.org", "Cid Candidate").await;
    let examiner = app.user("examiner@audit.example", "Eve Examiner").await;
    app.vendor("audit", &owner).await;
    // An outbound webhook endpoint first, so the acts below queue deliveries to resend later.
    // `.invalid` never resolves: every attempt fails at once and the delivery waits for a retry.
    let hook = d
        .drive(
            "createWebhookEndpoint",
            Method::POST,
            "/api/v1/vendors/audit/webhooks",
            &owner.token,
            &owner.id,
            Body::Json(json!({"url": "https://hooks.example.invalid/credo"})),
        )
        .await;
    let hook_id = id(&hook);

    d.drive(
        "createVendor",
        Method::POST,
        "/api/v1/vendors",
        &operator.token,
        &operator.id,
        Body::Json(json!({"slug": "other", "name": "Other", "url": "https://other.example"})),
    )
    .await;
    d.drive(
        "addStaffMember",
        Method::POST,
        "/api/v1/vendors/audit/members",
        &owner.token,
        &owner.id,
        Body::Json(json!({"email": examiner.email, "role": "examiner"})),
    )
    .await;
    let created = d
        .drive(
            "createApiKey",
            Method::POST,
            "/api/v1/vendors/audit/api-keys",
            &owner.token,
            &owner.id,
            Body::Json(json!({"name": "billing system"})),
        )
        .await;
    let (key_id, key) = (id(&created), created["key"].as_str().unwrap().to_string());
    let spare = app.api_key("audit", &owner).await;
    let spare_id = app
        .get("/api/v1/vendors/audit/api-keys", Some(&owner.token))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .find(|i| *i != key_id)
        .unwrap();
    drop(spare);
    d.drive(
        "revokeApiKey",
        Method::DELETE,
        &format!("/api/v1/vendors/audit/api-keys/{spare_id}"),
        &owner.token,
        &owner.id,
        Body::Empty,
    )
    .await;

    d.drive(
        "publishBankVersion",
        Method::POST,
        "/api/v1/vendors/audit/banks",
        &examiner.token,
        &examiner.id,
        Body::Toml(BankSpec::free("audit-exam").toml()),
    )
    .await;
    // Version states: unpublish and publish again, then retire a draft of version 2.
    for (operation, change) in [
        ("unpublishExamVersion", "unpublish"),
        ("publishExamVersion", "publish"),
    ] {
        let answer = d
            .drive(
                operation,
                Method::POST,
                &format!("/api/v1/vendors/audit/exams/audit-exam/versions/1/{change}"),
                &examiner.token,
                &examiner.id,
                Body::Empty,
            )
            .await;
        assert_eq!(answer["version"], 1, "{answer}");
    }
    let draft = BankSpec {
        stem_suffix: " (v2)".into(),
        ..BankSpec::free("audit-exam")
    };
    app.post_raw(
        "/api/v1/vendors/audit/banks?publish=false",
        Some(&examiner.token),
        "application/toml",
        draft.toml().into_bytes(),
    )
    .await
    .expect(201);
    let retired = d
        .drive(
            "retireExamVersion",
            Method::POST,
            "/api/v1/vendors/audit/exams/audit-exam/versions/2/retire",
            &examiner.token,
            &examiner.id,
            Body::Empty,
        )
        .await;
    assert_eq!(retired["state"], "retired");
    // The badge is part of what the exam's credentials show: uploading and removing it are
    // exam setting changes.
    d.drive(
        "uploadExamBadge",
        Method::PUT,
        "/api/v1/vendors/audit/exams/audit-exam/badge",
        &owner.token,
        &owner.id,
        Body::Raw(
            "image/svg+xml",
            br##"<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#1d4ed8"/></svg>"##.to_vec(),
        ),
    )
    .await;
    d.drive(
        "removeExamBadge",
        Method::DELETE,
        "/api/v1/vendors/audit/exams/audit-exam/badge",
        &owner.token,
        &owner.id,
        Body::Empty,
    )
    .await;
    // An API key acts as itself.
    d.drive(
        "issueVouchers",
        Method::POST,
        "/api/v1/vendors/audit/exams/audit-exam/vouchers",
        &key,
        &key_id,
        Body::Json(json!({"count": 3})),
    )
    .await;
    let order = d
        .drive(
            "createManualOrder",
            Method::POST,
            "/api/v1/orders",
            &operator.token,
            &operator.id,
            Body::Json(json!({
                "exam": "audit/audit-exam", "email": candidate.email,
                "amount_minor": 5000, "currency": "EUR"
            })),
        )
        .await;
    d.drive(
        "markOrderPaid",
        Method::POST,
        &format!("/api/v1/orders/{}/paid", id(&order)),
        &operator.token,
        &operator.id,
        Body::Json(json!({"reference": "bank transfer 42"})),
    )
    .await;
    let result = pass_exam(&app, &candidate, "audit", "audit-exam").await;
    let credential = result["credential_id"].as_str().unwrap().to_string();
    d.drive(
        "revokeCredential",
        Method::POST,
        &format!("/api/v1/vendors/audit/credentials/{credential}/revoke"),
        &examiner.token,
        &examiner.id,
        Body::Json(json!({"reason": "exam content leaked"})),
    )
    .await;

    let program = d
        .drive(
            "saveProgram",
            Method::PUT,
            "/api/v1/vendors/audit/program",
            &owner.token,
            &owner.id,
            Body::Json(program_body("audit-exam")),
        )
        .await;
    let shop = Shop {
        vendor_id: String::new(),
        manager: owner.clone(),
        key: key.clone(),
        program,
    };
    let program_id = shop.id();
    let enrollment = app
        .post(
            &format!("/api/v1/programs/{program_id}/enrollments"),
            Some(&ada.token),
            json!({"accept_terms_version": "2026-01"}),
        )
        .await
        .expect(201)
        .json();
    let code = enrollment["referral_code"].as_str().unwrap().to_string();
    let enrollment_id = id(&enrollment);
    d.drive(
        "setAdvocateStatus",
        Method::POST,
        &format!("/api/v1/programs/{program_id}/advocates/{enrollment_id}/status"),
        &owner.token,
        &owner.id,
        Body::Json(json!({"status": "active"})),
    )
    .await;

    // Three customers: an ordinary one (rejected), a self-referral (held, then cleared) and one
    // whose commission is approved and paid out.
    let mut commissions = Vec::new();
    for (n, email) in [
        "a@customer.example",
        "billing@adacorp.example",
        "c@customer.example",
    ]
    .into_iter()
    .enumerate()
    {
        let customer = format!("cust-{n}");
        app.post(
            &format!("/api/v1/programs/{program_id}/customers"),
            Some(&key),
            json!({"external_id": customer, "referral_code": code, "email": email}),
        )
        .await
        .expect(201);
        let effect = app
            .post(
                &format!("/api/v1/programs/{program_id}/events"),
                Some(&key),
                json!({
                    "source": "billing", "external_event_id": format!("evt-{n}"),
                    "kind": "invoice_paid", "invoice_id": format!("inv-{n}"),
                    "customer_external_id": customer, "amount_minor": 20_000,
                    "currency": "EUR", "occurred_at": rfc3339(app.state.clock.now()),
                }),
            )
            .await
            .expect(201)
            .json();
        commissions.push(
            effect["effect"]["commissions"][0]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    d.drive(
        "rejectCommission",
        Method::POST,
        &format!(
            "/api/v1/programs/{program_id}/commissions/{}/reject",
            commissions[0]
        ),
        &owner.token,
        &owner.id,
        Body::Json(json!({"reason": "duplicate order"})),
    )
    .await;
    d.drive(
        "clearCommissionHold",
        Method::POST,
        &format!(
            "/api/v1/programs/{program_id}/commissions/{}/clear-hold",
            commissions[1]
        ),
        &owner.token,
        &owner.id,
        Body::Json(json!({"note": "her employer's own purchase, checked"})),
    )
    .await;

    // After the hold period the approval job (the system) approves both.
    app.state.clock.advance(Duration::days(15));
    for commission in &commissions[1..] {
        eventually("commission approved", WAIT, || async {
            (commission_status(&app, &shop, commission).await["status"] == "approved").then_some(())
        })
        .await;
    }
    let approvals: Vec<EventView> = trail(&app)
        .await
        .into_iter()
        .filter(|e| e.action == "commission.approved")
        .collect();
    assert_eq!(approvals.len(), 2, "{approvals:#?}");
    assert!(approvals
        .iter()
        .all(|e| e.actor_kind.as_str() == "system" && e.client_address.is_none()));

    let owner = User {
        token: app.login(&owner.email).await,
        ..owner
    };
    let payouts = d
        .drive(
            "createPayouts",
            Method::POST,
            &format!("/api/v1/programs/{program_id}/payouts"),
            &owner.token,
            &owner.id,
            Body::Empty,
        )
        .await;
    let payout = id(&payouts[0]);
    d.drive(
        "markPayoutPaid",
        Method::POST,
        &format!("/api/v1/payouts/{payout}/paid"),
        &key,
        &key_id,
        Body::Json(json!({"reference": "SEPA-2026-0001"})),
    )
    .await;

    let rotated = d
        .drive(
            "rotateWebhookSecret",
            Method::POST,
            "/api/v1/vendors/audit/program/webhook-secret",
            &owner.token,
            &owner.id,
            Body::Json(json!({})),
        )
        .await;
    d.drive(
        "setCredentialSettings",
        Method::PUT,
        "/api/v1/vendors/audit/credential-settings",
        &owner.token,
        &owner.id,
        Body::Json(json!({"cryptosuite": "eddsa-jcs-2022"})),
    )
    .await;
    d.drive(
        "setStripeSecret",
        Method::PUT,
        "/api/v1/vendors/audit/stripe",
        &owner.token,
        &owner.id,
        Body::Json(json!({"webhook_secret": "whsec_audit_0123456789abcdef0123"})),
    )
    .await;
    d.drive(
        "setExamCheckout",
        Method::PUT,
        "/api/v1/vendors/audit/exams/audit-exam/checkout",
        &owner.token,
        &owner.id,
        Body::Json(json!({"payment_link": "https://buy.stripe.com/test_audit", "amount_minor": 9900, "currency": "EUR"})),
    )
    .await;

    let hook_secret = d
        .drive(
            "rotateWebhookEndpointSecret",
            Method::POST,
            &format!("/api/v1/vendors/audit/webhooks/{hook_id}/secret"),
            &owner.token,
            &owner.id,
            Body::Empty,
        )
        .await["secret"]
        .as_str()
        .unwrap()
        .to_string();
    // A delivery that failed and waits at least two more seconds for its retry (not leased).
    let waiting = eventually(
        "a failed webhook delivery waiting for its retry",
        WAIT,
        || async {
            let soon = app.state.clock.now_utc() + Duration::seconds(2);
            app.get(
                &format!("/api/v1/vendors/audit/webhooks/{hook_id}/deliveries"),
                Some(&owner.token),
            )
            .await
            .expect(200)
            .json()
            .as_array()
            .unwrap()
            .iter()
            .find(|d| {
                d["attempts"].as_i64() > Some(0)
                    && d["next_attempt_at"]
                        .as_str()
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                        .is_some_and(|t| t > soon)
            })
            .map(id)
        },
    )
    .await;
    d.drive(
        "resendWebhookDelivery",
        Method::POST,
        &format!("/api/v1/vendors/audit/webhook-deliveries/{waiting}/resend"),
        &owner.token,
        &owner.id,
        Body::Empty,
    )
    .await;
    d.drive(
        "deleteWebhookEndpoint",
        Method::DELETE,
        &format!("/api/v1/vendors/audit/webhooks/{hook_id}"),
        &owner.token,
        &owner.id,
        Body::Empty,
    )
    .await;

    // The staff and account lifecycle last: these end the people's sessions.
    let operator = User {
        token: app.login(&operator.email).await,
        ..operator
    };
    d.drive(
        "setStaffMemberRole",
        Method::PUT,
        &format!("/api/v1/vendors/audit/members/{}", examiner.id),
        &owner.token,
        &owner.id,
        Body::Json(json!({"role": "program_manager"})),
    )
    .await;
    d.drive(
        "removeStaffMember",
        Method::DELETE,
        &format!("/api/v1/vendors/audit/members/{}", examiner.id),
        &owner.token,
        &owner.id,
        Body::Empty,
    )
    .await;
    d.drive(
        "disableAccount",
        Method::POST,
        &format!("/api/v1/admin/accounts/{}/disable", candidate.email),
        &operator.token,
        &operator.id,
        Body::Empty,
    )
    .await;
    d.drive(
        "enableAccount",
        Method::POST,
        &format!("/api/v1/admin/accounts/{}/enable", candidate.id),
        &operator.token,
        &operator.id,
        Body::Empty,
    )
    .await;
    let lifecycle: Vec<EventView> = trail(&app)
        .await
        .into_iter()
        .filter(|e| e.subject_id == examiner.id || e.subject_id == candidate.id)
        .collect();
    let actions: Vec<&str> = lifecycle.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "staff.role_changed",
        "staff.removed",
        "account.disabled",
        "account.enabled",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing: {actions:?}"
        );
    }
    // The new webhook secret never reaches the trail, nor the Stripe secret.
    let secret = rotated["webhook_secret"].as_str().unwrap();
    let everything = format!("{:?}", trail(&app).await);
    assert!(!everything.contains(secret), "{everything}");
    let hook_key = hook["secret"].as_str().unwrap();
    assert!(!everything.contains(hook_key) && !everything.contains(&hook_secret));
    assert!(!everything.contains("whsec_audit_0123456789abcdef0123"));

    // The table covers the document: a new privileged operation without an entry fails here.
    let documented: BTreeSet<String> = operations.into_iter().map(|(id, _, _)| id).collect();
    assert_eq!(
        d.driven, documented,
        "privileged operations without an entry"
    );
    app.stop().await;
}

/// `src/` never updates or deletes audit rows, and only `audit/store.rs` writes them.
#[test]
fn no_code_path_updates_or_deletes_audit_rows() {
    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut offences = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = flat.to_lowercase();
        for verb in ["diesel::update(", "diesel::delete(", "update(", "delete("] {
            for (at, _) in flat.match_indices(verb) {
                // The statement's table comes right after the verb.
                let target: String = flat[at + verb.len()..].chars().take(40).collect();
                if target.trim_start().starts_with("audit_events") {
                    offences.push(format!("{}: {verb}{target}", file.display()));
                }
            }
        }
        for sql in [
            "update audit_events",
            "delete from audit_events",
            "truncate audit_events",
        ] {
            if lower.contains(sql) {
                offences.push(format!("{}: {sql}", file.display()));
            }
        }
        if flat.contains("insert_into(audit_events") && !file.ends_with("audit/store.rs") {
            offences.push(format!(
                "{}: writes audit_events outside audit/store.rs",
                file.display()
            ));
        }
    }
    assert!(offences.is_empty(), "{offences:#?}");
}

/// The database refuses to change or delete a recorded row, on both backends.
#[actix_web::test]
async fn the_database_refuses_to_change_audit_rows() {
    let app = TestApp::start().await;
    let owner = app.user("owner@acme.example", "Owner").await;
    app.vendor("acme", &owner).await;
    let before = trail(&app).await;
    assert!(before.iter().any(|e| e.action == "vendor.created"));
    for sql in [
        "UPDATE audit_events SET action = 'vendor.renamed'",
        "DELETE FROM audit_events",
    ] {
        let result = app
            .state
            .db(move |c| {
                use diesel::RunQueryDsl;
                diesel::sql_query(sql)
                    .execute(c)
                    .map_err(credo::db::DbError::from)
            })
            .await;
        let error = result.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    let after = trail(&app).await;
    assert_eq!(
        before
            .iter()
            .map(|e| (&e.id, &e.action))
            .collect::<Vec<_>>(),
        after.iter().map(|e| (&e.id, &e.action)).collect::<Vec<_>>()
    );
    app.stop().await;
}

#[actix_web::test]
async fn owners_read_their_trail_operators_read_all() {
    let app = TestApp::start().await;
    let owner = app.user("owner@acme.example", "Olga Owner").await;
    let examiner = app.user("examiner@acme.example", "Eve Examiner").await;
    let rival = app.user("owner@rival.example", "Rita Rival").await;
    app.vendor("acme", &owner).await;
    app.vendor("rival", &rival).await;
    app.add_member("acme", &owner, &examiner, "examiner").await;
    let key = app.api_key("acme", &owner).await;

    // A second version with another pass mark and price: a published version and a settings change.
    let mut spec = BankSpec::free("git");
    upload_toml(&app, &examiner.token, "acme", &spec.toml())
        .await
        .expect(201);
    spec.pass_percent = 80;
    spec.duration_minutes = 45;
    upload_toml(&app, &examiner.token, "acme", &spec.toml())
        .await
        .expect(201);

    let page = app
        .get("/api/v1/vendors/acme/audit", Some(&owner.token))
        .await
        .expect(200)
        .json();
    let events = page["events"].as_array().unwrap();
    assert_eq!(events[0]["action"], "exam.settings_changed", "{page:#}");
    assert_eq!(
        events[0]["details"]["changed"]["pass_percent"],
        json!({"from": 60, "to": 80})
    );
    assert_eq!(
        events[0]["details"]["changed"]["duration_minutes"],
        json!({"from": 30, "to": 45})
    );
    assert!(events[0]["details"]["changed"].get("title").is_none());
    assert_eq!(events[0]["actor_id"], examiner.id.as_str());
    assert_eq!(
        events[0]["actor_display"],
        "Eve Examiner <examiner@acme.example>"
    );
    assert_eq!(events[1]["action"], "bank.version_published");
    assert_eq!(events[1]["details"]["version"], 2);
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in ["vendor.created", "staff.added", "api_key.created"] {
        assert!(actions.contains(&expected), "{actions:?}");
    }
    // Nothing of the other vendor, and no secret: the key itself never appears.
    assert!(!page.to_string().contains("rival"), "{page}");
    assert!(!page.to_string().contains(&key));

    // Only owners (and operators) read it; people only.
    for (token, status) in [
        (examiner.token.as_str(), 403),
        (rival.token.as_str(), 403),
        (key.as_str(), 403),
    ] {
        app.get("/api/v1/vendors/acme/audit", Some(token))
            .await
            .expect(status);
        app.get("/api/v1/vendors/acme/audit.csv", Some(token))
            .await
            .expect(status);
    }
    app.get("/api/v1/vendors/acme/audit", None)
        .await
        .expect(401);
    app.get("/api/v1/vendors/acme/audit?page=0", Some(&owner.token))
        .await
        .expect(422);

    // CSV, both ways.
    for path in [
        "/api/v1/vendors/acme/audit.csv",
        "/api/v1/vendors/acme/audit?format=csv",
    ] {
        let csv = app.get(path, Some(&owner.token)).await.expect(200);
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        let mut lines = csv.text.lines();
        assert!(lines
            .next()
            .unwrap()
            .starts_with("at,vendor_id,actor_kind,actor_id,actor,"));
        let first = lines.next().unwrap();
        assert!(first.contains("exam.settings_changed"), "{first}");
        assert!(first.contains("127.0.0.1"), "{first}");
        assert_eq!(
            csv.text.lines().count() - 1,
            page["total"].as_u64().unwrap() as usize
        );
    }

    // Pages of 50, newest first.
    for _ in 0..50 {
        app.post(
            "/api/v1/vendors/acme/exams/git/vouchers",
            Some(&key),
            json!({"count": 1}),
        )
        .await
        .expect(201);
    }
    let first = app
        .get("/api/v1/vendors/acme/audit", Some(&owner.token))
        .await
        .json();
    let second = app
        .get("/api/v1/vendors/acme/audit?page=2", Some(&owner.token))
        .await
        .json();
    let total = first["total"].as_i64().unwrap();
    assert!(total > 50);
    assert_eq!(first["pages"], (total + 49) / 50);
    assert_eq!(first["events"].as_array().unwrap().len(), 50);
    assert_eq!(
        second["events"].as_array().unwrap().len() as i64,
        total - 50
    );
    assert_eq!(first["events"][0]["action"], "vouchers.issued");
    assert_eq!(first["events"][0]["actor_kind"], "api_key");
    assert_eq!(second["events"][0]["action"], "exam.settings_changed");

    // The console page, for the owner only.
    let (browser, _) = app.browser_session(&owner.email).await;
    let html = browser
        .get(app.url("/vendor/acme/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    assert!(
        html.contains("vouchers.issued") && html.contains("Page 1 of 2"),
        "{html}"
    );
    assert!(html.contains("/vendor/acme/audit?page=2"));
    let older = browser
        .get(app.url("/vendor/acme/audit?page=2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(older.contains("exam.settings_changed") && older.contains("Eve Examiner"));
    let hub = browser.get(app.url("/vendor/acme")).send().await.unwrap();
    assert!(hub.text().await.unwrap().contains("/vendor/acme/audit"));
    let (browser, _) = app.browser_session(&examiner.email).await;
    let denied = browser
        .get(app.url("/vendor/acme/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);

    // Operators read every vendor's acts, others not at all.
    let operator = app.login("operator@credo.test").await;
    let all = app
        .get("/api/v1/audit", Some(&operator))
        .await
        .expect(200)
        .json();
    assert!(all["total"].as_i64().unwrap() > total);
    app.get("/api/v1/audit", Some(&owner.token))
        .await
        .expect(403);
    let csv = app
        .get("/api/v1/audit?format=csv", Some(&operator))
        .await
        .expect(200);
    assert!(csv.text.contains("rival") && csv.text.contains("vouchers.issued"));

    // And on the command line, with the operator's CLI acts recorded as such.
    let credo = |args: &[&str]| {
        let out = std::process::Command::new(crate::common::credo_binary())
            .args(args)
            .env("CREDO_DATABASE_URL", &app.database_url)
            .env("CREDO_DATA_DIR", app.dir.path().join("cli"))
            .env("CREDO_BASE_URL", &app.base)
            .env("CREDO_MASTER_KEY", "42".repeat(32))
            .env("USER", "ops-alice")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    credo(&["keys", "rotate", "--vendor", "acme"]);
    let listed = credo(&["audit", "list", "--vendor", "acme", "--limit", "5"]);
    let first_line = listed.lines().next().unwrap();
    assert!(
        first_line.contains("signing_key.rotated")
            && first_line.contains("credo keys rotate (operator_cli ops-alice)"),
        "{listed}"
    );
    assert_eq!(listed.lines().count(), 6, "{listed}");
    assert!(listed.contains("page 1 of"), "{listed}");
    let csv = credo(&["audit", "list", "--csv"]);
    assert!(csv.starts_with("at,vendor_id") && csv.contains("rival"));
    app.stop().await;
}
