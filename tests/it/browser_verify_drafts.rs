//! Issue 13, items 1, 2, 7 and 8: a verify result that says who and what; exam versions as
//! draft → published → retired with staff previews; sample-size guards; the issuer profile, the
//! opt-in earner profile and sharing. HTTP tests for the API on both backends, then the
//! employer's and the vendor's journeys in headless Chromium on a desktop window and at 375 px.

use crate::common::browser::{Browser, Viewport};
use crate::common::exams::{self as ex, BankSpec};
use crate::common::{TestApp, PASSWORD};
use serde_json::{json, Value};

fn check<'a>(answer: &'a Value, name: &str) -> &'a Value {
    crate::common::credentials::check(answer, name)
}

async fn catalog_slugs(app: &TestApp) -> Vec<String> {
    app.get("/api/v1/exams", None)
        .await
        .expect(200)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap().to_string())
        .collect()
}

async fn upload_draft(app: &TestApp, token: &str, spec: &BankSpec) -> Value {
    app.post_raw(
        "/api/v1/vendors/acme/banks?publish=false",
        Some(token),
        "application/toml",
        spec.toml().into_bytes(),
    )
    .await
    .expect(201)
    .json()
}

async fn change(
    app: &TestApp,
    token: &str,
    exam: &str,
    version: i32,
    what: &str,
) -> crate::common::Answer {
    app.post(
        &format!("/api/v1/vendors/acme/exams/{exam}/versions/{version}/{what}"),
        Some(token),
        json!({}),
    )
    .await
}

#[actix_web::test]
async fn the_verify_answer_names_holder_achievement_issuer_and_dates() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("cloud")).await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let result = ex::pass_exam(&app, &pat, "acme", "cloud").await;
    let id = result["credential_id"].as_str().unwrap().to_string();
    let credential = crate::common::credentials::credential_json(&app, &id).await;

    let answer = crate::common::credentials::verify(&app, &credential).await;
    assert_eq!(answer["status"], "valid", "{answer:#}");
    assert_eq!(answer["holder"], "Pat Practitioner");
    assert_eq!(answer["achievement"], "Demo exam cloud");
    assert_eq!(answer["issuer_hosted_here"], true);
    assert_eq!(answer["issuer"]["hosted_here"], true);
    assert_eq!(answer["issuer"]["id"], credential["issuer"]["id"]);
    assert_eq!(answer["issuer"]["name"], credential["issuer"]["name"]);
    assert_eq!(answer["issuer"]["profile"], app.url("/issuers/acme"));
    assert_eq!(answer["valid_from"], credential["validFrom"]);
    assert_eq!(answer["valid_until"], credential["validUntil"]);
    assert_eq!(answer["page"], app.url(&format!("/c/{id}")));
    // The fields clients had before are all still there.
    for field in ["verified", "checks", "credential_id"] {
        assert!(answer.get(field).is_some(), "{field} missing: {answer:#}");
    }

    // Tampered: invalid, the signature named, later checks not run, and no claims repeated.
    let mut tampered = credential.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Grand Master of Everything");
    let answer = crate::common::credentials::verify(&app, &tampered).await;
    assert_eq!(answer["status"], "invalid", "{answer:#}");
    assert_eq!(check(&answer, "proof")["ok"], false);
    let not_run: Vec<&Value> = answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("not checked"))
        })
        .collect();
    assert!(!not_run.is_empty(), "{answer:#}");
    for field in [
        "holder",
        "achievement",
        "issuer",
        "valid_from",
        "valid_until",
    ] {
        assert!(
            answer.get(field).is_none(),
            "{field} shown for a tampered credential: {answer:#}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_draft_is_invisible_until_published_and_previews_leave_no_trace() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let token = vendor.examiner.token.clone();

    // The API publishes by default (as before versions had states)…
    let published = ex::publish(&app, &vendor, &BankSpec::free("live")).await;
    assert_eq!(published["state"], "published", "{published}");
    // …and keeps a draft when asked.
    let draft = upload_draft(&app, &token, &BankSpec::free("cloud")).await;
    assert_eq!(draft["state"], "draft", "{draft}");
    assert_eq!(draft["version"], 1);
    assert_eq!(catalog_slugs(&app).await, vec!["live"]);
    app.get("/api/v1/exams/acme/cloud", None).await.expect(404);
    ex::start(&app, &pat, "acme", "cloud", json!({}))
        .await
        .expect(404);
    let catalog_page = app.get("/exams", None).await.expect(200).text;
    assert!(!catalog_page.contains("Demo exam cloud"));
    let (pat_pages, _) = app.browser_session(&pat.email).await;
    let dashboard = pat_pages
        .get(app.url("/dashboard"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("Demo exam live"), "{dashboard}");
    assert!(!dashboard.contains("Demo exam cloud"), "{dashboard}");

    // Staff preview it: free, answered and passed, but no credential, no statistics, no results.
    change(&app, &pat.token, "cloud", 1, "preview")
        .await
        .expect(403);
    let preview = change(&app, &token, "cloud", 1, "preview")
        .await
        .expect(201)
        .json();
    assert_eq!(preview["preview"], true, "{preview}");
    let all = ex::question_ids(&app, &preview).await;
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    ex::answer_all(&app, &vendor.examiner, &preview, &refs).await;
    let result = ex::submit(&app, &vendor.examiner, preview["id"].as_str().unwrap())
        .await
        .expect(200)
        .json();
    assert_eq!(result["passed"], true, "{result}");
    assert!(
        result.get("credential_id").is_none_or(Value::is_null),
        "{result}"
    );
    assert_eq!(
        ex::count_rows(&app, "SELECT COUNT(*) AS n FROM credentials").await,
        0
    );
    let stats = app
        .get("/api/v1/vendors/acme/exams/cloud/statistics", Some(&token))
        .await
        .expect(200)
        .json();
    assert_eq!(stats["attempts"], 0, "{stats}");

    // Publishing is explicit (and refused twice); then the exam is in the catalog and can be taken.
    let done = change(&app, &token, "cloud", 1, "publish")
        .await
        .expect(200)
        .json();
    assert_eq!(
        done,
        json!({"exam": "cloud", "version": 1, "state": "published"})
    );
    change(&app, &token, "cloud", 1, "publish")
        .await
        .expect(409);
    assert_eq!(catalog_slugs(&app).await, vec!["cloud", "live"]);
    let passed = ex::pass_exam(&app, &pat, "acme", "cloud").await;
    assert!(passed["credential_id"].is_string(), "{passed}");

    // A new draft leaves version 1 live; publishing it retires version 1.
    let v2 = upload_draft(
        &app,
        &token,
        &BankSpec {
            stem_suffix: " (v2)".into(),
            ..BankSpec::free("cloud")
        },
    )
    .await;
    assert_eq!(
        (v2["version"].as_i64(), v2["state"].as_str()),
        (Some(2), Some("draft"))
    );
    assert_eq!(
        app.get("/api/v1/exams/acme/cloud", None)
            .await
            .expect(200)
            .json()["version"],
        1
    );
    change(&app, &token, "cloud", 2, "publish")
        .await
        .expect(200);
    assert_eq!(
        app.get("/api/v1/exams/acme/cloud", None)
            .await
            .expect(200)
            .json()["version"],
        2
    );
    change(&app, &token, "cloud", 1, "unpublish")
        .await
        .expect(409);

    // Unpublishing takes it out; retiring the published version too.
    change(&app, &token, "cloud", 2, "unpublish")
        .await
        .expect(200);
    assert_eq!(catalog_slugs(&app).await, vec!["live"]);
    let retired = change(&app, &token, "live", 1, "retire")
        .await
        .expect(200)
        .json();
    assert_eq!(retired["state"], "retired");
    assert!(catalog_slugs(&app).await.is_empty());
    change(&app, &token, "live", 1, "retire").await.expect(409);
    change(&app, &token, "live", 9, "publish").await.expect(404);
    change(&app, &token, "live", 1, "launch").await.expect(404);
    change(&app, &pat.token, "live", 1, "publish")
        .await
        .expect(403);

    // The trail has each act.
    let owner = ex::relogin(&app, vendor.owner.clone()).await;
    let trail = app
        .get("/api/v1/vendors/acme/audit", Some(&owner.token))
        .await
        .expect(200)
        .json();
    let actions: Vec<&str> = trail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "bank.version_imported",
        "bank.version_published",
        "bank.version_unpublished",
        "bank.version_retired",
    ] {
        assert!(actions.contains(&expected), "{expected}: {actions:?}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn statistics_say_too_few_attempts_below_the_minimum() {
    for (setting, too_few) in [(None, true), (Some("2"), false)] {
        let mut builder = TestApp::builder().env("CREDO_LOGIN_ATTEMPTS_PER_MINUTE", "1000");
        if let Some(minimum) = setting {
            builder = builder.env("CREDO_STATS_MIN_ATTEMPTS", minimum);
        }
        let app = builder.start().await;
        let vendor = ex::vendor_with_examiner(&app, "acme").await;
        ex::publish(&app, &vendor, &BankSpec::free("cloud")).await;
        for i in 0..2 {
            let person = app.user(&format!("c{i}@example.org"), "Candidate").await;
            ex::pass_exam(&app, &person, "acme", "cloud").await;
        }
        let stats = app
            .get(
                "/api/v1/vendors/acme/exams/cloud/statistics",
                Some(&vendor.examiner.token),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(stats["attempts"], 2);
        assert_eq!(stats["too_few_attempts"], too_few, "{stats}");
        assert_eq!(
            stats["min_attempts"],
            setting.map_or(30, |s| s.parse().unwrap())
        );
        let (pages, _) = app.browser_session(&vendor.examiner.email).await;
        let page = pages
            .get(app.url("/vendor/acme/exams/cloud/statistics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(page.contains("Too few attempts:"), too_few, "{page}");
        app.stop().await;
    }
}

#[actix_web::test]
async fn issuer_and_opt_in_earner_profiles_and_sharing() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("cloud")).await;
    upload_draft(&app, &vendor.examiner.token, &BankSpec::free("secret")).await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let id = ex::pass_exam(&app, &pat, "acme", "cloud").await["credential_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The issuer's page: its published exams (not drafts) and how to verify.
    let issuer = app.get("/issuers/acme", None).await.expect(200).text;
    assert!(issuer.contains("Demo exam cloud"), "{issuer}");
    assert!(!issuer.contains("Demo exam secret"), "{issuer}");
    assert!(issuer.contains("did:web:"), "{issuer}");
    assert!(issuer.contains("href=\"/verify\""), "{issuer}");
    app.get("/issuers/nobody", None).await.expect(404);

    // The certificate page links there, and shares by e-mail and as HTML to embed.
    let page = app.get(&format!("/c/{id}"), None).await.expect(200).text;
    assert!(
        page.contains(&format!("href=\"{}\"", app.url("/issuers/acme"))),
        "{page}"
    );
    assert!(page.contains("href=\"mailto:?subject=Demo%20exam%20cloud%20certificate%20of%20Pat%20Practitioner&#38;body="), "{page}");
    assert!(page.contains("id=\"embed-html\""), "{page}");
    assert!(
        page.contains(&format!(
            "&#60;a href=&#34;{}&#34;",
            app.url(&format!("/c/{id}"))
        )),
        "{page}"
    );

    // The earner profile is off by default, on by choice, and gone when turned off.
    let (client, csrf) = app.browser_session(&pat.email).await;
    let dashboard = |client: reqwest::Client| {
        let url = app.url("/dashboard");
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let before = dashboard(client.clone()).await;
    assert!(before.contains("Turn on my public profile"), "{before}");
    assert!(!before.contains("/people/"));
    let turned_on = client
        .post(app.url("/dashboard/profile"))
        .form(&[("csrf_token", csrf.as_str()), ("public", "on")])
        .send()
        .await
        .unwrap();
    assert_eq!(turned_on.status(), 303);
    assert_eq!(
        turned_on.headers()["location"].to_str().unwrap(),
        "/dashboard#certificates"
    );
    let after = dashboard(client.clone()).await;
    let start = after.find(&app.url("/people/")).expect("the profile link");
    let link: String = after[start..]
        .chars()
        .take_while(|c| *c != '"' && *c != '<')
        .collect();
    assert!(link.contains("/people/pat-practitioner-"), "{link}");
    let profile = app.client.get(&link).send().await.unwrap();
    assert_eq!(profile.status(), 200);
    let profile = profile.text().await.unwrap();
    assert!(profile.contains("Pat Practitioner"), "{profile}");
    assert!(profile.contains(&format!("href=\"/c/{id}\"")), "{profile}");
    assert!(!profile.contains("pat@example.org"), "{profile}");
    client
        .post(app.url("/dashboard/profile"))
        .form(&[("csrf_token", csrf.as_str()), ("public", "off")])
        .send()
        .await
        .unwrap();
    assert_eq!(app.client.get(&link).send().await.unwrap().status(), 404);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// In the browser

async fn verify(browser: &Browser, app: &TestApp, credential: &Value, label: &str) {
    browser.visit(&app.url("/verify"), "verify-page").await;
    browser.paste("#credential", &credential.to_string()).await;
    browser
        .click("form[action='/verify'] button[type=submit]")
        .await;
    browser.wait_css(".status-banner").await;
    browser.shot(label).await;
}

async fn employer_sees_who_and_what(test: &str, viewport: Viewport) {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("cloud")).await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let id = ex::pass_exam(&app, &pat, "acme", "cloud").await["credential_id"]
        .as_str()
        .unwrap()
        .to_string();
    let credential = crate::common::credentials::credential_json(&app, &id).await;
    let browser = Browser::start(test, viewport).await;

    verify(&browser, &app, &credential, "verify-valid").await;
    assert_eq!(
        browser.text(".status-banner .verdict-heading").await,
        "Valid"
    );
    assert_eq!(browser.text(".fact-holder").await, "Pat Practitioner");
    assert_eq!(browser.text(".fact-achievement").await, "Demo exam cloud");
    let issuer = browser.text(".fact-issuer").await;
    assert!(issuer.contains("hosted on this site"), "{issuer}");
    // The certificate page and the issuer's profile are one click away.
    browser.click("a.certificate-link").await;
    browser.wait_css(".status-banner.valid").await;
    assert_eq!(browser.current_path().await, format!("/c/{id}"));
    browser.shot("certificate").await;
    browser.click(".facts a[href$='/issuers/acme']").await;
    browser.wait_text("How to verify a certificate").await;
    browser.shot("issuer").await;

    // Tampered: the failing check in red, the checks that did not run in a neutral style.
    let mut tampered = credential.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Grand Master of Everything");
    verify(&browser, &app, &tampered, "verify-tampered").await;
    assert_eq!(
        browser.text(".status-banner .verdict-heading").await,
        "Invalid: signature"
    );
    assert!(browser
        .text(".checks li.fail")
        .await
        .starts_with("Signature"));
    let rows = browser
        .script(
            r#"return [...document.querySelectorAll('.checks li')].map(li => ({
                 cls: li.className, text: li.textContent.trim(),
                 mark: getComputedStyle(li, '::before').content,
                 color: getComputedStyle(li, '::before').color}));"#,
        )
        .await;
    let rows = rows.as_array().unwrap();
    let fail_color = rows.iter().find(|r| r["cls"] == "fail").unwrap()["color"].clone();
    let neutral: Vec<&Value> = rows.iter().filter(|r| r["cls"] == "not-checked").collect();
    assert!(!neutral.is_empty(), "{rows:?}");
    for row in &neutral {
        assert!(
            row["text"].as_str().unwrap().contains("not checked"),
            "{row}"
        );
        assert_ne!(
            row["color"], fail_color,
            "a check not run is drawn like a failure: {row}"
        );
        assert!(!row["mark"].as_str().unwrap().contains('✗'), "{row}");
    }
    assert_eq!(
        browser
            .script("return document.querySelectorAll('.verified-facts').length;")
            .await,
        json!(0),
        "a tampered credential's claims are not shown"
    );
    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn employer_sees_holder_achievement_and_issuer_on_a_desktop() {
    employer_sees_who_and_what(
        "employer_sees_holder_achievement_and_issuer_on_a_desktop",
        Viewport::Desktop,
    )
    .await;
}

#[actix_web::test]
async fn employer_sees_holder_achievement_and_issuer_at_375_px() {
    employer_sees_who_and_what(
        "employer_sees_holder_achievement_and_issuer_at_375_px",
        Viewport::Phone,
    )
    .await;
}

async fn draft_preview_publish(test: &str, viewport: Viewport) {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let browser = Browser::start(test, viewport).await;

    // The examiner uploads a bank on the console: a draft.
    browser
        .sign_in(&app.base, &vendor.examiner.email, PASSWORD)
        .await;
    browser
        .visit(&app.url("/vendor/acme/exams"), "vendor-exams")
        .await;
    browser
        .paste("#text", &BankSpec::free("cloud").toml())
        .await;
    browser
        .click("form[action='/vendor/acme/exams/upload'] button[type=submit]")
        .await;
    browser.wait_text("It is a draft").await;
    browser.shot("uploaded-draft").await;
    assert_eq!(browser.text("#versions .badge").await, "draft");

    // Invisible in the catalog and on a practitioner's dashboard.
    browser.sign_out().await;
    browser
        .visit(&app.url("/exams"), "catalog-without-draft")
        .await;
    assert!(!browser.text("main").await.contains("Demo exam cloud"));
    browser.sign_in(&app.base, &pat.email, PASSWORD).await;
    browser
        .visit(&app.url("/dashboard"), "dashboard-without-draft")
        .await;
    assert!(!browser.text("main").await.contains("Demo exam cloud"));
    browser.sign_out().await;

    // Staff preview it from the exam's page, as a candidate would take it.
    browser
        .sign_in(&app.base, &vendor.examiner.email, PASSWORD)
        .await;
    browser
        .visit(&app.url("/vendor/acme/exams/cloud"), "vendor-exam-draft")
        .await;
    browser
        .click("#versions button[formaction$='/versions/1/preview']")
        .await;
    browser.wait_css(".preview-notice").await;
    assert!(browser.current_path().await.starts_with("/attempts/"));
    assert!(
        browser
            .script("return document.querySelectorAll('section.question').length;")
            .await
            .as_u64()
            .unwrap()
            > 0
    );
    browser.shot("preview").await;

    // Publishing makes it visible.
    browser
        .visit(
            &app.url("/vendor/acme/exams/cloud"),
            "vendor-exam-before-publish",
        )
        .await;
    browser
        .click("#versions button[formaction$='/versions/1/publish']")
        .await;
    browser.wait_text("Version 1 is published").await;
    assert_eq!(browser.text("#versions .badge").await, "published");
    browser.shot("published").await;
    browser.sign_out().await;
    browser.visit(&app.url("/exams"), "catalog-with-exam").await;
    browser.wait_text("Demo exam cloud").await;
    browser.sign_in(&app.base, &pat.email, PASSWORD).await;
    browser
        .visit(&app.url("/dashboard"), "dashboard-with-exam")
        .await;
    browser.wait_text("Demo exam cloud").await;
    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_draft_is_previewed_then_published_on_a_desktop() {
    draft_preview_publish(
        "a_draft_is_previewed_then_published_on_a_desktop",
        Viewport::Desktop,
    )
    .await;
}

#[actix_web::test]
async fn a_draft_is_previewed_then_published_at_375_px() {
    draft_preview_publish(
        "a_draft_is_previewed_then_published_at_375_px",
        Viewport::Phone,
    )
    .await;
}
