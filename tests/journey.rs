//! The whole certification path through the public interfaces, on both backends:
//! bank upload → attempt → pass → credential mailed → verify valid → revoke → verify revoked.

mod common;

use common::exams::{pass_exam, publish, vendor_with_examiner, BankSpec};
use serde_json::{json, Value};

#[actix_web::test]
async fn bank_to_revoked_credential() {
    let app = common::exams::start_app().await;
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
