//! The three journeys in a real headless Chromium, each on a desktop window and at 375 px:
//!
//! - practitioner: register → confirm by the mailed link → sign in → redeem a voucher on the exam
//!   page → take the exam by clicking answers (autosaved, kept across a reload, timer in view) →
//!   submit → score report by domain → certificate page with its LinkedIn link → join the vendor's
//!   advocate program → referral link with the commission disclosure;
//! - employer: paste the credential JSON into `/verify` → valid; the vendor revokes it in the
//!   console → revoked with the reason; a tampered copy → invalid, naming the failing check;
//! - vendor: a bank with a mistake uploaded on the console's form → the problem with its line next
//!   to the input → the fixed bank → exam listed → item statistics with their chart; program tiers
//!   edited; advocates, billing events, commissions (hold review), payouts (create, mark paid) and
//!   the funnel with its charts.
//!
//! Data the journeys start from (vendors, banks, vouchers, programs, other people's attempts and
//! sales) is set up through the API. Every page visited is screenshotted under
//! `target/screenshots/<test>/` and passes `Browser::check_page` (labels, no sideways scrolling,
//! errors next to their fields, one heading, a title, no raw internals).

use std::time::Duration;

use crate::common::browser::{Browser, Viewport};
use crate::common::exams::{self as ex, BankSpec};
use crate::common::referrals::{self as rf, Shop};
use crate::common::{eventually, TestApp, PASSWORD};
use serde_json::{json, Value};

/// The question handles shown on the exam-taking page, in order.
async fn questions_on_page(browser: &Browser) -> Vec<String> {
    browser
        .script("return [...document.querySelectorAll('section.question')].map(s => s.dataset.question);")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Goes to one question (by its handle) with the navigator, clicks the labels of its right answers (the known
/// key of the test bank) and waits for the page to say they are saved.
async fn answer_by_clicking(browser: &Browser, app: &TestApp, attempt: &str, question: &str) {
    browser.click(&format!("[data-nav='{question}']")).await;
    let id = ex::question_id_of(app, attempt, question).await;
    for choice in ex::handles(app, attempt, &id, &ex::key(&id)).await {
        let input = format!("section[data-question='{question}'] input[value='{choice}']");
        let id = browser.attr(&input, "id").await.expect("choice id");
        browser.click(&format!("label[for='{id}']")).await;
    }
    let state = format!("[data-save-state='{question}']");
    eventually(
        "the answer to be saved",
        Duration::from_secs(10),
        || async { (browser.text(&state).await == "Saved").then_some(()) },
    )
    .await;
}

/// The values of the checked inputs of a question.
async fn checked(browser: &Browser, question: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll(\"section[data-question='{question}'] input:checked\")].map(i => i.value);"
    );
    let mut values: Vec<String> = browser
        .script(&script)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    values.sort();
    values
}

/// A countdown is in view (`mm:ss`) while the page is scrolled to `css`.
async fn timer_in_view(browser: &Browser, css: &str) -> String {
    let shown = browser
        .client
        .execute(
            r#"document.querySelector(arguments[0]).scrollIntoView();
               const inView = [...document.querySelectorAll('[data-timer-text]')].filter(el => {
                 const r = el.getBoundingClientRect();
                 return r.width > 0 && r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
               });
               return inView.length ? inView[0].textContent : null;"#,
            vec![json!(css)],
        )
        .await
        .unwrap();
    let text = shown
        .as_str()
        .unwrap_or_else(|| panic!("no timer in view at {css}"))
        .to_string();
    assert!(
        text.len() == 5 && text.as_bytes()[2] == b':' && text.starts_with(['2', '3']),
        "timer shows {text:?}"
    );
    text
}

async fn practitioner_journey(test: &str, viewport: Viewport) {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::paid("cloud", 4900)).await;
    let voucher = app
        .post(
            "/api/v1/vendors/acme/exams/cloud/vouchers",
            Some(&vendor.examiner.token),
            json!({"count": 1}),
        )
        .await
        .expect(201)
        .json()["codes"][0]
        .as_str()
        .unwrap()
        .to_string();
    let program = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&vendor.owner.token),
            rf::program_body("cloud"),
        )
        .await
        .expect(200)
        .json();
    let program_id = program["id"].as_str().unwrap().to_string();
    let browser = Browser::start(test, viewport).await;

    // Register; mistakes first, then the real thing.
    browser.visit(&app.url("/"), "home").await;
    browser.click("header a[href='/register']").await;
    browser.wait_css("#display_name").await;
    browser.shot("register").await;
    browser.fill("#display_name", "Pat Practitioner").await;
    browser.fill("#email", "pat@example").await;
    browser.fill("#password", "short").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_css("#password-error").await;
    browser.shot("register-errors").await;
    browser.fill("#email", "pat@example.org").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Check your mail").await;
    browser.shot("registered").await;

    // The confirmation link from the mail the SMTP server received.
    let mail = app
        .smtp
        .wait_for("pat@example.org", |m| m.subject.contains("Confirm"))
        .await;
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/verify-email?token="))
        .expect("a confirmation link in the mail")
        .to_string();
    browser.visit(&link, "email-confirmed").await;
    browser.wait_text("is confirmed").await;

    browser
        .sign_in(&app.base, "pat@example.org", PASSWORD)
        .await;
    browser.wait_text("Hello, Pat Practitioner").await;
    browser.shot("dashboard-new").await;

    // The catalog and the exam page; a wrong voucher is refused next to its field.
    browser.click("nav a[href='/exams']").await;
    browser.wait_css(".exam-list").await;
    browser.shot("catalog").await;
    browser
        .click(".exam-list h2 a[href='/exams/acme/cloud']")
        .await;
    browser.wait_css("#voucher").await;
    browser.shot("exam-page").await;
    browser
        .assert_focus_visible("#start button[type=submit]")
        .await;
    browser.fill("#voucher", "AAAA-BBBB-CCCC").await;
    browser.click("#start button[type=submit]").await;
    browser.wait_css("#voucher-error").await;
    browser.shot("voucher-refused").await;
    browser.fill("#voucher", &voucher).await;
    browser.click("#start button[type=submit]").await;
    browser.wait_css("#exam-form").await;
    browser.shot("exam-started").await;
    let attempt = browser
        .current_path()
        .await
        .trim_start_matches("/attempts/")
        .to_string();

    // Answer half the questions by clicking; the page saves each one through the API.
    let questions = questions_on_page(&browser).await;
    assert_eq!(questions.len(), 4, "two domains drawing two questions each");
    let (first, rest) = questions.split_at(2);
    for q in first {
        answer_by_clicking(&browser, &app, &attempt, q).await;
    }
    let answered = browser.text("[data-answered-count]").await;
    assert_eq!(answered, "2 of 4 answered");
    for q in first {
        let nav = browser
            .attr(&format!("[data-nav='{q}']"), "class")
            .await
            .unwrap_or_default();
        assert!(nav.contains("answered"), "navigator marks {q}");
    }
    let token = app.login("pat@example.org").await;
    let saved = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&token))
        .await
        .expect(200)
        .json();
    for q in first {
        let mut server: Vec<String> = saved["answers"][q]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        server.sort();
        let id = ex::question_id_of(&app, &attempt, q).await;
        let mut key = ex::handles(&app, &attempt, &id, &ex::key(&id)).await;
        key.sort();
        assert_eq!(server, key, "the server has the answer to {q}");
    }
    browser.shot("exam-half-answered").await;

    // A reload keeps the answers; the countdown stays in view while scrolling.
    browser.client.refresh().await.unwrap();
    browser.wait_css("#exam-form").await;
    for q in first {
        let id = ex::question_id_of(&app, &attempt, q).await;
        let mut key = ex::handles(&app, &attempt, &id, &ex::key(&id)).await;
        key.sort();
        assert_eq!(checked(&browser, q).await, key, "{q} kept after a reload");
    }
    timer_in_view(&browser, "[data-answered-count]").await;
    browser.shot("exam-reloaded").await;
    for q in rest {
        answer_by_clicking(&browser, &app, &attempt, q).await;
    }
    timer_in_view(&browser, "#exam-form").await;
    browser.shot("exam-answered").await;

    // Review and submit: the summary has nothing unanswered; Submit (accepting the confirmation)
    // shows the score report by domain.
    browser.click("button[value=review]").await;
    browser.wait_css("#submit-form").await;
    assert!(browser
        .text("#unanswered")
        .await
        .contains("Every question has an answer"));
    browser.shot("summary").await;
    browser.click_and_confirm("button[value=submit]").await;
    browser.wait_css(".result-verdict").await;
    assert!(browser.current_path().await.ends_with("/result"));
    assert_eq!(browser.text(".result-verdict").await, "Passed");
    let report = browser.text("main table").await;
    assert!(
        report.contains("Basics") && report.contains("Advanced"),
        "{report}"
    );
    assert_eq!(report.matches("100").count(), 2, "{report}");
    browser.shot("result").await;

    // The certificate page, valid, with LinkedIn's Add-to-Profile link.
    browser.click("a[href^='/c/']").await;
    browser
        .wait_css("article.credential .status-banner.valid")
        .await;
    browser.shot("certificate").await;
    let credential_id = browser
        .current_path()
        .await
        .trim_start_matches("/c/")
        .to_string();
    let linkedin = browser
        .attr("a[href^='https://www.linkedin.com/profile/add?']", "href")
        .await
        .unwrap();
    let linkedin = url::Url::parse(&linkedin).unwrap();
    let param = |name: &str| {
        linkedin
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("certId").as_deref(), Some(credential_id.as_str()));
    assert_eq!(
        param("certUrl"),
        Some(app.url(&format!("/c/{credential_id}")))
    );
    assert_eq!(param("name").as_deref(), Some("Demo exam cloud"));

    // The dashboard lists the certificate; the referral section leads to the program.
    browser.click("nav a[href='/dashboard']").await;
    browser.wait_css("#certificates").await;
    assert!(browser.text("#certificates").await.contains("valid"));
    browser.shot("dashboard-certified").await;
    browser.click("main a[href='/programs']").await;
    browser
        .wait_css(&format!("main a[href='/programs/{program_id}']"))
        .await;
    browser.shot("programs").await;
    browser
        .click(&format!("main a[href='/programs/{program_id}']"))
        .await;
    browser.wait_css("#accept_terms").await;
    browser.shot("program").await;
    browser
        .click(&format!(
            "form[action='/programs/{program_id}/enroll'] button[type=submit]"
        ))
        .await;
    browser.wait_css("#accept_terms-error").await;
    browser.shot("program-terms-not-accepted").await;
    browser.click("label.check").await;
    browser
        .click(&format!(
            "form[action='/programs/{program_id}/enroll'] button[type=submit]"
        ))
        .await;
    browser.wait_css("#link-0").await;
    assert_eq!(browser.current_path().await, "/referrals");
    let referral = browser.attr("#link-0", "value").await.unwrap();
    assert!(
        referral.starts_with(&app.url("/r/")),
        "referral link {referral}"
    );
    let disclosure = browser.text("#disclosure-0").await;
    assert!(disclosure.contains("commission"), "{disclosure}");
    assert!(browser
        .text(".referral")
        .await
        .contains("You are in tier Certified"));
    assert!(browser.text(".referral").await.contains("No clicks yet"));
    browser.click("button[data-copy='#link-0']").await;
    eventually(
        "the copy button to confirm",
        Duration::from_secs(5),
        || async { (browser.text("button[data-copy='#link-0']").await == "Copied").then_some(()) },
    )
    .await;
    browser.shot("referrals").await;
    browser
        .click(&format!("main a[href='/programs/{program_id}/disclosure']"))
        .await;
    browser.wait_text("Earnings disclosure: acme Inc.").await;
    browser.shot("earnings-disclosure").await;
    // The header reaches the referral dashboard from anywhere.
    browser.click("nav a[href='/referrals']").await;
    browser.wait_css("#link-0").await;

    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn practitioner_journey_on_a_desktop() {
    practitioner_journey("practitioner_journey_on_a_desktop", Viewport::Desktop).await;
}

#[actix_web::test]
async fn practitioner_journey_at_375_px() {
    practitioner_journey("practitioner_journey_at_375_px", Viewport::Phone).await;
}

/// Pastes a credential into the verify page and submits it.
async fn verify(browser: &Browser, app: &TestApp, credential: &Value, label: &str) {
    browser.visit(&app.url("/verify"), "verify-page").await;
    browser.paste("#credential", &credential.to_string()).await;
    browser
        .click("form[action='/verify'] button[type=submit]")
        .await;
    browser.wait_css(".status-banner").await;
    browser.shot(label).await;
}

async fn employer_journey(test: &str, viewport: Viewport) {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &vendor, &BankSpec::free("cloud")).await;
    let pat = app.user("pat@example.org", "Pat Practitioner").await;
    let result = ex::pass_exam(&app, &pat, "acme", "cloud").await;
    let credential_id = result["credential_id"].as_str().unwrap().to_string();
    let credential = crate::common::credentials::credential_json(&app, &credential_id).await;
    let browser = Browser::start(test, viewport).await;

    // The verify page from the header; nothing pasted is an error next to the field.
    browser.visit(&app.url("/"), "home").await;
    browser.click("nav a[href='/verify']").await;
    browser.wait_css("#credential").await;
    browser.shot("verify").await;
    browser
        .click("form[action='/verify'] button[type=submit]")
        .await;
    browser.wait_css("#credential-error").await;
    browser.shot("verify-empty").await;

    // The genuine credential: valid.
    verify(&browser, &app, &credential, "verify-valid").await;
    assert_eq!(
        browser.text(".status-banner .verdict-heading").await,
        "Valid"
    );
    browser
        .visit(&app.url(&format!("/c/{credential_id}")), "certificate")
        .await;
    browser.wait_css(".status-banner.valid").await;

    // The examiner revokes it in the vendor console; a reason is required.
    browser
        .sign_in(&app.base, &vendor.examiner.email, PASSWORD)
        .await;
    browser.click("nav a[href='/vendor']").await;
    browser.wait_css("main a[href='/vendor/acme']").await;
    browser.shot("vendor-console").await;
    browser.click("main a[href='/vendor/acme']").await;
    browser
        .wait_css("main a[href='/vendor/acme/credentials']")
        .await;
    browser.shot("vendor-hub").await;
    browser
        .click("main a[href='/vendor/acme/credentials']")
        .await;
    let revoke = format!("form[action='/vendor/acme/credentials/{credential_id}/revoke']");
    browser.wait_css(&revoke).await;
    browser.shot("vendor-credentials").await;
    browser
        .click_and_confirm(&format!("{revoke} button[type=submit]"))
        .await;
    browser
        .wait_css(&format!("#reason-{credential_id}-error"))
        .await;
    browser.shot("revoke-without-reason").await;
    let reason = "Answers shared before the exam";
    browser
        .fill(&format!("#reason-{credential_id}"), reason)
        .await;
    browser
        .click_and_confirm(&format!("{revoke} button[type=submit]"))
        .await;
    browser.wait_css("main .badge.revoked").await;
    browser.wait_text(reason).await;
    browser.shot("vendor-credentials-revoked").await;
    browser.sign_out().await;

    // Revoked, with the reason.
    verify(&browser, &app, &credential, "verify-revoked").await;
    assert_eq!(
        browser.text(".status-banner .verdict-heading").await,
        "Revoked"
    );
    assert!(browser.text(".status-banner").await.contains(reason));
    browser
        .visit(
            &app.url(&format!("/c/{credential_id}")),
            "certificate-revoked",
        )
        .await;
    browser.wait_css(".status-banner.revoked").await;
    assert!(browser.text(".status-banner").await.contains(reason));

    // A tampered copy (another name): invalid, naming the signature check.
    let mut tampered = credential.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Grand Master of Everything");
    verify(&browser, &app, &tampered, "verify-tampered").await;
    assert_eq!(
        browser.text(".status-banner .verdict-heading").await,
        "Invalid: signature"
    );
    let failed = browser.text(".checks li.fail").await;
    assert!(failed.starts_with("Signature"), "{failed}");

    // Addresses that lead nowhere get a page that says so, with a way back.
    browser
        .visit(&app.url("/c/no-such-certificate"), "certificate-not-found")
        .await;
    browser
        .wait_text("There is no certificate with this address")
        .await;
    browser
        .visit(&app.url("/no/such/page"), "page-not-found")
        .await;
    browser.wait_text("Page not found").await;
    browser.click("main a[href='/']").await;
    browser.wait_css(".hero").await;

    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn employer_journey_on_a_desktop() {
    employer_journey("employer_journey_on_a_desktop", Viewport::Desktop).await;
}

#[actix_web::test]
async fn employer_journey_at_375_px() {
    employer_journey("employer_journey_at_375_px", Viewport::Phone).await;
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

async fn vendor_journey(test: &str, viewport: Viewport) {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    let manager = app.user("pm@acme.example.org", "Program Manager").await;
    app.add_member("acme", &vendor.owner, &manager, "program_manager")
        .await;
    let spec = BankSpec::free("ops");
    let good = spec.toml();
    let broken = good.replace("pass_percent = 60", "pass_percent = 160");
    let bad_line = line_of(&broken, "pass_percent = 160");
    let bank_file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    std::fs::write(bank_file.path(), &broken).unwrap();
    let browser = Browser::start(test, viewport).await;

    // The examiner uploads a bank file with a mistake: the problem is shown with its line, next
    // to the file input.
    browser
        .sign_in(&app.base, &vendor.examiner.email, PASSWORD)
        .await;
    browser.click("nav a[href='/vendor']").await;
    browser.click("main a[href='/vendor/acme']").await;
    browser.wait_css("main a[href='/vendor/acme/exams']").await;
    browser.shot("vendor-hub").await;
    browser.click("main a[href='/vendor/acme/exams']").await;
    browser.wait_css("#file").await;
    browser.shot("vendor-exams-empty").await;
    browser
        .wait_css("#file")
        .await
        .send_keys(&bank_file.path().display().to_string())
        .await
        .expect("choose the file");
    browser
        .click("form[action='/vendor/acme/exams/upload'] button[type=submit]")
        .await;
    browser.wait_css("#bank-errors").await;
    browser.shot("upload-error").await;
    let problems = browser.text("#bank-errors").await;
    assert!(
        problems.contains(&format!("line {bad_line}")) && problems.contains("pass_percent"),
        "{problems}"
    );
    assert_eq!(
        browser.attr("#file", "aria-describedby").await.as_deref(),
        Some("bank-errors")
    );

    // The fixed bank, pasted and published at once: imported, and listed.
    browser.paste("#text", &good).await;
    browser.click("#publish").await;
    browser
        .click("form[action='/vendor/acme/exams/upload'] button[type=submit]")
        .await;
    browser.wait_text("Imported pasted.toml: version 1").await;
    browser.shot("uploaded").await;
    browser.click("main a[href='/vendor/acme/exams']").await;
    browser
        .wait_css("main table a[href='/vendor/acme/exams/ops']")
        .await;
    browser.shot("vendor-exams").await;

    // Graded attempts by others (through the API), then the item statistics with the chart.
    for (i, pass) in [true, true, false, true, false].into_iter().enumerate() {
        let person = app
            .user(&format!("candidate{i}@example.org"), "Candidate")
            .await;
        if pass {
            ex::pass_exam(&app, &person, "acme", "ops").await;
        } else {
            ex::fail_exam(&app, &person, "acme", "ops").await;
        }
    }
    browser
        .click("main table a[href='/vendor/acme/exams/ops']")
        .await;
    browser
        .wait_css("a[href='/vendor/acme/exams/ops/statistics']")
        .await;
    browser.shot("vendor-exam").await;
    browser
        .click("a[href='/vendor/acme/exams/ops/statistics']")
        .await;
    browser.wait_css("figure.chart svg").await;
    let chart = browser
        .script(
            r#"const figure = document.querySelector('figure.chart');
               const svg = figure.querySelector('svg').getBoundingClientRect();
               const card = figure.closest('.card').getBoundingClientRect();
               return {width: svg.width, frame: figure.getBoundingClientRect().width, room: card.width};"#,
        )
        .await;
    // The chart keeps its own size (its text stays legible); on a phone its frame scrolls
    // inside the card rather than the card or the page growing.
    let width = chart["width"].as_f64().unwrap();
    assert!(
        width > 200.0 && chart["frame"].as_f64().unwrap() <= chart["room"].as_f64().unwrap(),
        "chart size {chart}"
    );
    assert!(browser.text("main").await.contains("5"), "graded attempts");
    browser.shot("statistics").await;
    browser.sign_out().await;

    // Sales through an advocate (API): a certified advocate, a click, two customers (one a
    // self-referral held for review), invoices.
    let owner = ex::relogin(&app, vendor.owner.clone()).await;
    let key = app.api_key("acme", &owner).await;
    let mut body = rf::program_body("ops");
    body["hold_days"] = json!(0);
    let program = app
        .put("/api/v1/vendors/acme/program", Some(&manager.token), body)
        .await
        .expect(200)
        .json();
    let shop = Shop {
        vendor_id: rf::vendor_id(&app, "acme").await,
        manager: manager.clone(),
        key,
        program,
    };
    let ana = app.user("ana@partner.example", "Ana Advocate").await;
    ex::pass_exam(&app, &ana, "acme", "ops").await;
    let code = rf::enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let click = rf::click(&app, &code).await;
    rf::bind(&app, &shop, json!({"external_id": "c1", "click_id": click}))
        .await
        .expect(201);
    rf::bind(
        &app,
        &shop,
        json!({"external_id": "c2", "referral_code": code, "email": "it@partner.example"}),
    )
    .await
    .expect(201);
    for (event, invoice, customer, amount) in [
        ("e1", "i1", "c1", 12_000),
        ("e2", "i2", "c1", 8_000),
        ("e3", "i3", "c2", 5_000),
    ] {
        rf::post_event(
            &app,
            &shop,
            rf::event(&app, event, "invoice_paid", invoice, customer, amount),
        )
        .await
        .expect(201);
    }
    eventually("approved commissions", Duration::from_secs(10), || async {
        (rf::me(&app, &ana).await["balance_minor"].as_i64() == Some(4_000)).then_some(())
    })
    .await;

    // The program manager edits the tiers: a rate above 100 % is refused next to its row.
    browser.sign_in(&app.base, &manager.email, PASSWORD).await;
    browser.click("nav a[href='/vendor']").await;
    browser.click("main a[href='/vendor/acme']").await;
    browser.click("main a[href='/vendor/acme/program']").await;
    browser.wait_css("#tier_rate_2").await;
    browser.shot("program-settings").await;
    browser.fill("#tier_rate_2", "250").await;
    browser.fill("#tier_name_3", "Expert").await;
    browser.fill("#tier_rate_3", "30").await;
    browser
        .click("input[name=tier_requires][value='3:ops']")
        .await;
    browser
        .click("form[action='/vendor/acme/program'] > button[type=submit]")
        .await;
    browser.wait_css("#tier-2-error").await;
    browser.shot("program-tier-error").await;
    assert_eq!(
        browser
            .attr("#tier_rate_2", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    browser.fill("#tier_rate_2", "25").await;
    browser
        .click("form[action='/vendor/acme/program'] > button[type=submit]")
        .await;
    browser.wait_text("The program is saved").await;
    browser.shot("program-saved").await;
    assert_eq!(
        browser.attr("#tier_code_3", "value").await.as_deref(),
        Some("expert")
    );
    let saved = app
        .get("/api/v1/vendors/acme/program", Some(&shop.key))
        .await
        .expect(200)
        .json();
    let rates: Vec<i64> = saved["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["rate_bps"].as_i64().unwrap())
        .collect();
    assert_eq!(rates, [1000, 2500, 3000]);

    // The other program pages, each from the section navigation.
    browser
        .click("nav.subnav a[href='/vendor/acme/program/advocates']")
        .await;
    browser.wait_text(&code).await;
    browser.shot("advocates").await;
    browser
        .click("nav.subnav a[href='/vendor/acme/program/events']")
        .await;
    browser.wait_text("commission created").await;
    browser.shot("events").await;
    browser
        .click("nav.subnav a[href='/vendor/acme/program/commissions']")
        .await;
    browser.wait_css("main article.held-review").await;
    browser.shot("commissions").await;
    browser
        .click("main article.held-review form[action$='/clear-hold'] button[type=submit]")
        .await;
    browser.wait_text("Nothing to review").await;
    browser.shot("commissions-reviewed").await;
    eventually(
        "the reviewed commission approved",
        Duration::from_secs(10),
        || async {
            (rf::me(&app, &ana).await["balance_minor"].as_i64() == Some(5_000)).then_some(())
        },
    )
    .await;
    browser
        .click("nav.subnav a[href='/vendor/acme/program/payouts']")
        .await;
    browser
        .wait_css("form[action='/vendor/acme/program/payouts']")
        .await;
    assert!(browser.text("main table").await.contains("50.00 EUR"));
    browser.shot("payouts").await;
    browser
        .click("form[action='/vendor/acme/program/payouts'] button[type=submit]")
        .await;
    browser.wait_css("form.mark-paid").await;
    browser.shot("payout-created").await;
    browser
        .fill("form.mark-paid input[name=reference]", "SEPA-2026-001")
        .await;
    browser.click("form.mark-paid button[type=submit]").await;
    browser.wait_text("SEPA-2026-001").await;
    browser.shot("payout-paid").await;
    browser
        .click("nav.subnav a[href='/vendor/acme/program/funnel']")
        .await;
    browser.wait_css("main .chart svg").await;
    let charts = browser
        .script(
            // Each chart keeps its size; its frame (which scrolls on a phone) stays in view.
            r#"return [...document.querySelectorAll('main .chart svg')].map(svg => {
                 const r = svg.getBoundingClientRect();
                 const frame = svg.closest('.chart').getBoundingClientRect();
                 return r.width > 100 && r.height > 50 && frame.right <= window.innerWidth;
               });"#,
        )
        .await;
    assert_eq!(charts, json!([true, true]), "two funnel charts in view");
    browser.shot("funnel").await;
    browser.sign_out().await;

    // The advocate's own dashboard with these sales: figures, chart, commissions by state.
    browser.sign_in(&app.base, &ana.email, PASSWORD).await;
    browser.click("nav a[href='/referrals']").await;
    browser.wait_css("main .chart svg").await;
    let states = browser.text("main .referral table").await;
    assert!(
        states.contains("Paid") && states.contains("50.00 EUR"),
        "{states}"
    );
    browser.shot("advocate-referrals").await;

    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn vendor_journey_on_a_desktop() {
    vendor_journey("vendor_journey_on_a_desktop", Viewport::Desktop).await;
}

#[actix_web::test]
async fn vendor_journey_at_375_px() {
    vendor_journey("vendor_journey_at_375_px", Viewport::Phone).await;
}
