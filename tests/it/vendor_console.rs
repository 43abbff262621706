//! The vendor console pages: operators create vendors, owners manage staff and API keys; other
//! people are kept out.

use crate::common::TestApp;

#[actix_web::test]
async fn owners_manage_staff_and_api_keys_from_the_console() {
    let app = TestApp::start().await;
    app.operator().await;
    let owner = app.user("owner@example.org", "Olga Owner").await;
    let examiner = app.user("examiner@example.org", "Eve Examiner").await;
    let outsider = app.user("outsider@example.org", "Oscar").await;

    // The operator creates the vendor from the console; mistakes come back next to the fields.
    let (operator, csrf) = app.browser_session("operator@credo.test").await;
    let bad = operator
        .post(app.url("/vendor"))
        .form(&[
            ("slug", "Not A Slug"),
            ("name", ""),
            ("url", "ftp://x"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let html = bad.text().await.unwrap();
    for field in ["slug-error", "name-error", "url-error"] {
        assert!(html.contains(&format!("id=\"{field}\"")), "{field} missing");
    }
    let created = operator
        .post(app.url("/vendor"))
        .form(&[
            ("slug", "acme"),
            ("name", "Acme Data"),
            ("url", "https://acme.example"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/vendor/acme");
    let added = operator
        .post(app.url("/vendor/acme/members"))
        .form(&[
            ("email", "owner@example.org"),
            ("role", "owner"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 303);

    // The owner adds an examiner and creates an API key, shown once.
    let (browser, csrf) = app.browser_session(&owner.email).await;
    let hub = browser
        .get(app.url("/vendor/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(hub.contains("Olga Owner") && hub.contains("API keys"));
    browser
        .post(app.url("/vendor/acme/members"))
        .form(&[
            ("email", examiner.email.as_str()),
            ("role", "examiner"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let unknown = browser
        .post(app.url("/vendor/acme/members"))
        .form(&[
            ("email", "nobody@example.org"),
            ("role", "examiner"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains("register first"));

    let with_key = browser
        .post(app.url("/vendor/acme/api-keys"))
        .form(&[
            ("name", "billing"),
            ("scopes", "referrals"),
            ("scopes", "read"),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), 201);
    let html = with_key.text().await.unwrap();
    let key = html
        .split("value=\"credo_sk_")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(|rest| format!("credo_sk_{rest}"))
        .expect("the new key is shown");
    // The key authenticates (an API key is refused on person-only routes with 403, not 401).
    app.get("/api/v1/me", Some(&key)).await.expect(403);
    let hub = browser
        .get(app.url("/vendor/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!hub.contains(&key), "the key is shown again");
    assert!(hub.contains("Eve Examiner"));

    // Revoking from the console.
    let listed = app
        .get("/api/v1/vendors/acme/api-keys", Some(&owner.token))
        .await
        .expect(200)
        .json();
    let key_id = listed[0]["id"].as_str().unwrap().to_string();
    let revoked = browser
        .post(app.url(&format!("/vendor/acme/api-keys/{key_id}/revoke")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    app.get("/api/v1/me", Some(&key)).await.expect(401);

    // The examiner sees the hub but not the owner's tools; outsiders are refused.
    let (browser, _) = app.browser_session(&examiner.email).await;
    let hub = browser.get(app.url("/vendor/acme")).send().await.unwrap();
    assert_eq!(hub.status(), 200);
    assert!(!hub.text().await.unwrap().contains("Create API key"));
    let (browser, csrf) = app.browser_session(&outsider.email).await;
    assert_eq!(
        browser
            .get(app.url("/vendor/acme"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let forged = browser
        .post(app.url("/vendor/acme/api-keys"))
        .form(&[("name", "mine"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert_eq!(
        browser
            .get(app.url("/vendor/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    app.stop().await;
}
