//! Abuse resistance (issue 15): redirects, login throttling, client addresses behind proxies, mailed
//! tokens, registration privacy, rate-limit settings, security headers and control characters.
//! The NUL sweep over the OpenAPI document is in `abuse_openapi.rs`; the load comparison in
//! `abuse_load.rs`.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{csrf_token_in, eventually, TestApp, PASSWORD};

/// Sends a JSON request as if from `address` (only believed behind a trusted proxy).
async fn post_from(app: &TestApp, address: &str, path: &str, body: Value) -> u16 {
    app.client
        .post(app.url(path))
        .header("x-forwarded-for", address)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn login_from(app: &TestApp, address: &str, email: &str, password: &str) -> u16 {
    post_from(
        app,
        address,
        "/api/v1/auth/login",
        json!({"email": email, "password": password}),
    )
    .await
}

#[actix_web::test]
async fn hostile_next_targets_land_on_the_dashboard() {
    let app = TestApp::start().await;
    app.user("ada@example.org", "Ada").await;
    let hostile = [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d%0a/evil.example",
        "/%2F%2Fevil.example",
        "%2F%2Fevil.example",
        "/%252F%252Fevil.example",
        "/%5Cevil.example",
        "https://evil.example",
        "javascript:alert(document.cookie)",
        "http:evil.example",
        "//ada@evil.example",
        "https://credo.example@evil.example",
        "/%2F/evil.example",
        " //evil.example",
    ];
    assert_eq!(hostile.len(), 20);
    let browser = app.browser();
    let page = browser.get(app.url("/login")).send().await.unwrap();
    let csrf = csrf_token_in(&page.text().await.unwrap());
    for next in hostile {
        let answer = browser
            .post(app.url("/login"))
            .form(&[
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("next", next),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "{next:?}");
        assert_eq!(
            answer.headers()["location"].to_str().unwrap(),
            "/dashboard",
            "{next:?}"
        );
        // The sign-in page never carries it either.
        let shown = browser
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            shown.contains(r#"name="next" value="/dashboard""#),
            "{next:?}"
        );
    }
    // A local path still works.
    let answer = browser
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.org"),
            ("password", PASSWORD),
            ("next", "/exams?page=2"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["location"], "/exams?page=2");
    app.stop().await;
}

#[actix_web::test]
async fn an_address_that_keeps_failing_cannot_lock_the_owner_out() {
    let app = TestApp::builder()
        .env("CREDO_TRUSTED_PROXIES", "127.0.0.1")
        .env("CREDO_RATE_LIMIT_LOGIN_PER_MINUTE", "5")
        .env("CREDO_RATE_LIMIT_LOGIN_ACCOUNT_PER_MINUTE", "8")
        .start()
        .await;
    app.user("owner@example.org", "Owner").await;
    // One address guesses on: after 5 failures it is turned away.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            login_from(
                &app,
                "203.0.113.5",
                "owner@example.org",
                "guess guess guess",
            )
            .await,
        );
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // More addresses use up the account's total.
    for i in 1..=6 {
        login_from(
            &app,
            &format!("203.0.113.{}", 10 + i),
            "owner@example.org",
            "guess guess guess",
        )
        .await;
    }
    assert_eq!(
        login_from(
            &app,
            "203.0.113.11",
            "owner@example.org",
            "guess guess guess"
        )
        .await,
        429,
        "an address that failed on the account is held by the account's total"
    );
    // The owner, from an address that has not failed, signs in — repeatedly.
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "198.51.100.7", "owner@example.org", PASSWORD).await,
            200
        );
    }
    // Even the attacking address would not be charged for a correct password, but it is still
    // over its own limit.
    assert_eq!(
        login_from(&app, "203.0.113.5", "owner@example.org", PASSWORD).await,
        429
    );
    app.stop().await;
}

#[actix_web::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    // Unset: the header changes nothing; every request is the peer 127.0.0.1.
    let app = TestApp::builder()
        .env("CREDO_RATE_LIMIT_LOGIN_PER_MINUTE", "3")
        .start()
        .await;
    let statuses = [
        login_from(&app, "198.51.100.1", "x@example.org", "guess guess guess").await,
        login_from(&app, "198.51.100.2", "y@example.org", "guess guess guess").await,
        login_from(&app, "198.51.100.3", "z@example.org", "guess guess guess").await,
        login_from(&app, "198.51.100.4", "w@example.org", "guess guess guess").await,
    ];
    assert_eq!(statuses, [401, 401, 401, 429]);
    app.stop().await;

    // Set: limits follow the forwarded address, and one IPv6 /64 is one client.
    let app = TestApp::builder()
        .env("CREDO_TRUSTED_PROXIES", "127.0.0.0/8, ::1")
        .env("CREDO_RATE_LIMIT_LOGIN_PER_MINUTE", "3")
        .start()
        .await;
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, "198.51.100.1", "x@example.org", "guess guess guess").await,
            401
        );
    }
    assert_eq!(
        login_from(&app, "198.51.100.1", "v@example.org", "guess guess guess").await,
        429
    );
    // A client cannot pick its address by prepending one: the proxy appended the real one.
    assert_eq!(
        login_from(
            &app,
            "192.0.2.99, 198.51.100.1",
            "u@example.org",
            "guess guess guess"
        )
        .await,
        429
    );
    assert_eq!(
        login_from(&app, "198.51.100.2", "x@example.org", "guess guess guess").await,
        401
    );
    for _ in 0..3 {
        assert_eq!(
            login_from(
                &app,
                "2001:db8:1:2::1",
                "x@example.org",
                "guess guess guess"
            )
            .await,
            401
        );
    }
    assert_eq!(
        login_from(
            &app,
            "2001:db8:1:2:ffff:ffff:ffff:fffe",
            "t@example.org",
            "guess guess guess"
        )
        .await,
        429,
        "the same /64"
    );
    assert_eq!(
        login_from(
            &app,
            "2001:db8:1:3::1",
            "t@example.org",
            "guess guess guess"
        )
        .await,
        401,
        "the next /64"
    );
    app.stop().await;
}

/// Outbox bodies still holding a `token=` link.
async fn readable_tokens(app: &TestApp) -> i64 {
    crate::common::exams::count_rows(
        app,
        "SELECT COUNT(*) AS n FROM outbox WHERE body_text LIKE '%token=%'",
    )
    .await
}

#[actix_web::test]
async fn sent_mails_keep_no_token_and_a_reset_kills_older_links() {
    let app = TestApp::start().await;
    app.register_and_verify("ada@example.org", "Ada").await;
    for _ in 0..2 {
        app.post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "ada@example.org"}),
        )
        .await
        .expect(202);
    }
    let mails = eventually("two reset mails", Duration::from_secs(20), || async {
        let mails: Vec<_> = app
            .smtp
            .messages_to("ada@example.org")
            .into_iter()
            .filter(|m| m.subject.contains("Reset"))
            .collect();
        (mails.len() == 2).then_some(mails)
    })
    .await;
    // Sent: the metadata stays, the links are gone.
    eventually("scrubbed bodies", Duration::from_secs(20), || async {
        (readable_tokens(&app).await == 0).then_some(())
    })
    .await;
    assert_eq!(
        crate::common::exams::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM outbox WHERE to_address = 'ada@example.org'"
        )
        .await,
        3,
        "verification + two resets are still listed"
    );
    let older = mails[0].link_token("/password-reset/confirm").unwrap();
    let newer = mails[1].link_token("/password-reset/confirm").unwrap();
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        json!({"token": newer, "password": "a brand new password"}),
    )
    .await
    .expect(204);
    let refused = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            json!({"token": older, "password": "an attacker's password"}),
        )
        .await
        .expect(422);
    assert_eq!(refused.error_fields(), ["token"]);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "ada@example.org", "password": "a brand new password"}),
    )
    .await
    .expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn reset_and_verification_mails_are_limited_per_recipient() {
    let app = TestApp::builder()
        .env("CREDO_RATE_LIMIT_MAIL_RECIPIENT_PER_HOUR", "3")
        .start()
        .await;
    app.user("victim@example.org", "Victim").await;
    // Many addresses (no proxy: it is all one peer, but the public-work limit is far away).
    for _ in 0..10 {
        app.post(
            "/api/v1/auth/password-reset",
            None,
            json!({"email": "victim@example.org"}),
        )
        .await
        .expect(202);
    }
    let queued = crate::common::exams::count_rows(
        &app,
        "SELECT COUNT(*) AS n FROM outbox WHERE to_address = 'victim@example.org'",
    )
    .await;
    assert_eq!(queued, 3, "answers are all 202, but only 3 mails go out");
    // Another recipient is not affected.
    app.user("other@example.org", "Other").await;
    app.post(
        "/api/v1/auth/password-reset",
        None,
        json!({"email": "other@example.org"}),
    )
    .await
    .expect(202);
    assert_eq!(
        crate::common::exams::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM outbox WHERE to_address = 'other@example.org'",
        )
        .await,
        1
    );
    app.stop().await;
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[actix_web::test]
async fn registering_an_existing_address_answers_like_a_new_one() {
    let app = TestApp::start().await;
    app.user("taken@example.org", "Taken").await;
    let register = |email: String| {
        let app = &app;
        async move {
            let started = Instant::now();
            let answer = app
                .post(
                    "/api/v1/auth/register",
                    None,
                    json!({"email": email, "password": PASSWORD, "display_name": "Someone"}),
                )
                .await;
            (answer, started.elapsed())
        }
    };
    let (existing, _) = register("Taken@Example.org".into()).await;
    let (new, _) = register("fresh@example.org".into()).await;
    assert_eq!(existing.status, 201, "{}", existing.text);
    assert_eq!(new.status, 201);
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&existing.json()), keys(&new.json()));
    assert_eq!(existing.json()["email"], "taken@example.org");
    assert_eq!(existing.json()["id"].as_str().unwrap().len(), 36);
    assert_eq!(existing.header("content-type"), new.header("content-type"));
    // The owner hears about it, with the way to a new password; no second account exists.
    let mail = app
        .smtp
        .wait_for("taken@example.org", |m| m.subject.contains("already have"))
        .await;
    assert!(mail.text.contains("/password-reset"), "{}", mail.text);
    assert_eq!(
        crate::common::exams::count_rows(
            &app,
            "SELECT COUNT(*) AS n FROM users WHERE email = 'taken@example.org'"
        )
        .await,
        1
    );
    // Same timing class: both hash a password (medians within a factor of two).
    let mut existing_times = Vec::new();
    let mut new_times = Vec::new();
    for i in 0..7 {
        existing_times.push(register("taken@example.org".into()).await.1);
        new_times.push(register(format!("new{i}@example.org")).await.1);
    }
    let (existing_median, new_median) = (median(existing_times), median(new_times));
    assert!(
        existing_median * 2 >= new_median && new_median * 2 >= existing_median,
        "existing {existing_median:?} vs new {new_median:?}"
    );
    // The page says the same to both.
    let browser = app.browser();
    let page = browser.get(app.url("/register")).send().await.unwrap();
    let csrf = csrf_token_in(&page.text().await.unwrap());
    for email in ["taken@example.org", "fresh2@example.org"] {
        let answer = browser
            .post(app.url("/register"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("display_name", "Someone"),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{email}");
        assert!(answer.text().await.unwrap().contains("Check your mail"));
    }
    app.stop().await;
}

#[actix_web::test]
async fn verify_limit_zero_lets_fifty_thousand_verifications_through() {
    let app = TestApp::builder()
        .env("CREDO_RATE_LIMIT_VERIFY_PER_MINUTE", "0")
        .start()
        .await;
    let total = 50_000;
    let concurrency = 16;
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let client = app.client.clone();
        let url = app.url("/api/v1/verify");
        tasks.push(tokio::spawn(async move {
            let mut limited = 0;
            let mut i = worker;
            while i < total {
                let status = client
                    .post(&url)
                    .json(&json!({"not": "a credential"}))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert!(!status.is_server_error(), "{status}");
                limited += usize::from(status == 429);
                i += concurrency;
            }
            limited
        }));
    }
    let mut limited = 0;
    for task in tasks {
        limited += task.await.unwrap();
    }
    assert_eq!(limited, 0);
    app.stop().await;
}

#[actix_web::test]
async fn verifications_with_an_api_key_count_against_the_key() {
    let app = TestApp::builder()
        .env("CREDO_RATE_LIMIT_VERIFY_PER_MINUTE", "10")
        .env("CREDO_RATE_LIMIT_VERIFY_API_KEY_PER_MINUTE", "1000")
        .start()
        .await;
    let owner = app.user("owner@acme.example.org", "Owner").await;
    app.vendor("acme", &owner).await;
    let key = app.api_key("acme", &owner).await;
    let mut anonymous = Vec::new();
    for _ in 0..40 {
        anonymous.push(
            app.post("/api/v1/verify", None, json!({"not": "a credential"}))
                .await
                .status
                .as_u16(),
        );
    }
    assert!(anonymous.contains(&429), "{anonymous:?}");
    for _ in 0..100 {
        let status = app
            .post("/api/v1/verify", Some(&key), json!({"not": "a credential"}))
            .await
            .status;
        assert_ne!(status, 429);
    }
    app.stop().await;
}

#[actix_web::test]
async fn security_headers_metrics_and_no_store() {
    let app = TestApp::builder()
        .env("CREDO_METRICS_ALLOW", "192.0.2.0/24")
        .env("CREDO_METRICS_TOKEN", "scrape-me-please")
        .start()
        .await;
    // Plain http: no HSTS; pages and API answers are not stored, static assets are cacheable.
    let home = app.get("/", None).await.expect(200);
    assert_eq!(home.header("strict-transport-security"), None);
    assert_eq!(home.header("cache-control").as_deref(), Some("no-store"));
    let owner = app.user("owner@acme.example.org", "Owner").await;
    let me = app.get("/api/v1/me", Some(&owner.token)).await.expect(200);
    assert_eq!(me.header("cache-control").as_deref(), Some("no-store"));
    let css = app.get("/static/style.css", None).await.expect(200);
    assert_eq!(
        css.header("cache-control").as_deref(),
        Some("public, max-age=3600")
    );
    // /metrics: 127.0.0.1 is not in the allow list; the token opens it.
    app.get("/metrics", None).await.expect(403);
    app.get("/metrics", Some("wrong-token")).await.expect(403);
    let metrics = app
        .get("/metrics", Some("scrape-me-please"))
        .await
        .expect(200);
    assert!(metrics.text.contains("credo_http_requests_total"));
    app.stop().await;

    // https base URL: HSTS on every answer; the data dir is private.
    let app = TestApp::builder()
        .env("CREDO_BASE_URL", "https://credo.example")
        .start()
        .await;
    let home = app.get("/", None).await.expect(200);
    assert!(home
        .header("strict-transport-security")
        .is_some_and(|v| v.contains("max-age=")));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The test app keeps its database elsewhere (PostgreSQL or its own file); create the
        // mail directory the way a file-mail node does.
        let data = app.dir.path().join("private");
        credo::secrets::create_private_dir(&data.join("mail")).unwrap();
        for dir in [data.clone(), data.join("mail")] {
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", dir.display());
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn control_characters_are_refused_at_the_edge() {
    let app = TestApp::start().await;
    // JSON: 422 naming the field (login e-mail, registration name).
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "a\u{0}@example.org", "password": "whatever you like"}),
        )
        .await
        .expect(422);
    assert_eq!(login.error_fields(), ["email"]);
    let register = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "n@example.org", "password": PASSWORD, "display_name": "Ada\u{0}"}),
        )
        .await
        .expect(422);
    assert_eq!(register.error_fields(), ["display_name"]);
    // Multi-line text is fine where text is: tabs and newlines pass the edge.
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"email": "tab@example.org", "password": "pass\tword with tab", "display_name": "Ada"}),
    )
    .await
    .expect(201);
    // Path ids: 404. Query parameters: 422 naming them.
    app.get("/api/v1/credentials/a%00b", None).await.expect(404);
    app.get("/c/a%00b", None).await.expect(404);
    let query = app.get("/api/v1/exams?q=a%00b", None).await.expect(422);
    assert_eq!(query.error_fields(), ["q"]);
    app.get("/verify-email?token=a%00b", None).await.expect(422);
    // Forms: 422 naming the field.
    let browser = app.browser();
    let page = browser.get(app.url("/login")).send().await.unwrap();
    let csrf = csrf_token_in(&page.text().await.unwrap());
    let answer = browser
        .request(Method::POST, app.url("/login"))
        .form(&[
            ("email", "a\u{0}b@example.org"),
            ("password", "x"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    assert!(answer.text().await.unwrap().contains("email"));
    app.stop().await;
}
