//! Credential pages and revocation rights: the public certificate page, the verify page (paste
//! and upload), the vendor's credential list with revocation, the dashboard section, and who may
//! revoke through the API.

use crate::common::credentials::{self as cred, certify, credential_json};
use crate::common::{csrf_token_in, TestApp};
use serde_json::json;

async fn page(app: &TestApp, path: &str) -> (u16, String) {
    let answer = app.get(path, None).await;
    (answer.status.as_u16(), answer.text)
}

/// "Revoked on <date>" as pages say it, the date taken from the verify API's answer.
async fn revoked_on(app: &TestApp, credential: &serde_json::Value) -> String {
    let answer = app
        .post("/api/v1/verify", None, credential.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(answer["status"], "revoked", "{answer}");
    let revoked_at = answer["revoked_at"].as_str().expect("revoked_at");
    let date = chrono::DateTime::parse_from_rfc3339(revoked_at).unwrap();
    format!("Revoked on {}", date.format("%-d %B %Y"))
}

#[actix_web::test]
async fn certificate_page_shows_holder_status_qr_linkedin_and_json() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 24, None).await;
    let holder = app.user("holder@example.org", "Ada <Lovelace>").await;
    let id = certify(&app, &exam, &holder).await;

    let (status, html) = page(&app, &format!("/c/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Ada &lt;Lovelace&gt;") || html.contains("Ada &#60;Lovelace&#62;"),
        "holder name, escaped"
    );
    assert!(!html.contains("Ada <Lovelace>"));
    assert!(html.contains("acme Certified git"));
    assert!(html.contains("acme Inc."));
    assert!(html.contains("status-banner valid"));
    assert!(html.contains(">Valid<"));
    assert!(html.contains("<svg role=\"img\""), "QR code");
    assert!(html.contains(&format!("/api/v1/credentials/{id}?download=1")));
    let linkedin = html
        .split("href=\"https://www.linkedin.com/profile/add?")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("LinkedIn link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let params: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(linkedin.as_bytes())
            .into_owned()
            .collect();
    let vc = credential_json(&app, &id).await;
    let from = vc["validFrom"].as_str().unwrap();
    let until = vc["validUntil"].as_str().unwrap();
    assert_eq!(params["startTask"], "CERTIFICATION_NAME");
    assert_eq!(params["name"], "acme Certified git");
    assert_eq!(params["organizationName"], "acme Inc.");
    assert_eq!(params["issueYear"], &from[..4]);
    assert_eq!(params["issueMonth"], from[5..7].trim_start_matches('0'));
    assert_eq!(params["expirationYear"], &until[..4]);
    assert_eq!(
        params["expirationMonth"],
        until[5..7].trim_start_matches('0')
    );
    assert_eq!(params["certId"], id);
    assert_eq!(params["certUrl"], app.url(&format!("/c/{id}")));
    let (status, _) = page(&app, "/c/no-such-credential").await;
    assert_eq!(status, 404);

    // Superseded by a new pass: the old page says so and links the new one.
    let newer = certify(&app, &exam, &holder).await;
    let (_, html) = page(&app, &format!("/c/{id}")).await;
    assert!(
        html.contains("A newer credential replaces this one"),
        "superseded notice"
    );
    assert!(html.contains(&format!("/c/{newer}")));

    // Revoked: the page shows it with the reason.
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
        Some(&vendor.owner.token),
        json!({"reason": "Identity could not be confirmed"}),
    )
    .await
    .expect(200);
    let (_, html) = page(&app, &format!("/c/{id}")).await;
    assert!(html.contains("status-banner revoked"));
    let revoked_on = revoked_on(&app, &vc).await;
    assert!(
        html.contains(&format!("{revoked_on}: Identity could not be confirmed")),
        "{html}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn verify_page_takes_pasted_json_or_an_uploaded_file() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 1, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let json_text = app
        .get(&format!("/api/v1/credentials/{id}"), None)
        .await
        .text;

    let browser = app.browser();
    let form = browser
        .get(app.url("/verify"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("<textarea id=\"credential\""));
    assert!(form.contains("type=\"file\""));
    let token = csrf_token_in(&form);
    let post = |fields: Vec<(&'static str, String)>| {
        let browser = browser.clone();
        let url = app.url("/verify");
        async move {
            let answer = browser.post(url).form(&fields).send().await.unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };

    // Pasted: valid.
    let (status, html) = post(vec![
        ("csrf_token", token.clone()),
        ("credential", json_text.clone()),
    ])
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("status-banner valid"), "{html}");
    assert!(html.contains("Signature"));
    assert!(html.contains("Revocation status"));

    // Tampered: invalid, naming the failing check.
    let tampered = json_text.replace("acme Certified git", "acme Certified Rocket Science");
    let (_, html) = post(vec![
        ("csrf_token", token.clone()),
        ("credential", tampered),
    ])
    .await;
    assert!(html.contains("status-banner invalid"));
    assert!(html.contains("Invalid: signature"), "{html}");

    // Uploaded as a file (multipart), after expiry: expired.
    app.state.clock.advance(chrono::Duration::days(40));
    let boundary = "credo-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"credential\"\r\n\r\n\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"vc.json\"\r\n\
             Content-Type: application/json\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(json_text.as_bytes());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let answer = browser
        .post(app.url("/verify"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let html = answer.text().await.unwrap();
    assert!(html.contains("status-banner expired"), "{html}");
    assert!(html.contains(">Expired<"));

    // Revoked, with the reason (signing in again: the clock moved past the session).
    let owner_token = app.login(&vendor.owner.email).await;
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
        Some(&owner_token),
        json!({"reason": "Cheating detected"}),
    )
    .await
    .expect(200);
    let (_, html) = post(vec![
        ("csrf_token", token.clone()),
        ("credential", json_text.clone()),
    ])
    .await;
    assert!(html.contains("status-banner revoked"));
    let vc: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let revoked_on = revoked_on(&app, &vc).await;
    assert!(
        html.contains(&format!("{revoked_on}: Cheating detected")),
        "{html}"
    );

    // A credential of an issuer this server cannot reach: could not check.
    let remote = json_text.replace("did:web:127.0.0.1%3A", "did:web:issuer.example:x%3A");
    let (_, html) = post(vec![("csrf_token", token.clone()), ("credential", remote)]).await;
    assert!(html.contains("status-banner could_not_check"), "{html}");
    assert!(html.contains("Could not check"));

    // Nothing given, not JSON: errors next to the field, the text kept.
    let (status, html) = post(vec![
        ("csrf_token", token.clone()),
        ("credential", "  ".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("id=\"credential-error\""));
    assert!(html.contains("aria-invalid=\"true\""));
    let (status, html) = post(vec![
        ("csrf_token", token.clone()),
        ("credential", "{not json".into()),
    ])
    .await;
    assert_eq!(status, 422);
    assert!(html.contains("not a credential"));
    assert!(html.contains("{not json"));

    // Without the CSRF token: refused.
    let (status, _) = post(vec![("credential", json_text.clone())]).await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[actix_web::test]
async fn vendor_page_lists_credentials_and_revokes_with_a_reason() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let examiner = app.user("examiner@acme.example", "Examiner").await;
    app.add_member("acme", &vendor.owner, &examiner, "examiner")
        .await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Grace Hopper").await;
    let id = certify(&app, &exam, &holder).await;

    let (browser, _) = app.browser_session(&examiner.email).await;
    let html = browser
        .get(app.url("/vendor/acme/credentials"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("Grace Hopper"));
    assert!(html.contains("badge valid"));
    let token = csrf_token_in(&html);
    let revoke_url = app.url(&format!("/vendor/acme/credentials/{id}/revoke"));

    // No reason: the error is shown next to that row's field.
    let answer = browser
        .post(&revoke_url)
        .form(&[("csrf_token", token.as_str()), ("reason", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 422);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains(&format!("id=\"reason-{id}-error\"")),
        "{html}"
    );
    assert!(html.contains("aria-invalid=\"true\""));

    let answer = browser
        .post(&revoke_url)
        .form(&[
            ("csrf_token", token.as_str()),
            ("reason", "Proctoring violation"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);
    let location = answer.headers()["location"].to_str().unwrap().to_string();
    let html = browser
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("badge revoked"));
    assert!(html.contains("Proctoring violation"));
    assert!(html.contains("is revoked; the holder was told by mail"));

    // A practitioner and another vendor's examiner may not see or use it.
    let (outsider, _) = app.browser_session(&holder.email).await;
    let answer = outsider
        .get(app.url("/vendor/acme/credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    let _beta = cred::vendor(&app, "beta").await;
    let (beta_owner, _) = app.browser_session("owner@beta.example").await;
    let answer = beta_owner
        .get(app.url("/vendor/acme/credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 403);
    // Not signed in: to the sign-in page.
    let answer = app
        .browser()
        .get(app.url("/vendor/acme/credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 303);

    // The dashboard section lists the holder's certificate with its status and page link.
    let session_user = credo::accounts::SessionUser {
        id: holder.id.clone(),
        email: holder.email.clone(),
        display_name: "Grace Hopper".into(),
        is_operator: false,
        session_id: String::new(),
        memberships: Vec::new(),
    };
    let section =
        credo::http::pages::credentials::dashboard_section(&app.state, &session_user, "token")
            .await
            .unwrap();
    assert!(section.starts_with("<section class=\"card\""));
    assert!(section.contains(&format!("href=\"/c/{id}\"")));
    assert!(section.contains("badge revoked"));
    // The public profile is off until the person turns it on (the form carries the CSRF token).
    assert!(section.contains("Turn on my public profile"));
    assert!(section.contains("value=\"token\""));
    assert_eq!(
        credo::http::pages::credentials::vendor_console_links("acme"),
        vec![("/vendor/acme/credentials".to_string(), "Credentials")]
    );
    app.stop().await;
}

#[actix_web::test]
async fn only_the_vendors_examiners_revoke_through_the_api() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let beta = cred::vendor(&app, "beta").await;
    let examiner = app.user("examiner@acme.example", "Examiner").await;
    app.add_member("acme", &vendor.owner, &examiner, "examiner")
        .await;
    let manager = app.user("pm@acme.example", "Program manager").await;
    app.add_member("acme", &vendor.owner, &manager, "program_manager")
        .await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let beta_exam = cred::exam(&app, &beta, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let beta_id = certify(&app, &beta_exam, &holder).await;
    let path = format!("/api/v1/vendors/acme/credentials/{id}/revoke");
    let reason = json!({"reason": "fraud"});

    app.post(&path, None, reason.clone()).await.expect(401);
    app.post(&path, Some(&holder.token), reason.clone())
        .await
        .expect(403);
    app.post(&path, Some(&manager.token), reason.clone())
        .await
        .expect(403);
    app.post(&path, Some(&beta.owner.token), reason.clone())
        .await
        .expect(403);
    // Another vendor's credential under this vendor's path: not found.
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{beta_id}/revoke"),
        Some(&examiner.token),
        reason.clone(),
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/vendors/nobody/credentials/x/revoke",
        Some(&examiner.token),
        reason.clone(),
    )
    .await
    .expect(404);
    // The reason is required, 1–500 characters.
    let answer = app
        .post(&path, Some(&examiner.token), json!({}))
        .await
        .expect(422);
    assert_eq!(answer.error_fields(), vec!["reason"]);
    let answer = app
        .post(&path, Some(&examiner.token), json!({"reason": " "}))
        .await
        .expect(422);
    assert_eq!(answer.error_fields(), vec!["reason"]);
    app.post(
        &path,
        Some(&examiner.token),
        json!({"reason": "x".repeat(501)}),
    )
    .await
    .expect(422);
    // Nothing changed so far.
    let vc = credential_json(&app, &id).await;
    assert_eq!(cred::verify(&app, &vc).await["status"], "valid");
    // The vendor's API key may revoke too.
    let key = app.api_key("acme", &vendor.owner).await;
    let answer = app
        .post(&path, Some(&key), reason.clone())
        .await
        .expect(200);
    assert_eq!(answer.json()["status"], "revoked");
    // The vendor's listing shows it; the other vendor's credential is untouched.
    let listed = app
        .get("/api/v1/vendors/acme/credentials", Some(&examiner.token))
        .await
        .expect(200)
        .json();
    assert_eq!(listed[0]["status"], "revoked");
    assert_eq!(listed[0]["revocation_reason"], "fraud");
    app.get("/api/v1/vendors/acme/credentials", Some(&holder.token))
        .await
        .expect(403);
    let mine = app
        .get("/api/v1/me/credentials", Some(&holder.token))
        .await
        .expect(200)
        .json();
    assert_eq!(mine.as_array().unwrap().len(), 2);
    let beta_vc = credential_json(&app, &beta_id).await;
    assert_eq!(cred::verify(&app, &beta_vc).await["status"], "valid");
    app.stop().await;
}
