//! Referral network through the HTTP API: program, enrollment, click, binding, billing events,
//! commissions, approval, refunds, clawbacks and payouts.

mod common;

use chrono::Duration;
use common::referrals::*;
use common::{eventually, TestApp};
use serde_json::json;

#[actix_web::test]
async fn click_bind_invoice_commission_and_approval() {
    let app = TestApp::start().await;
    let shop = shop(&app, "acme").await;
    let ana = app.user("ana@example.org", "Ana Advocate").await;
    let enrollment = enroll(&app, &shop, &ana).await;
    let code = enrollment["referral_code"].as_str().unwrap().to_string();
    assert!(code.starts_with("ANAADV-"), "{code}");
    assert_eq!(enrollment["tier"], "member");
    assert_eq!(enrollment["link"], app.url(&format!("/r/{code}")));
    assert!(enrollment["disclosure"].as_str().unwrap().contains("commission"));

    let click_id = click(&app, &code).await;
    let bound = bind(&app, &shop, json!({"external_id": "cus_1", "click_id": click_id, "email": "buyer@client.example"}))
        .await
        .expect(201)
        .json();
    assert_eq!(bound["referral_code"], code.as_str());

    let answer = post_event(&app, &shop, event(&app, "evt_1", "invoice_paid", "inv_1", "cus_1", 15_000))
        .await
        .expect(201)
        .json();
    assert_eq!(answer["effect"]["outcome"], "commission_created");
    let commission = &answer["effect"]["commissions"][0];
    assert_eq!(commission["amount_minor"], 1500);
    assert_eq!(commission["rate_bps"], 1000);
    assert_eq!(commission["tier"], "member");
    assert_eq!(commission["status"], "pending");
    let id = commission["id"].as_str().unwrap().to_string();

    app.state.clock.advance(Duration::days(15));
    eventually("approval", std::time::Duration::from_secs(10), || async {
        (commission_status(&app, &shop, &id).await["status"] == "approved").then_some(())
    })
    .await;
    app.smtp
        .wait_for("ana@example.org", |m| m.subject.contains("Commission approved"))
        .await;
    let me = me(&app, &ana).await;
    assert_eq!(me["balance_minor"], 1500);
    assert_eq!(me["clicks"], 1);
    assert_eq!(me["customers"], 1);
    app.stop().await;
}
