//! The whole certification path through the public interfaces, on both backends:
//! bank upload → attempt → pass → credential mailed → verify valid → revoke → verify revoked.

use crate::common::exams::{pass_exam, publish, vendor_with_examiner, BankSpec};
use serde_json::{json, Value};

#[actix_web::test]
async fn bank_to_revoked_credential() {
    let app = crate::common::exams::start_app().await;
    let vendor = vendor_with_examiner(&app, "acme").await;
    publish(&app, &vendor, &BankSpec::free("acme-basics")).await;
    let holder = app
        .register_and_verify("holder@example.org", "Hedy Holder")
        .await;

    let result = pass_exam(&app, &holder, "acme", "acme-basics").await;
    assert_eq!(result["passed"], true);
    let credential_id = result["credential_id"]
        .as_str()
        .expect("a pass issues a credential")
        .to_string();

    // The certificate mail carries the signed JSON, the same bytes the API serves.
    let mail = app
        .smtp
        .wait_for(&holder.email, |m| m.subject.contains("certificate"))
        .await;
    assert!(
        mail.text.contains(&format!("/c/{credential_id}")),
        "{}",
        mail.text
    );
    let (name, attached) = mail
        .attachments
        .first()
        .expect("the credential is attached");
    assert!(name.ends_with(".json"));
    let served = app
        .get(&format!("/api/v1/credentials/{credential_id}"), None)
        .await
        .expect(200);
    assert_eq!(attached.as_slice(), served.text.as_bytes());
    let credential: Value = serde_json::from_slice(attached).unwrap();
    assert_eq!(
        credential["credentialSubject"]["achievement"]["achievementType"],
        "Certification"
    );

    let verdict = app
        .post("/api/v1/verify", None, credential.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(verdict["status"], "valid", "{verdict}");
    assert_eq!(verdict["verified"], true);
    assert_eq!(verdict["credential_id"], credential_id.as_str());

    // The vendor's examiner revokes it with a reason.
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{credential_id}/revoke"),
        Some(&vendor.examiner.token),
        json!({"reason": "exam content was leaked"}),
    )
    .await
    .expect(200);
    let verdict = app
        .post("/api/v1/verify", None, credential)
        .await
        .expect(200)
        .json();
    assert_eq!(verdict["status"], "revoked", "{verdict}");
    assert_eq!(verdict["verified"], false);
    assert_eq!(verdict["revocation_reason"], "exam content was leaked");
    let page = app
        .get(&format!("/c/{credential_id}"), None)
        .await
        .expect(200);
    assert!(page.text.contains("exam content was leaked"));
    app.smtp
        .wait_for(&holder.email, |m| m.subject.contains("revoked"))
        .await;
    app.stop().await;
}

/// Certification is the reward tier: passing the vendor's exam raises an advocate's rate for
/// invoices after that moment; a revocation lowers it again; commissions keep their snapshot. Exam
/// fees never earn anything.
#[actix_web::test]
async fn passing_and_revoking_move_the_referral_tier() {
    use crate::common::referrals::{event, me, program_body, rfc3339};
    use chrono::Duration;

    let app = crate::common::exams::start_app().await;
    let vendor = vendor_with_examiner(&app, "acme").await;
    publish(&app, &vendor, &BankSpec::paid("acme-basics", 15_000)).await;
    let program = app
        .put(
            "/api/v1/vendors/acme/program",
            Some(&vendor.owner.token),
            program_body("acme-basics"),
        )
        .await
        .expect(200)
        .json();
    let program_id = program["id"].as_str().unwrap().to_string();
    let key = app.api_key("acme", &vendor.owner).await;
    let advocate = app.user("ana@example.org", "Ana Advocate").await;

    let enrolled = app
        .post(
            &format!("/api/v1/programs/{program_id}/enrollments"),
            Some(&advocate.token),
            json!({"accept_terms_version": "2026-01"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(enrolled["tier"], "member");
    let code = enrolled["referral_code"].as_str().unwrap();
    app.post(
        &format!("/api/v1/programs/{program_id}/customers"),
        Some(&key),
        json!({"external_id": "cus_1", "referral_code": code}),
    )
    .await
    .expect(201);
    let post_event = |body: Value| {
        let (app, key, program_id) = (&app, key.clone(), program_id.clone());
        async move {
            app.post(
                &format!("/api/v1/programs/{program_id}/events"),
                Some(&key),
                body,
            )
            .await
            .expect(201)
            .json()
        }
    };
    app.state.clock.advance(Duration::minutes(1));
    let before = post_event(event(&app, "e1", "invoice_paid", "i1", "cus_1", 10_000)).await;
    assert_eq!(before["effect"]["commissions"][0]["rate_bps"], 1000);

    // The advocate pays the exam fee with a voucher and passes: a certified tier, and the fee
    // itself earns nobody anything.
    let codes = app
        .post(
            "/api/v1/vendors/acme/exams/acme-basics/vouchers",
            Some(&vendor.examiner.token),
            json!({"count": 1}),
        )
        .await
        .expect(201)
        .json();
    let voucher = codes["codes"][0].as_str().unwrap();
    let started = crate::common::exams::start(
        &app,
        &advocate,
        "acme",
        "acme-basics",
        json!({"voucher": voucher}),
    )
    .await
    .expect(201)
    .json();
    let all = crate::common::exams::question_ids(&app, &started).await;
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    crate::common::exams::answer_all(&app, &advocate, &started, &refs).await;
    let result = crate::common::exams::submit(&app, &advocate, started["id"].as_str().unwrap())
        .await
        .expect(200)
        .json();
    let credential_id = result["credential_id"].as_str().unwrap().to_string();
    assert_eq!(me(&app, &advocate).await["tier"], "certified");
    assert_eq!(
        crate::common::exams::count_rows(&app, "SELECT COUNT(*) AS n FROM commissions").await,
        1
    );

    app.state.clock.advance(Duration::minutes(1));
    let certified = post_event(event(&app, "e2", "invoice_paid", "i2", "cus_1", 10_000)).await;
    assert_eq!(certified["effect"]["commissions"][0]["rate_bps"], 2000);
    assert_eq!(certified["effect"]["commissions"][0]["tier"], "certified");

    // The examiner revokes the credential: new invoices earn the base rate again.
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{credential_id}/revoke"),
        Some(&vendor.examiner.token),
        json!({"reason": "identity could not be confirmed"}),
    )
    .await
    .expect(200);
    assert_eq!(me(&app, &advocate).await["tier"], "member");
    app.state.clock.advance(Duration::minutes(1));
    let mut after_body = event(&app, "e3", "invoice_paid", "i3", "cus_1", 10_000);
    after_body["occurred_at"] = json!(rfc3339(app.state.clock.now()));
    let after = post_event(after_body).await;
    assert_eq!(after["effect"]["commissions"][0]["rate_bps"], 1000);

    // The certified commission kept its snapshot.
    let listed = app
        .get(
            &format!("/api/v1/programs/{program_id}/commissions"),
            Some(&vendor.owner.token),
        )
        .await
        .expect(200)
        .json();
    let rates: Vec<i64> = listed
        .as_array()
        .or_else(|| listed["commissions"].as_array())
        .expect("a list of commissions")
        .iter()
        .map(|c| c["rate_bps"].as_i64().unwrap())
        .collect();
    let mut sorted = rates.clone();
    sorted.sort();
    assert_eq!(sorted, vec![1000, 1000, 2000], "{listed}");
    app.stop().await;
}
