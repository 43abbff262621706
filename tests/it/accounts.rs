//! Accounts through the HTTP API: registration with a real mail round trip, validation, roles,
//! vendor isolation, API keys, rate limits, CSRF, password reset and logout.

use crate::common::{TestApp, PASSWORD};
use serde_json::json;

#[actix_web::test]
async fn register_verify_by_mail_login_and_me() {
    let app = TestApp::start().await;
    let user = app
        .register_and_verify("Ada.Lovelace@Example.org", "Ada Lovelace")
        .await;
    assert_eq!(user.email, "ada.lovelace@example.org");

    let me = app
        .get("/api/v1/me", Some(&user.token))
        .await
        .expect(200)
        .json();
    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], "ada.lovelace@example.org");
    assert_eq!(me["display_name"], "Ada Lovelace");
    assert_eq!(me["roles"], json!([{"role": "practitioner"}]));

    // The mail carried a stable Message-ID and only one verification mail was sent.
    let mails = app.smtp.messages_to(&user.email);
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].message_id.contains('@'),
        "{:?}",
        mails[0].message_id
    );
    app.stop().await;
}

#[actix_web::test]
async fn login_needs_a_verified_address() {
    let app = TestApp::start().await;
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "new@example.org", "password": PASSWORD, "display_name": "New"}),
    )
    .await
    .expect(201);
    let answer = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "new@example.org", "password": PASSWORD}),
        )
        .await
        .expect(403);
    assert!(answer.json()["detail"]
        .as_str()
        .unwrap()
        .contains("confirm"));
    app.stop().await;
}

#[actix_web::test]
async fn client_mistakes_get_precise_4xx_answers() {
    let app = TestApp::start().await;
    app.user("taken@example.org", "Taken").await;

    // Wrong password.
    let wrong = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "taken@example.org", "password": "not the password"}),
        )
        .await
        .expect(401);
    assert_eq!(
        wrong.header("content-type").as_deref(),
        Some("application/problem+json")
    );

    // Duplicate e-mail in any case: answered like a new one (the owner gets a mail instead).
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "TAKEN@Example.ORG", "password": PASSWORD, "display_name": "Again"}),
    )
    .await
    .expect(201);

    // Malformed e-mail, short and empty passwords.
    let invalid = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-address", "password": "short", "display_name": "X"}),
        )
        .await
        .expect(422);
    assert_eq!(invalid.error_fields(), vec!["email", "password"]);
    let empty = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "e@example.org", "password": "", "display_name": "X"}),
        )
        .await
        .expect(422);
    assert_eq!(empty.error_fields(), vec!["password"]);

    // Missing fields: every one is named.
    let missing = app
        .post("/api/v1/auth/register", None, json!({}))
        .await
        .expect(422);
    assert_eq!(
        missing.error_fields(),
        vec!["email", "password", "display_name"]
    );

    // Wrong JSON types.
    let typed = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": 42, "password": PASSWORD, "display_name": "X"}),
        )
        .await
        .expect(422);
    assert_eq!(typed.error_fields(), vec!["email"]);
    let typed = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "taken@example.org", "password": ["x"]}),
        )
        .await
        .expect(422);
    assert_eq!(typed.error_fields(), vec!["password"]);

    // Not JSON at all, and the wrong content type.
    app.post_raw(
        "/api/v1/auth/login",
        None,
        "application/json",
        b"{not json".to_vec(),
    )
    .await
    .expect(400);
    app.post_raw("/api/v1/auth/login", None, "text/plain", b"hello".to_vec())
        .await
        .expect(415);

    // Unauthenticated and garbage tokens.
    app.get("/api/v1/me", None).await.expect(401);
    app.get("/api/v1/me", Some("garbage")).await.expect(401);
    app.stop().await;
}

#[actix_web::test]
async fn roles_and_vendor_isolation() {
    let app = TestApp::start().await;
    let owner_a = app.user("owner-a@example.org", "Owner A").await;
    let owner_b = app.user("owner-b@example.org", "Owner B").await;
    let practitioner = app.user("pat@example.org", "Pat").await;
    app.vendor("vendor-a", &owner_a).await;
    app.vendor("vendor-b", &owner_b).await;

    // Only operators create vendors.
    app.post(
        "/api/v1/vendors",
        Some(&owner_a.token),
        json!({"slug": "mine", "name": "Mine", "url": "https://mine.example"}),
    )
    .await
    .expect(403);

    // A practitioner on a vendor-owner route.
    app.post(
        "/api/v1/vendors/vendor-a/api-keys",
        Some(&practitioner.token),
        json!({"name": "k"}),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/vendors/vendor-a/members",
        Some(&practitioner.token),
        json!({"email": "pat@example.org", "role": "owner"}),
    )
    .await
    .expect(403);

    // The owner of vendor A on vendor B's routes.
    app.post(
        "/api/v1/vendors/vendor-b/api-keys",
        Some(&owner_a.token),
        json!({"name": "k"}),
    )
    .await
    .expect(403);
    app.get("/api/v1/vendors/vendor-b/api-keys", Some(&owner_a.token))
        .await
        .expect(403);
    // An unknown vendor is 404.
    app.post(
        "/api/v1/vendors/nope/api-keys",
        Some(&owner_a.token),
        json!({"name": "k"}),
    )
    .await
    .expect(404);

    // Membership shows in /me; a bad role is a field error.
    let me = app
        .get("/api/v1/me", Some(&owner_a.token))
        .await
        .expect(200)
        .json();
    assert!(me["roles"]
        .as_array()
        .unwrap()
        .contains(&json!({"role": "owner", "vendor": "vendor-a"})));
    let bad_role = app
        .post(
            "/api/v1/vendors/vendor-a/members",
            Some(&owner_a.token),
            json!({"email": "pat@example.org", "role": "king"}),
        )
        .await
        .expect(422);
    assert_eq!(bad_role.error_fields(), vec!["role"]);
    app.stop().await;
}

#[actix_web::test]
async fn api_keys_are_shown_once_and_revocable() {
    let app = TestApp::start().await;
    let owner = app.user("owner@example.org", "Owner").await;
    app.vendor("acme", &owner).await;
    let created = app
        .post(
            "/api/v1/vendors/acme/api-keys",
            Some(&owner.token),
            json!({"name": "billing"}),
        )
        .await
        .expect(201)
        .json();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("credo_sk_") && key.len() > 40);

    // The listing never shows the key or its hash.
    let listed = app
        .get("/api/v1/vendors/acme/api-keys", Some(&owner.token))
        .await
        .expect(200);
    assert!(
        !listed.text.contains(&key[9..]),
        "the key leaked: {}",
        listed.text
    );
    assert!(!listed.text.contains("key_hash"));

    // An API key can't act as a person.
    app.get("/api/v1/me", Some(&key)).await.expect(403);

    let id = created["id"].as_str().unwrap();
    app.request(
        reqwest::Method::DELETE,
        &format!("/api/v1/vendors/acme/api-keys/{id}"),
        Some(&owner.token),
        None,
    )
    .await
    .expect(204);
    // A revoked key is unauthenticated.
    app.get("/api/v1/me", Some(&key)).await.expect(401);
    app.stop().await;
}

#[actix_web::test]
async fn repeated_wrong_logins_are_rate_limited() {
    let app = TestApp::builder()
        .env("CREDO_LOGIN_ATTEMPTS_PER_MINUTE", "5")
        .start()
        .await;
    app.user("target@example.org", "Target").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = app
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": "target@example.org", "password": "guess guess guess"}),
            )
            .await;
        statuses.push(answer.status.as_u16());
        if answer.status == 429 {
            let retry = answer.header("retry-after").expect("Retry-After header");
            assert!(retry.parse::<u64>().unwrap() >= 1);
            assert!(answer.json()["retry_after"].as_u64().unwrap() >= 1);
        }
    }
    // Only failures count: the successful login of `user()` used nothing.
    assert_eq!(&statuses[..5], &[401, 401, 401, 401, 401], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    app.stop().await;
}

#[actix_web::test]
async fn form_posts_without_the_csrf_token_are_refused() {
    let app = TestApp::start().await;
    app.user("form@example.org", "Form").await;
    let browser = app.browser();
    // Without any token.
    let refused = browser
        .post(app.url("/login"))
        .form(&[("email", "form@example.org"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .headers()
        .get("set-cookie")
        .is_none_or(|c| !c.to_str().unwrap().contains("credo_session=e")));

    // With the page's token the same post signs in.
    let page = browser
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a CSRF token")
        .to_string();
    let wrong = browser
        .post(app.url("/login"))
        .form(&[
            ("email", "form@example.org"),
            ("password", PASSWORD),
            ("csrf_token", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let accepted = browser
        .post(app.url("/login"))
        .form(&[
            ("email", "form@example.org"),
            ("password", PASSWORD),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 303);
    assert_eq!(accepted.headers()["location"], "/dashboard");

    // Cookie-authenticated API writes need the token as a header too.
    let cookie_write = browser
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_write.status(), 403);
    let dashboard = browser.get(app.url("/dashboard")).send().await.unwrap();
    assert_eq!(dashboard.status(), 200);
    app.stop().await;
}

#[actix_web::test]
async fn password_reset_by_mail_and_logout() {
    let app = TestApp::start().await;
    let user = app.user("forgetful@example.org", "Forgetful").await;
    // Unknown addresses get the same answer.
    app.post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "nobody@example.org"}),
    )
    .await
    .expect(202);
    app.post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "Forgetful@example.org"}),
    )
    .await
    .expect(202);
    let mail = app
        .smtp
        .wait_for(&user.email, |m| m.subject.contains("Reset"))
        .await;
    let token = mail
        .link_token("/password-reset/confirm")
        .expect("reset link");

    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({"token": token, "password": "short"}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({"token": token, "password": "a brand new passphrase"}),
    )
    .await
    .expect(204);
    // Single use.
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({"token": token, "password": "another new passphrase"}),
    )
    .await
    .expect(422);
    // Old sessions are revoked, the old password fails, the new one works.
    app.get("/api/v1/me", Some(&user.token)).await.expect(401);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": user.email, "password": PASSWORD}),
    )
    .await
    .expect(401);
    let token = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": user.email, "password": "a brand new passphrase"}),
        )
        .await
        .expect(200)
        .json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    app.post("/api/v1/auth/logout", Some(&token), json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(&token)).await.expect(401);
    assert_eq!(app.smtp.messages_to("nobody@example.org").len(), 0);
    app.stop().await;
}

#[actix_web::test]
async fn operations_endpoints() {
    let app = TestApp::start().await;
    app.get("/healthz", None).await.expect(200);
    app.get("/readyz", None).await.expect(200);
    let metrics = app.get("/metrics", None).await.expect(200);
    assert!(
        metrics.text.contains("credo_http_requests_total"),
        "{}",
        metrics.text
    );
    let openapi = app.get("/api/openapi.json", None).await.expect(200).json();
    assert_eq!(openapi["openapi"], "3.1.0");
    let missing = app.get("/api/v1/nope", None).await.expect(404);
    assert_eq!(
        missing.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    let page = app.get("/nope", None).await.expect(404);
    assert!(page.text.contains("<html"));
    app.stop().await;
}

/// A page refusal keeps the status the API layer gave it (429 with Retry-After, 413), instead of
/// every refusal reading as a 400.
#[actix_web::test]
async fn page_refusals_keep_their_status() {
    let app = TestApp::builder()
        .env("CREDO_RATE_LIMIT_PUBLIC_WORK_PER_MINUTE", "1")
        .start()
        .await;
    let browser = app.browser();
    let login = browser.get(app.url("/login")).send().await.unwrap();
    let token = crate::common::csrf_token_in(&login.text().await.unwrap());
    let resend = || {
        browser
            .post(app.url("/verify-email/resend"))
            .form(&[
                ("email", "someone@example.org"),
                ("csrf_token", token.as_str()),
            ])
            .send()
    };
    let first = resend().await.unwrap();
    assert!(first.status().is_success() || first.status().is_redirection());
    let limited = resend().await.unwrap();
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert!(limited.text().await.unwrap().contains("Too many requests"));

    let oversized = browser
        .post(app.url("/login"))
        .form(&[
            ("email", "x".repeat(70 * 1024).as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);
    app.stop().await;
}
