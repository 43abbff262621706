//! Taking an exam in a real headless Chromium, on a phone (375×812) and a 768 px tall laptop:
//! questions a page at a time with Previous/Next and the navigator, flags for review kept by the
//! server (they survive a reload), the summary before submitting (unanswered and flagged questions)
//! and its warning; the side panel never hides Review and submit. Also: the docs' sample bank
//! downloads and imports unchanged, its "(Choose two.)" question's legend agrees, and the dashboard
//! stops offering an exam the person cannot retake yet.

use std::time::Duration;

use serde_json::{json, Value};

use crate::common::browser::{Browser, Viewport};
use crate::common::exams::{self as ex, BankSpec};
use crate::common::{eventually, PASSWORD};
use crate::exams_integrity::{right_first_bank, QUESTIONS};

/// The numbers of the questions shown (not hidden) on the taking page.
async fn shown_numbers(browser: &Browser) -> Vec<u64> {
    browser
        .script(
            "return [...document.querySelectorAll('section.question')].filter(s => !s.hidden)\
               .map(s => Number(s.id.slice(2)));",
        )
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// Waits until exactly the given questions are shown.
async fn wait_shown(browser: &Browser, numbers: &[u64]) {
    eventually(
        &format!("questions {numbers:?} to be shown"),
        Duration::from_secs(10),
        || async { (shown_numbers(browser).await == numbers).then_some(()) },
    )
    .await;
}

/// Picks the first choice of question `n` by clicking its label and waits for "Saved".
async fn answer(browser: &Browser, n: u64) {
    browser.click(&format!("label[for='q-{n}-1']")).await;
    let handle = browser
        .attr(&format!("#q-{n}"), "data-question")
        .await
        .unwrap();
    let state = format!("[data-save-state='{handle}']");
    eventually(
        "the answer to be saved",
        Duration::from_secs(10),
        || async { (browser.text(&state).await == "Saved").then_some(()) },
    )
    .await;
}

/// Flags question `n` with its button and waits for the server to have it.
async fn flag(browser: &Browser, n: u64) {
    let button = format!("#q-{n} [data-flag]");
    browser.click(&button).await;
    eventually("the flag to be saved", Duration::from_secs(10), || async {
        (browser.attr(&button, "aria-pressed").await.as_deref() == Some("true")).then_some(())
    })
    .await;
}

/// The texts of a summary list's entries.
async fn summary_entries(browser: &Browser, list: &str) -> Vec<String> {
    browser
        .script(&format!(
            "return [...document.querySelectorAll('{list} li a')].map(a => a.textContent.trim());"
        ))
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[actix_web::test]
async fn a_phone_candidate_reaches_question_30_flags_two_and_submits_from_the_summary() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &right_first_bank())
        .await
        .expect(201);
    let user = app.user("phone@example.org", "Phone Candidate").await;
    let started = ex::start(&app, &user, "acme", "integrity", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let browser = Browser::start(
        "a_phone_candidate_reaches_question_30_flags_two_and_submits_from_the_summary",
        Viewport::Phone,
    )
    .await;
    browser
        .sign_in(&app.url(""), "phone@example.org", PASSWORD)
        .await;
    browser
        .visit(&app.url(&format!("/attempts/{attempt}")), "first-question")
        .await;

    // One question per page on a phone: the page is about a screen or two, not the whole exam.
    wait_shown(&browser, &[1]).await;
    let heights = browser
        .script("return [document.documentElement.scrollHeight, window.innerHeight];")
        .await;
    let (page, window) = (heights[0].as_f64().unwrap(), heights[1].as_f64().unwrap());
    assert!(
        page < 3.0 * window,
        "the taking page is {page} px tall in a {window} px window"
    );
    assert_eq!(
        browser.text("[data-page-text]").await,
        format!("Question 1 of {QUESTIONS}")
    );
    answer(&browser, 1).await;
    browser.click("[data-page-step='1']").await;
    wait_shown(&browser, &[2]).await;
    browser.shot("next-page").await;
    browser.click("[data-page-step='-1']").await;
    wait_shown(&browser, &[1]).await;

    // The navigator reaches question 30 directly; flag it without answering.
    browser.click(".navigator a[href='#q-30']").await;
    wait_shown(&browser, &[30]).await;
    flag(&browser, 30).await;
    browser.shot("question-30-flagged").await;
    // Question 12: answered and flagged.
    browser.click(".navigator a[href='#q-12']").await;
    wait_shown(&browser, &[12]).await;
    answer(&browser, 12).await;
    flag(&browser, 12).await;
    assert_eq!(browser.text("[data-flagged-count]").await, "2 flagged");
    assert_eq!(
        browser.text("[data-answered-count]").await,
        format!("2 of {QUESTIONS} answered")
    );

    // The server keeps the flags: a reload shows the same page, both flags and the navigator's marks.
    let saved = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&user.token))
        .await
        .expect(200)
        .json();
    let flagged: Vec<&str> = saved["flagged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(flagged.len(), 2, "{saved}");
    browser.client.refresh().await.unwrap();
    browser.wait_css("#exam-form").await;
    wait_shown(&browser, &[12]).await;
    for n in [12, 30] {
        assert_eq!(
            browser
                .attr(&format!("#q-{n} [data-flag]"), "aria-pressed")
                .await
                .as_deref(),
            Some("true"),
            "question {n} flagged after a reload"
        );
        let handle = browser
            .attr(&format!("#q-{n}"), "data-question")
            .await
            .unwrap();
        assert!(flagged.contains(&handle.as_str()), "{handle} is flagged");
        let nav = browser
            .attr(&format!(".navigator a[href='#q-{n}']"), "class")
            .await
            .unwrap_or_default();
        assert!(nav.contains("flagged"), "the navigator marks {n}: {nav}");
    }
    browser.shot("reloaded").await;

    // The summary lists both flags and the 38 unanswered questions (30 among them) and warns.
    browser.click("button[name=action][value=review]").await;
    browser.wait_css("#submit-form").await;
    browser.shot("summary").await;
    assert_eq!(
        summary_entries(&browser, "#flagged").await,
        ["Question 12", "Question 30"]
    );
    let unanswered = summary_entries(&browser, "#unanswered").await;
    assert_eq!(unanswered.len(), QUESTIONS - 2);
    assert!(unanswered.contains(&"Question 30".to_string()));
    assert!(!unanswered.contains(&"Question 12".to_string()));
    assert!(!unanswered.contains(&"Question 1".to_string()));
    assert!(browser.text("#submit-warning").await.contains(&format!(
        "{} of {QUESTIONS} questions are not answered",
        QUESTIONS - 2
    )));

    // Back to question 30 from the summary, answer it, and submit from the summary.
    browser.click("#flagged a[href$='#q-30']").await;
    browser.wait_css("#exam-form").await;
    wait_shown(&browser, &[30]).await;
    answer(&browser, 30).await;
    browser.click("button[name=action][value=review]").await;
    browser.wait_css("#submit-form").await;
    assert_eq!(
        summary_entries(&browser, "#unanswered").await.len(),
        QUESTIONS - 3
    );
    browser
        .click_and_confirm("button[name=action][value=submit]")
        .await;
    browser.wait_css(".result-verdict").await;
    browser.shot("result").await;
    let graded = app
        .get(&format!("/api/v1/attempts/{attempt}"), Some(&user.token))
        .await
        .expect(200)
        .json();
    assert_eq!(graded["status"], "graded");
    // Three right answers (the first choice is the key's place in the file, but choices are shuffled,
    // so only the count of saved answers is known): grading read what was saved.
    assert!(graded["result"]["score_percent"].as_f64().unwrap() <= 7.5);
    browser.close().await;
    app.stop().await;
}

/// Whether the Review and submit button lies inside the window.
async fn review_button_in_view(browser: &Browser) -> bool {
    browser
        .script(
            "const r = document.querySelector('button[name=action][value=review]').getBoundingClientRect();\
             return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;",
        )
        .await
        .as_bool()
        .unwrap()
}

#[actix_web::test]
async fn on_a_768_px_laptop_the_side_panel_keeps_review_and_submit_in_view() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &right_first_bank())
        .await
        .expect(201);
    let user = app.user("laptop@example.org", "Laptop Candidate").await;
    let started = ex::start(&app, &user, "acme", "integrity", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap().to_string();
    let browser = Browser::start(
        "on_a_768_px_laptop_the_side_panel_keeps_review_and_submit_in_view",
        Viewport::Desktop,
    )
    .await;
    browser.client.set_window_size(1280, 768).await.unwrap();
    browser
        .sign_in(&app.url(""), "laptop@example.org", PASSWORD)
        .await;
    browser
        .visit(&app.url(&format!("/attempts/{attempt}")), "taking-page")
        .await;
    // Ten questions per page on a wide screen; every question on one page when chosen (kept).
    wait_shown(&browser, &(1..=10).collect::<Vec<_>>()).await;
    browser
        .client
        .execute(
            "const s = document.getElementById('per-page'); s.value = 'all'; \
             s.dispatchEvent(new Event('change', {bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    wait_shown(&browser, &(1..=QUESTIONS as u64).collect::<Vec<_>>()).await;
    browser.client.refresh().await.unwrap();
    browser.wait_css("#exam-form").await;
    wait_shown(&browser, &(1..=QUESTIONS as u64).collect::<Vec<_>>()).await;
    for position in [
        "0",
        "document.body.scrollHeight / 2",
        "document.body.scrollHeight",
    ] {
        browser
            .script(&format!("window.scrollTo(0, {position}); return true;"))
            .await;
        assert!(
            review_button_in_view(&browser).await,
            "Review and submit is out of view scrolled to {position}"
        );
    }
    browser.shot("all-questions-scrolled").await;
    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn a_vendor_downloads_the_sample_bank_from_the_docs_and_it_imports_unchanged() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    for viewport in [Viewport::Desktop, Viewport::Phone] {
        let browser = Browser::start(
            &format!("a_vendor_downloads_the_sample_bank_{viewport:?}"),
            viewport,
        )
        .await;
        browser.visit(&app.url("/docs"), "docs").await;
        for guide in ["exam-banks", "verify-api", "events", "referrals"] {
            browser
                .visit(&app.url(&format!("/docs/{guide}")), guide)
                .await;
        }
        browser.visit(&app.url("/docs"), "docs-again").await;
        browser.close().await;
    }

    // The link on /docs is the file served; it is uploaded as it is through the console's form.
    let browser = Browser::start("a_vendor_uploads_the_sample_bank", Viewport::Desktop).await;
    browser.visit(&app.url("/docs"), "docs").await;
    let href = browser
        .attr("#samples a[href$='.toml']", "href")
        .await
        .unwrap();
    let download = app.browser().get(app.url(&href)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert!(download
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let bytes = download.bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample-bank.toml");
    std::fs::write(&file, &bytes).unwrap();
    browser
        .sign_in(&app.url(""), &vendor.examiner.email, PASSWORD)
        .await;
    browser
        .visit(&app.url("/vendor/acme/exams"), "vendor-exams")
        .await;
    // The console's "(see the bank format)" is a link to the docs.
    assert_eq!(
        browser
            .attr("#upload a[href='/docs/exam-banks']", "href")
            .await
            .as_deref(),
        Some("/docs/exam-banks")
    );
    browser
        .wait_css("#file")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    // Published at once, so the catalog shows it (unticked, the upload is a draft).
    browser.click("#publish").await;
    browser.click("#upload button[type=submit]").await;
    browser.wait_text("Imported").await;
    browser.shot("imported").await;
    let catalog = app.get("/api/v1/exams", None).await.expect(200).json();
    assert!(
        catalog
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["slug"] == "sample-web-basics"),
        "{catalog}"
    );
    browser.close().await;

    // The same text through the API: recognised as the version just imported, nothing new.
    ex::upload_toml(
        &app,
        &vendor.examiner.token,
        "acme",
        std::str::from_utf8(&bytes).unwrap(),
    )
    .await
    .expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn a_stem_asking_for_two_gets_a_legend_asking_for_two() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    let bank = app
        .browser()
        .get(app.url("/docs/samples/sample-bank.toml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    ex::upload_toml(&app, &vendor.examiner.token, "acme", &bank)
        .await
        .expect(201);
    let user = app.user("legend@example.org", "Legend").await;
    let started = ex::start(&app, &user, "acme", "sample-web-basics", json!({}))
        .await
        .expect(201)
        .json();
    let attempt = started["id"].as_str().unwrap();
    let (client, _) = app.browser_session("legend@example.org").await;
    let page = client
        .get(app.url(&format!("/attempts/{attempt}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let sections: Vec<&str> = page.split("<section class=\"question\"").skip(1).collect();
    let two = sections
        .iter()
        .find(|s| s.contains("(Choose two.)"))
        .expect("the sample's multiple-answer question is on every form");
    assert!(two.contains("<legend>Choose two answers</legend>"), "{two}");
    assert!(!two.contains("Choose all that apply"));
    for section in sections.iter().filter(|s| s.contains("type=\"radio\"")) {
        assert!(section.contains("<legend>Choose one answer</legend>"));
    }
    app.stop().await;
}

#[actix_web::test]
async fn the_dashboard_says_when_an_exam_can_be_taken_again_instead_of_offering_it() {
    let app = ex::start_app().await;
    let vendor = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(
        &app,
        &vendor,
        &BankSpec {
            cooldown_days: 30,
            ..BankSpec::free("cloud")
        },
    )
    .await;
    ex::publish(&app, &vendor, &BankSpec::free("other")).await;
    let user = app.user("retake@example.org", "Retake").await;
    let (client, _) = app.browser_session("retake@example.org").await;
    let dashboard = |client: reqwest::Client| {
        let url = app.url("/dashboard");
        async move { client.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let before = dashboard(client.clone()).await;
    assert!(before.contains("href=\"/exams/acme/cloud\""));
    assert!(!before.contains("retake-not-yet"));

    let failed: Value = ex::fail_exam(&app, &user, "acme", "cloud").await;
    assert_eq!(failed["passed"], false);
    let after = dashboard(client).await;
    let (available, not_yet) = after
        .split_once("id=\"retake-not-yet\"")
        .expect("a Not yet list");
    assert!(
        !available
            .split_once("Available exams")
            .unwrap()
            .1
            .contains("href=\"/exams/acme/cloud\""),
        "the exam is still offered:\n{after}"
    );
    assert!(available.contains("href=\"/exams/acme/other\""));
    assert!(not_yet.contains("href=\"/exams/acme/cloud\""), "{not_yet}");
    assert!(not_yet.contains("you can take it again from"), "{not_yet}");
    assert!(not_yet.contains("wait 30 days"), "{not_yet}");
    app.stop().await;
}
