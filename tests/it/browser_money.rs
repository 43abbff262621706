//! Money and tiers as people type and read them, in a real headless Chromium on a desktop window
//! and at 375 px: the program manager creates the program with a minimum payout in dollars and a
//! named tier at a percentage, its exam ticked from the vendor's exams; an amount with more
//! decimals than the currency has is refused next to its field; the API keeps integer cents and
//! basis points; the public program page, its terms and the advocate's dashboard read dollars and
//! percent, the tier's name and the exam's title.

use crate::common::browser::{Browser, Viewport};
use crate::common::referrals as rf;
use crate::common::{TestApp, PASSWORD};

const SUBMIT: &str = "form[action='/vendor/acme/program'] > button[type=submit]";

async fn program_in_units(test: &str, viewport: Viewport) {
    let app = TestApp::start().await;
    let owner = app.user("owner@acme.example", "Acme Owner").await;
    app.vendor("acme", &owner).await;
    let manager = app.user("pm@acme.example", "Program Manager").await;
    app.add_member("acme", &owner, &manager, "program_manager")
        .await;
    rf::ensure_exam(&app, "acme", "acme-admin").await;
    rf::ensure_exam(&app, "acme", "acme-ops").await;
    let browser = Browser::start(test, viewport).await;

    // A new program: dollars with a cent too many are refused next to the field, and what was
    // typed and ticked is kept.
    browser.sign_in(&app.base, &manager.email, PASSWORD).await;
    browser.click("nav a[href='/vendor']").await;
    browser.click("main a[href='/vendor/acme']").await;
    browser.click("main a[href='/vendor/acme/program']").await;
    browser.wait_css("#min_payout").await;
    browser.shot("new-program").await;
    browser.fill("#currency", "USD").await;
    browser
        .fill("#landing_url", "https://acme.example/pricing")
        .await;
    browser.fill("#min_payout", "50.001").await;
    browser.fill("#tier_name_2", "Certified partner").await;
    browser.fill("#tier_rate_2", "12.5").await;
    browser
        .click("input[name=tier_requires][value='2:acme-admin']")
        .await;
    browser.click(SUBMIT).await;
    browser.wait_css("#min_payout-error").await;
    browser.shot("too-many-decimals").await;
    let error = browser.text("#min_payout-error").await;
    assert!(error.contains("USD amounts have 2 decimals"), "{error}");
    assert_eq!(
        browser.attr("#min_payout", "aria-invalid").await.as_deref(),
        Some("true")
    );
    let ticked = browser
        .script(
            "return [...document.querySelectorAll('input[name=tier_requires]:checked')].map(i => i.value);",
        )
        .await;
    assert_eq!(ticked, serde_json::json!(["2:acme-admin"]));

    browser.fill("#min_payout", "50.00").await;
    browser.click(SUBMIT).await;
    browser.wait_text("The program is saved").await;
    browser.shot("program-saved").await;
    assert_eq!(
        browser.attr("#min_payout", "value").await.as_deref(),
        Some("50.00")
    );
    assert_eq!(
        browser.attr("#tier_rate_2", "value").await.as_deref(),
        Some("12.5")
    );

    // The API keeps cents and basis points.
    let program = app
        .get("/api/v1/vendors/acme/program", Some(&manager.token))
        .await
        .expect(200)
        .json();
    assert_eq!(program["min_payout_minor"], 5000);
    assert_eq!(program["tiers"][1]["rate_bps"], 1250);
    assert_eq!(program["tiers"][1]["name"], "Certified partner");
    assert_eq!(program["tiers"][1]["code"], "certified-partner");
    assert_eq!(
        program["tiers"][1]["requires_current_credentials"],
        serde_json::json!(["acme-admin"])
    );
    let program_id = program["id"].as_str().unwrap().to_string();
    browser.sign_out().await;

    // An advocate reads dollars, percent, the tier's name and the exam's title, in the
    // program's facts and in its terms, then joins.
    let ana = app.user("ana@partner.example", "Ana Advocate").await;
    browser.sign_in(&app.base, &ana.email, PASSWORD).await;
    browser
        .visit(&app.url(&format!("/programs/{program_id}")), "program")
        .await;
    let page = browser.text("main").await;
    for shown in [
        "50.00 USD",
        "12.5 %",
        "Certified partner",
        "current certification: Exam acme-admin",
        "payouts start at a balance of 50.00 USD",
    ] {
        assert!(page.contains(shown), "{shown:?} in {page}");
    }
    for hidden in ["5000", "1250", "bps", "minor units", "acme-admin,"] {
        assert!(!page.contains(hidden), "{hidden:?} in {page}");
    }
    browser.click("label.check").await;
    browser
        .click(&format!(
            "form[action='/programs/{program_id}/enroll'] button[type=submit]"
        ))
        .await;
    browser.wait_css("#link-0").await;
    browser.shot("advocate-dashboard").await;
    let referral = browser.text(".referral").await;
    assert!(
        referral.contains("You are in tier Member, earning 10 %"),
        "{referral}"
    );
    assert!(
        referral.contains(
            "Next tier: Certified partner (12.5 %). It needs a current certification in: Exam acme-admin."
        ),
        "{referral}"
    );
    browser
        .visit(
            &app.url(&format!("/programs/{program_id}/disclosure")),
            "disclosure",
        )
        .await;
    let disclosure = browser.text("main").await;
    assert!(
        disclosure.contains("50.00 USD") && disclosure.contains("12.5 %"),
        "{disclosure}"
    );

    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn program_in_currency_units_on_a_desktop() {
    program_in_units("program_in_currency_units_on_a_desktop", Viewport::Desktop).await;
}

#[actix_web::test]
async fn program_in_currency_units_at_375_px() {
    program_in_units("program_in_currency_units_at_375_px", Viewport::Phone).await;
}
