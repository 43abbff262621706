//! Referral pages in a cookie-keeping browser: program page and enroll form, the referral
//! dashboard (link, disclosure, copy button, tier, figures), the dashboard section, and the
//! vendor's program console (settings and tiers with field errors, advocates, events,
//! commissions with hold review, payouts with mark-paid, funnel chart).

use std::time::Duration as StdDuration;

use crate::common::referrals::*;
use crate::common::{csrf_token_in, eventually, TestApp};
use serde_json::json;

#[actix_web::test]
async fn practitioner_enrolls_on_the_program_page_and_sees_the_dashboard() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana Advocate").await;

    let anonymous = app.get("/referrals", None).await.expect(303);
    assert!(anonymous.header("location").unwrap().starts_with("/login"));
    let public = app
        .get(&format!("/programs/{}", shop.id()), None)
        .await
        .expect(200);
    assert!(public.text.contains("Sign in to join"));

    let (browser, _) = app.browser_session("ana@example.org").await;
    let (status, list) = page(&browser, &app, "/programs").await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("/programs/{}", shop.id())));
    assert!(list.contains("10 % to 20 %"));

    let path = format!("/programs/{}", shop.id());
    let (status, program) = page(&browser, &app, &path).await;
    assert_eq!(status, 200);
    assert!(program.contains("Be honest. Say that your link earns a commission."));
    assert!(program.contains("name=\"accept_terms\""));
    assert!(program.contains("current certification: Exam acme-admin"));
    let csrf = csrf_token_in(&program);

    // Without ticking the box: the error is shown next to it.
    let (status, _, body) = submit(
        &browser,
        &app,
        &format!("{path}/enroll"),
        &[("csrf_token", &csrf), ("terms_version", "2026-01")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"accept_terms-error\""));
    assert!(body.contains("aria-invalid=\"true\""));
    // Without the CSRF token: refused.
    let (status, _, _) = submit(
        &browser,
        &app,
        &format!("{path}/enroll"),
        &[("terms_version", "2026-01"), ("accept_terms", "yes")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, location, _) = submit(
        &browser,
        &app,
        &format!("{path}/enroll"),
        &[
            ("csrf_token", &csrf),
            ("terms_version", "2026-01"),
            ("accept_terms", "yes"),
        ],
    )
    .await;
    assert_eq!((status, location.as_deref()), (303, Some("/referrals")));

    let (status, dashboard) = page(&browser, &app, "/referrals").await;
    assert_eq!(status, 200);
    let code = me(&app, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let link = app.url(&format!("/r/{code}"));
    assert!(dashboard.contains(&format!("value=\"{link}\"")));
    assert!(dashboard.contains("data-copy=\"#link-0\""));
    assert!(dashboard.contains("earns a commission"));
    assert!(
        dashboard.contains("referral link — I earn a commission"),
        "share text discloses"
    );
    assert!(dashboard.contains("tier <strong>Member</strong>"));
    assert!(dashboard.contains("current certification in: Exam acme-admin"));
    assert!(dashboard.contains("balance (approved, unpaid)"));
    assert!(
        dashboard.contains("No clicks yet") && !dashboard.contains("<svg"),
        "no activity yet: said in words, not drawn as empty bars"
    );
    assert!(!dashboard.contains("<script>"), "no inline scripts");

    // The program page now shows the link with its disclosure.
    let (_, program) = page(&browser, &app, &path).await;
    assert!(program.contains("You are enrolled"));
    assert!(program.contains(&link));
    assert!(program.contains("earns a commission"));
    assert!(!program.contains("name=\"accept_terms\""));

    // The dashboard section for /dashboard.
    let now = app.state.clock.now();
    let keys = app.state.session_keys.clone();
    let token = ana.token.clone();
    let user = app
        .state
        .db(move |c| credo::accounts::authenticate_session(c, &keys, &token, now))
        .await
        .unwrap();
    let section = credo::http::pages::referrals::dashboard_section(&app.state, &user)
        .await
        .unwrap();
    assert!(section.starts_with("<section class=\"card\">"));
    assert!(section.contains(&link));
    assert!(section.contains("earns a commission"));
    app.stop().await;
}

#[actix_web::test]
async fn vendor_console_settings_tiers_review_payouts_and_funnel() {
    let app = TestApp::start().await;
    let shop = shop_with(&app, "acme", |p| p["hold_days"] = json!(0)).await;
    let ana = app.user("ana@acme-partner.example", "Ana").await;
    let code = enroll(&app, &shop, &ana).await["referral_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (browser, _) = app.browser_session(&shop.manager.email).await;

    // Settings and tiers: current values and the webhook secret.
    let (status, settings) = page(&browser, &app, "/vendor/acme/program").await;
    assert_eq!(status, 200);
    assert!(settings.contains("value=\"https://shop.example/pricing?plan=team\""));
    assert!(settings.contains(&shop.secret()));
    assert!(settings.contains("value=\"certified\""));
    assert!(settings.contains("id=\"min_payout\" name=\"min_payout\" type=\"text\" inputmode=\"decimal\" required value=\"10.00\""));
    assert!(
        settings.contains("value=\"20\""),
        "the certified rate in percent"
    );
    assert!(settings.contains("value=\"2:acme-admin\" checked"));
    assert!(settings.contains("Exam acme-admin"), "exams by title");
    for internal in ["bps", "minor units", "basis points", "Rank"] {
        assert!(
            !settings.contains(internal),
            "{internal} on the settings page"
        );
    }
    let csrf = csrf_token_in(&settings);
    let base = [
        ("csrf_token", csrf.as_str()),
        ("currency", "EUR"),
        ("landing_url", "https://shop.example/pricing?plan=team"),
        ("attribution_window_days", "30"),
        ("hold_days", "0"),
        ("commission_months", "12"),
        ("min_payout", "10.00"),
        ("terms_version", "2026-01"),
        ("terms_text", ""),
    ];
    let tiers = |certified_rate: &'static str, certified_exam: &'static str| {
        [
            ("tier_name", "Member"),
            ("tier_code", "member"),
            ("tier_level", "1"),
            ("tier_rate", "12"),
            ("tier_name", "Certified partner"),
            ("tier_code", ""),
            ("tier_level", "2"),
            ("tier_rate", certified_rate),
            ("tier_requires", certified_exam),
            ("tier_name", ""),
            ("tier_code", ""),
            ("tier_level", "3"),
            ("tier_rate", ""),
        ]
    };
    let with = |changes: &[(&'static str, &'static str)],
                tier_fields: [(&'static str, &'static str); 13]| {
        let mut form: Vec<(&str, &str)> = base.to_vec();
        for (name, value) in changes {
            if let Some(field) = form.iter_mut().find(|(n, _)| n == name) {
                field.1 = value;
            }
        }
        form.extend(tier_fields);
        form
    };
    // Errors next to their fields: a bad currency and a rate above 100 % (read by the page)...
    let bad = with(&[("currency", "EURO")], tiers("250", "2:acme-admin"));
    let (status, _, body) = submit(&browser, &app, "/vendor/acme/program", &bad).await;
    assert_eq!(status, 422);
    assert!(
        body.contains("id=\"currency-error\""),
        "currency error shown"
    );
    assert!(body.contains("id=\"tier-2-error\""), "tier row error shown");
    assert!(body.contains("Rate: enter a percentage from 0 to 100"));
    assert!(body.contains("value=\"EURO\""), "the typed values are kept");
    assert!(
        body.contains("value=\"2:acme-admin\" checked"),
        "ticks kept"
    );
    // ...a cent fraction the currency doesn't have...
    let bad = with(&[("min_payout", "10.001")], tiers("25", "2:acme-admin"));
    let (status, _, body) = submit(&browser, &app, "/vendor/acme/program", &bad).await;
    assert_eq!(status, 422);
    assert!(body.contains("id=\"min_payout-error\""));
    assert!(body.contains("EUR amounts have 2 decimals;") && body.contains("10.001"));
    // ...and an exam that isn't ours (no checkbox offers it; a forged form is still refused).
    let bad = with(&[], tiers("25", "2:other-exam"));
    let (status, _, body) = submit(&browser, &app, "/vendor/acme/program", &bad).await;
    assert_eq!(status, 422);
    assert!(body.contains("Required certifications: acme has no exam with slug"));
    let unchanged = app
        .get("/api/v1/vendors/acme/program", Some(&shop.key))
        .await
        .expect(200)
        .json();
    assert_eq!(unchanged["min_payout_minor"], 1000);
    assert_eq!(unchanged["tiers"][1]["rate_bps"], 2000);

    let good = with(&[], tiers("12.5", "2:acme-admin"));
    let (status, location, _) = submit(&browser, &app, "/vendor/acme/program", &good).await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/vendor/acme/program?saved=1"))
    );
    let program = app
        .get("/api/v1/vendors/acme/program", Some(&shop.key))
        .await
        .expect(200)
        .json();
    assert_eq!(program["min_payout_minor"], 1000);
    assert_eq!(program["tiers"][0]["rate_bps"], 1200);
    assert_eq!(program["tiers"][1]["rate_bps"], 1250);
    assert_eq!(program["tiers"][1]["name"], "Certified partner");
    assert_eq!(program["tiers"][1]["code"], "certified-partner");

    // A self-referral to review, and a clean sale.
    bind(
        &app,
        &shop,
        json!({"external_id": "c1", "referral_code": code, "email": "it@acme-partner.example"}),
    )
    .await
    .expect(201);
    let held = post_event(
        &app,
        &shop,
        event(&app, "e1", "invoice_paid", "i1", "c1", 10_000),
    )
    .await
    .expect(201)
    .json();
    let held_id = held["effect"]["commissions"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(held["effect"]["commissions"][0]["held"], true);

    let (status, advocates) = page(&browser, &app, "/vendor/acme/program/advocates").await;
    assert_eq!(status, 200);
    assert!(advocates.contains(&code));
    assert!(advocates.contains("ana@acme-partner.example"));
    let (status, events) = page(&browser, &app, "/vendor/acme/program/events").await;
    assert_eq!(status, 200);
    assert!(events.contains("commission created"));
    let (status, commissions) = page(&browser, &app, "/vendor/acme/program/commissions").await;
    assert_eq!(status, 200);
    assert!(commissions.contains("possible self-referral"));
    let review_form = format!("/vendor/acme/program/commissions/{held_id}/clear-hold");
    assert!(commissions.contains(&review_form));
    let (status, _, _) = submit(
        &browser,
        &app,
        &review_form,
        &[("csrf_token", &csrf), ("note", "their client")],
    )
    .await;
    assert_eq!(status, 303);
    eventually(
        "approved after review",
        StdDuration::from_secs(10),
        || async {
            (commission_status(&app, &shop, &held_id).await["status"] == "approved").then_some(())
        },
    )
    .await;

    // Payouts: create, mark paid with a reference, CSV link.
    let (status, payouts) = page(&browser, &app, "/vendor/acme/program/payouts").await;
    assert_eq!(status, 200);
    assert!(payouts.contains("12.00 EUR"), "balance shown");
    let (status, _, _) = submit(
        &browser,
        &app,
        "/vendor/acme/program/payouts",
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(status, 303);
    let (_, payouts) = page(&browser, &app, "/vendor/acme/program/payouts").await;
    let payout_id = payouts
        .split("/vendor/acme/program/payouts/")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("a mark-paid form")
        .to_string();
    let paid_path = format!("/vendor/acme/program/payouts/{payout_id}/paid");
    let (status, _, body) = submit(
        &browser,
        &app,
        &paid_path,
        &[("csrf_token", &csrf), ("reference", " ")],
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("Reference"));
    let (status, _, _) = submit(
        &browser,
        &app,
        &paid_path,
        &[("csrf_token", &csrf), ("reference", "SEPA-77")],
    )
    .await;
    assert_eq!(status, 303);
    let (_, payouts) = page(&browser, &app, "/vendor/acme/program/payouts").await;
    assert!(payouts.contains("ref. SEPA-77"));
    let csv_link = format!("/api/v1/programs/{}/payouts.csv", shop.id());
    assert!(payouts.contains(&csv_link));
    let csv = browser.get(app.url(&csv_link)).send().await.unwrap();
    assert_eq!(csv.status().as_u16(), 200);
    assert!(csv.text().await.unwrap().contains("SEPA-77"));

    // Funnel with SVG charts.
    let (status, funnel) = page(&browser, &app, "/vendor/acme/program/funnel").await;
    assert_eq!(status, 200);
    assert_eq!(funnel.matches("<svg").count(), 2);
    assert!(funnel.contains("Registered"));

    // Suspending from the advocates page turns the link off.
    let enrollment_id = me(&app, &ana).await["id"].as_str().unwrap().to_string();
    let (status, _, _) = submit(
        &browser,
        &app,
        &format!("/vendor/acme/program/advocates/{enrollment_id}/status"),
        &[("csrf_token", &csrf), ("status", "suspended")],
    )
    .await;
    assert_eq!(status, 303);
    app.get(&format!("/r/{code}"), None).await.expect(404);

    // Practitioners and other vendors' staff don't get in.
    let (ana_browser, _) = app.browser_session("ana@acme-partner.example").await;
    let (status, _) = page(&ana_browser, &app, "/vendor/acme/program").await;
    assert_eq!(status, 403);
    let (status, _) = page(&ana_browser, &app, "/vendor/acme/program/payouts").await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[actix_web::test]
async fn vendor_creates_its_program_from_the_console() {
    let app = TestApp::start().await;
    let owner = app.user("owner@globex.example", "Owner").await;
    app.vendor("globex", &owner).await;
    let (browser, _) = app.browser_session("owner@globex.example").await;
    let (status, form) = page(&browser, &app, "/vendor/globex/program").await;
    assert_eq!(status, 200);
    assert!(form.contains("Create the program"));
    let (status, _) = page(&browser, &app, "/vendor/globex/program/payouts").await;
    assert_eq!(status, 404, "no program yet");
    let csrf = csrf_token_in(&form);
    let (status, location, _) = submit(
        &browser,
        &app,
        "/vendor/globex/program",
        &[
            ("csrf_token", &csrf),
            ("currency", "USD"),
            ("landing_url", "https://globex.example/"),
            ("attribution_window_days", "60"),
            ("hold_days", "30"),
            ("commission_months", "12"),
            ("min_payout", "50"),
            ("terms_version", "1"),
            ("terms_text", ""),
            ("tier_name", "Member"),
            ("tier_code", ""),
            ("tier_level", "1"),
            ("tier_rate", "8"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_deref()),
        (303, Some("/vendor/globex/program?saved=1"))
    );
    let public = app
        .get("/api/v1/programs/globex", None)
        .await
        .expect(200)
        .json();
    assert_eq!(public["currency"], "USD");
    assert_eq!(public["min_payout_minor"], 5000);
    assert_eq!(public["tiers"][0]["code"], "member");
    assert_eq!(public["tiers"][0]["rate_bps"], 800);
    let terms = public["terms_text"].as_str().unwrap();
    assert!(terms.contains("nothing is paid for recruiting"));
    assert!(terms.contains("payouts start at a balance of 50.00 USD"));
    app.stop().await;
}
