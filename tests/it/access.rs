//! Staff and account lifecycle, API key scopes and webhook secret rotation (issue 9, item 3):
//! every power a vendor grants is revocable, and revocation holds from the next request.

use std::process::Command;

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::credentials as cr;
use crate::common::exams as ex;
use crate::common::referrals::{self as rf, post_webhook, signature};
use crate::common::{credo_binary, Answer, TestApp, User, PASSWORD};

async fn delete(app: &TestApp, path: &str, token: &str) -> Answer {
    app.request(Method::DELETE, path, Some(token), None).await
}

async fn create_key(app: &TestApp, vendor: &str, user: &User, scopes: &[&str]) -> Answer {
    app.post(
        &format!("/api/v1/vendors/{vendor}/api-keys"),
        Some(&user.token),
        json!({"name": format!("{} key", scopes.join("+")), "scopes": scopes}),
    )
    .await
}

async fn key(app: &TestApp, vendor: &str, user: &User, scopes: &[&str]) -> String {
    let created = create_key(app, vendor, user, scopes)
        .await
        .expect(201)
        .json();
    assert_eq!(created["scopes"], json!(scopes));
    created["key"].as_str().unwrap().to_string()
}

fn detail(answer: &Answer) -> String {
    answer.json()["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

#[actix_web::test]
async fn a_removed_examiner_loses_session_and_keys_at_once() {
    let app = TestApp::start().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let credentials = "/api/v1/vendors/acme/credentials";

    // Examiners make keys within their role: exams and credentials, not read or referrals.
    let examiner_key = key(&app, "acme", &v.examiner, &["credentials", "exams"]).await;
    let too_wide = create_key(&app, "acme", &v.examiner, &["read"])
        .await
        .expect(422);
    assert!(too_wide.text.contains("grant only: credentials, exams"));
    app.get(credentials, Some(&examiner_key)).await.expect(200);
    app.get("/api/v1/me", Some(&v.examiner.token))
        .await
        .expect(200);
    // The owner's own key survives the examiner's removal.
    let owner_key = key(&app, "acme", &v.owner, &["credentials"]).await;

    let members = app
        .get("/api/v1/vendors/acme/members", Some(&v.owner.token))
        .await
        .expect(200)
        .json();
    let listed = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == v.examiner.id.as_str())
        .expect("the examiner is listed");
    assert_eq!(listed["roles"], json!(["examiner"]));

    // Only owners remove staff.
    delete(
        &app,
        &format!("/api/v1/vendors/acme/members/{}", v.owner.id),
        &v.examiner.token,
    )
    .await
    .expect(403);
    delete(
        &app,
        &format!("/api/v1/vendors/acme/members/{}", v.examiner.id),
        &v.owner.token,
    )
    .await
    .expect(204);

    // The next request with the old session and the old key is 401.
    app.get("/api/v1/me", Some(&v.examiner.token))
        .await
        .expect(401);
    app.get(credentials, Some(&examiner_key)).await.expect(401);
    app.get(credentials, Some(&owner_key)).await.expect(200);
    // Signing in again gives a session without any power over the vendor.
    let token = app.login(&v.examiner.email).await;
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200).json();
    assert_eq!(me["roles"], json!([{"role": "practitioner"}]));
    app.get(credentials, Some(&token)).await.expect(403);
    ex::upload_toml(&app, &token, "acme", &ex::BankSpec::free("cloud").toml())
        .await
        .expect(403);
    // Removing someone who is not on the staff is 404.
    delete(
        &app,
        &format!("/api/v1/vendors/acme/members/{}", v.examiner.id),
        &v.owner.token,
    )
    .await
    .expect(404);
    app.stop().await;
}

#[actix_web::test]
async fn the_last_owner_stays_and_demotion_holds_from_the_next_request() {
    let app = TestApp::start().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let owner_path = format!("/api/v1/vendors/acme/members/{}", v.owner.id);

    let removed = delete(&app, &owner_path, &v.owner.token).await.expect(409);
    assert!(detail(&removed).contains("last owner"), "{}", removed.text);
    let demoted = app
        .put(
            &owner_path,
            Some(&v.owner.token),
            json!({"role": "examiner"}),
        )
        .await
        .expect(409);
    assert!(detail(&demoted).contains("last owner"));
    app.put(&owner_path, Some(&v.owner.token), json!({"role": "boss"}))
        .await
        .expect(422);

    // With a second owner the first may step down; the change holds from the next request.
    let examiner_path = format!("/api/v1/vendors/acme/members/{}", v.examiner.id);
    let promoted = app
        .put(
            &examiner_path,
            Some(&v.owner.token),
            json!({"role": "owner"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(promoted["role"], "owner");
    // Keys wider than the new role are revoked with the demotion; narrower ones stay.
    let wide = key(&app, "acme", &v.owner, &["exams", "referrals"]).await;
    let narrow = key(&app, "acme", &v.owner, &["exams"]).await;
    app.put(
        &owner_path,
        Some(&v.owner.token),
        json!({"role": "examiner"}),
    )
    .await
    .expect(200);
    app.get("/api/v1/vendors/acme/members", Some(&v.owner.token))
        .await
        .expect(403);
    let statistics = "/api/v1/vendors/acme/revenue";
    app.get(statistics, Some(&wide)).await.expect(401);
    app.get(statistics, Some(&narrow)).await.expect(200);
    // The new owner is now the last one.
    let last = delete(&app, &examiner_path, &v.examiner.token)
        .await
        .expect(409);
    assert!(detail(&last).contains("last owner"));
    app.stop().await;
}

#[actix_web::test]
async fn owners_manage_staff_on_the_console_page() {
    let app = TestApp::start().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let (browser, csrf) = app.browser_session(&v.owner.email).await;
    let hub = rf::page(&browser, &app, "/vendor/acme").await;
    assert_eq!(hub.0, 200);
    assert!(hub
        .1
        .contains(&format!("/vendor/acme/members/{}/remove", v.examiner.id)));

    // The last owner cannot remove themselves: the hub says why, with 409.
    let refused = browser
        .post(app.url(&format!("/vendor/acme/members/{}/remove", v.owner.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("last owner"));

    let changed = browser
        .post(app.url(&format!("/vendor/acme/members/{}/role", v.examiner.id)))
        .form(&[("role", "program_manager"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 303);
    let me = app
        .get("/api/v1/me", Some(&v.examiner.token))
        .await
        .expect(200)
        .json();
    assert_eq!(
        me["roles"][1],
        json!({"role": "program_manager", "vendor": "acme"})
    );

    let removed = browser
        .post(app.url(&format!("/vendor/acme/members/{}/remove", v.examiner.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 303);
    app.get("/api/v1/me", Some(&v.examiner.token))
        .await
        .expect(401);
    let hub = rf::page(&browser, &app, "/vendor/acme").await;
    assert!(!hub.1.contains(&v.examiner.email));
    app.stop().await;
}

#[actix_web::test]
async fn a_disabled_account_cannot_sign_in_and_its_sessions_and_keys_die() {
    let app = TestApp::start().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    // `vendor_with_examiner` made the operator who created the vendor.
    let token = app.login("operator@credo.test").await;
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200).json();
    let operator = User {
        id: me["id"].as_str().unwrap().to_string(),
        email: "operator@credo.test".into(),
        token,
    };
    let owner_key = key(&app, "acme", &v.owner, &["exams"]).await;
    let (browser, _) = app.browser_session(&v.owner.email).await;
    assert_eq!(rf::page(&browser, &app, "/vendor/acme").await.0, 200);

    // Only operators disable, and not themselves.
    app.post(
        &format!("/api/v1/admin/accounts/{}/disable", v.examiner.id),
        Some(&v.owner.token),
        json!({}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/admin/accounts/{}/disable", operator.id),
        Some(&operator.token),
        json!({}),
    )
    .await
    .expect(409);
    let disabled = app
        .post(
            &format!("/api/v1/admin/accounts/{}/disable", v.owner.email),
            Some(&operator.token),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(disabled["id"], v.owner.id.as_str());
    assert!(disabled["disabled_at"].is_string());

    // Sessions (bearer and cookie) and keys die at once.
    app.get("/api/v1/me", Some(&v.owner.token))
        .await
        .expect(401);
    app.get("/api/v1/vendors/acme/revenue", Some(&owner_key))
        .await
        .expect(401);
    let (status, _) = rf::page(&browser, &app, "/vendor/acme").await;
    assert_eq!(status, 303, "the page asks to sign in again");
    // The right password is refused with a clear message; a wrong one stays a plain 401.
    let refused = login(&app, &v.owner.email, PASSWORD).await.expect(403);
    assert!(detail(&refused).contains("disabled"));
    login(&app, &v.owner.email, "not the password")
        .await
        .expect(401);

    // Enabled again: the person signs in; the revoked key stays revoked.
    let enabled = app
        .post(
            &format!("/api/v1/admin/accounts/{}/enable", v.owner.id),
            Some(&operator.token),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(enabled["disabled_at"], Value::Null);
    let token = login(&app, &v.owner.email, PASSWORD)
        .await
        .expect(200)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    app.get("/api/v1/me", Some(&token)).await.expect(200);
    app.get("/api/v1/vendors/acme/revenue", Some(&owner_key))
        .await
        .expect(401);
    app.stop().await;
}

fn credo_admin(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(credo_binary())
        .arg("admin")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CREDO_DATABASE_URL", &app.database_url)
        .env("CREDO_DATA_DIR", app.dir.path().join("cli-data"))
        .env("CREDO_MASTER_KEY", "42".repeat(32))
        .output()
        .expect("run credo")
}

#[actix_web::test]
async fn operators_disable_and_enable_accounts_from_the_command_line() {
    let app = TestApp::start().await;
    let ada = app.user("ada@example.org", "Ada").await;
    let output = credo_admin(&app, &["disable-account", "--email", "Ada@Example.org"]);
    assert!(output.status.success(), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("disabled"));
    app.get("/api/v1/me", Some(&ada.token)).await.expect(401);
    login(&app, &ada.email, PASSWORD).await.expect(403);

    let output = credo_admin(&app, &["enable-account", "--email", "ada@example.org"]);
    assert!(output.status.success(), "{output:?}");
    login(&app, &ada.email, PASSWORD).await.expect(200);

    let output = credo_admin(&app, &["disable-account", "--email", "nobody@example.org"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("account not found"));
    app.stop().await;
}

#[actix_web::test]
async fn a_key_without_the_credentials_scope_cannot_revoke() {
    let app = TestApp::start().await;
    let vendor = cr::vendor(&app, "acme").await;
    let exam = cr::exam(&app, &vendor, "cloud", 24, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let credential = cr::certify(&app, &exam, &holder).await;
    let revoke = format!("/api/v1/vendors/acme/credentials/{credential}/revoke");
    let body = json!({"reason": "exam content leaked"});

    let exams_only = key(&app, "acme", &vendor.owner, &["exams"]).await;
    let refused = app
        .post(&revoke, Some(&exams_only), body.clone())
        .await
        .expect(403);
    assert!(
        detail(&refused).contains("`credentials` scope"),
        "{}",
        refused.text
    );
    let read_only = key(&app, "acme", &vendor.owner, &["read"]).await;
    app.get("/api/v1/vendors/acme/credentials", Some(&read_only))
        .await
        .expect(200);
    app.get("/api/v1/vendors/acme/credentials", Some(&exams_only))
        .await
        .expect(403);
    let refused = app
        .post(&revoke, Some(&read_only), body.clone())
        .await
        .expect(403);
    assert!(detail(&refused).contains("`credentials` scope"));
    // Keys never reach person-only routes, whatever their scopes.
    app.get("/api/v1/vendors/acme/members", Some(&read_only))
        .await
        .expect(403);
    create_key(&app, "acme", &vendor.owner, &["everything"])
        .await
        .expect(422);
    create_key(&app, "acme", &vendor.owner, &[])
        .await
        .expect(422);

    // A key made before scopes existed (no scopes column written) keeps full access.
    let legacy = "credo_sk_legacy-key-made-before-scopes";
    let sql = format!(
        "INSERT INTO api_keys (id, vendor_id, name, key_hash, created_at) \
         VALUES ('legacy', '{}', 'old', '{}', '2026-11-30 12:00:00')",
        vendor.id,
        credo::secrets::sha256_hex(legacy)
    );
    app.state
        .db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(sql)
                .execute(conn)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    let listed = app
        .get("/api/v1/vendors/acme/api-keys", Some(&vendor.owner.token))
        .await
        .expect(200)
        .json();
    let old = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "legacy")
        .unwrap();
    assert_eq!(
        old["scopes"],
        json!(["credentials", "exams", "read", "referrals"])
    );

    let credentials_key = key(&app, "acme", &vendor.owner, &["credentials"]).await;
    app.post(&revoke, Some(&credentials_key), body.clone())
        .await
        .expect(200);
    app.post(&revoke, Some(legacy), body).await.expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn old_and_new_webhook_secrets_both_verify_during_the_overlap_only_the_new_after() {
    let app = TestApp::start().await;
    let shop = rf::shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana").await;
    let code = rf::enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    rf::bind(
        &app,
        &shop,
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);
    let old = shop.secret();
    let events = std::cell::Cell::new(0);
    // A new invoice event signed with `secret` at the app's time.
    let send = |secret: String| {
        events.set(events.get() + 1);
        let n = events.get();
        let (app, shop) = (&app, &shop);
        async move {
            let body = serde_json::to_vec(&rf::event(
                app,
                &format!("wh_{n}"),
                "invoice_paid",
                &format!("inv_{n}"),
                "cus_1",
                10_000,
            ))
            .unwrap();
            let signed = signature(app, &secret, &body, 0);
            post_webhook(app, shop, &body, Some(signed)).await
        }
    };
    send(old.clone()).await.expect(201);

    let rotate = "/api/v1/vendors/acme/program/webhook-secret";
    let rotated = app
        .post(rotate, Some(&shop.manager.token), json!({}))
        .await
        .expect(200)
        .json();
    let new = rotated["webhook_secret"].as_str().unwrap().to_string();
    assert!(new.starts_with("whsec_") && new != old);
    assert_eq!(
        rotated["previous_expires_at"],
        rf::rfc3339(app.state.clock.now() + Duration::hours(24))
    );

    // During the overlap both verify.
    send(old.clone()).await.expect(201);
    send(new.clone()).await.expect(201);
    app.state.clock.advance(Duration::hours(23));
    send(old.clone()).await.expect(201);
    // After it, only the new one.
    app.state
        .clock
        .advance(Duration::hours(1) + Duration::seconds(1));
    let late = send(old.clone()).await.expect(401);
    assert_eq!(
        late.json()["type"],
        "https://credo.dev/problems/bad-signature"
    );
    send(new.clone()).await.expect(201);

    // A rotation may end the overlap at once, and may not ask for more than 30 days.
    let manager = ex::relogin(&app, shop.manager.clone()).await;
    app.post(
        rotate,
        Some(&manager.token),
        json!({"previous_expires_at": rf::rfc3339(app.state.clock.now() + Duration::days(31))}),
    )
    .await
    .expect(422);
    let newest = app
        .post(
            rotate,
            Some(&manager.token),
            json!({"previous_expires_at": rf::rfc3339(app.state.clock.now())}),
        )
        .await
        .expect(200)
        .json()["webhook_secret"]
        .as_str()
        .unwrap()
        .to_string();
    send(new).await.expect(401);
    send(newest.clone()).await.expect(201);
    // The program shows the current secret to its managers.
    let program = app
        .get("/api/v1/vendors/acme/program", Some(&manager.token))
        .await
        .expect(200)
        .json();
    assert_eq!(program["webhook_secret"], newest.as_str());

    // The program's console page rotates too, and says until when the old secret works.
    let (browser, csrf) = app.browser_session(&manager.email).await;
    let rotated = browser
        .post(app.url("/vendor/acme/program/webhook-secret"))
        .form(&[("overlap_hours", "2"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), 303);
    let location = rotated.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with("/vendor/acme/program?rotated="));
    let (status, html) = rf::page(&browser, &app, &location).await;
    assert_eq!(status, 200);
    assert!(html.contains("Signatures made with the old secret are accepted until"));
    assert!(
        !html.contains(&newest),
        "the page shows the new secret, not the old"
    );
    send(newest.clone()).await.expect(201);
    app.state
        .clock
        .advance(Duration::hours(2) + Duration::seconds(1));
    send(newest).await.expect(401);
    app.stop().await;
}
