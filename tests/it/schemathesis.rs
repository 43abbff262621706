//! schemathesis (PyPI, pinned in scripts/test) against the real server and the OpenAPI document
//! it serves: three passes with a fixed seed — anonymous, a registered practitioner, and the owner
//! of a vendor with a published exam and a program — each with not one 5xx, not one status the
//! document does not list and not one answer its schema does not describe.
//!
//! The vendor's, exam's and program's path parameters mostly take the real ids, so operations get
//! past the lookups. No operation is left out: logout runs with a spare session of the pass's
//! person (so the pass keeps its own), and the signed webhooks (`/webhooks/stripe/{vendor}`,
//! `…/programs/{program}/webhook`) answer every unsigned body 400/401, as their operations say.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::json;

use crate::common::exams::{publish, vendor_with_examiner, BankSpec};
use crate::common::referrals::program_body;
use crate::common::TestApp;

const SEED: &str = "20261207";
/// Test cases per operation and pass; with it the three passes take well under 2 minutes per
/// backend on 2 cores.
const MAX_EXAMPLES: &str = "12";
const VENDOR: &str = "fuzz";
const EXAM: &str = "fuzz-exam";

/// The world every pass fuzzes: a vendor with an owner, an examiner, a published exam and an
/// advocate program.
async fn world(app: &TestApp) -> crate::common::exams::ExamVendor {
    let vendor = vendor_with_examiner(app, VENDOR).await;
    publish(app, &vendor, &BankSpec::free(EXAM)).await;
    app.put(
        &format!("/api/v1/vendors/{VENDOR}/program"),
        Some(&vendor.owner.token),
        program_body(EXAM),
    )
    .await
    .expect(200);
    vendor
}

/// The schemathesis configuration of a pass: the real ids for most examples, and a session of its
/// own for logout (which would otherwise end the pass's session half way).
fn config(dir: &Path, logout_token: Option<&str>) -> std::path::PathBuf {
    let mut toml = format!(
        r#"[dictionaries.vendors]
values = ["{VENDOR}"]

[dictionaries.exams]
values = ["{EXAM}"]

[parameters]
"path.vendor" = {{ dictionary = "vendors", probability = 0.9 }}
"path.program" = {{ dictionary = "vendors", probability = 0.9 }}
"path.exam" = {{ dictionary = "exams", probability = 0.9 }}
"#
    );
    if let Some(token) = logout_token {
        toml.push_str(&format!(
            "\n[[operations]]\ninclude-operation-id = \"logout\"\nheaders = {{ Authorization = \"Bearer {token}\" }}\n"
        ));
    }
    let path = dir.join("schemathesis.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Runs one pass and fails the test with schemathesis' report unless it exits 0.
async fn pass(app: &TestApp, name: &str, token: Option<&str>, logout_token: Option<&str>) {
    let config = config(app.dir.path(), logout_token);
    let mut command = Command::new("python3");
    command
        // Its cache (`.schemathesis/`, replayed crashes) stays with this test's files.
        .current_dir(app.dir.path())
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .args(["run", &app.url("/api/openapi.json")])
        .args(["--seed", SEED, "--max-examples", MAX_EXAMPLES])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance",
        ])
        .args([
            "--workers",
            "2",
            "--no-color",
            "--generation-database",
            "none",
        ])
        .args(["--report-dir"])
        .arg(app.dir.path().join(format!("report-{name}")));
    if let Some(token) = token {
        command.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .expect("python3 runs (scripts/test installs schemathesis)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !report.contains("No module named schemathesis"),
        "schemathesis is missing: {report}"
    );
    assert!(
        output.status.success(),
        "schemathesis, {name} pass ({:?}):\n{report}",
        started.elapsed()
    );
    // The summary names how many operations and cases ran; a pass that tested nothing is no pass.
    assert!(
        report.contains("passed"),
        "{name} pass ran nothing:\n{report}"
    );
    println!("{name} pass, {:?}:\n{report}", started.elapsed());
}

#[actix_web::test]
async fn schemathesis_anonymous() {
    let app = TestApp::start().await;
    world(&app).await;
    pass(&app, "anonymous", None, None).await;
    app.stop().await;
}

#[actix_web::test]
async fn schemathesis_practitioner() {
    let app = TestApp::start().await;
    world(&app).await;
    let practitioner = app
        .register_and_verify("fuzz-practitioner@example.org", "Fuzz Practitioner")
        .await;
    let spare = app.login(&practitioner.email).await;
    pass(
        &app,
        "practitioner",
        Some(&practitioner.token),
        Some(&spare),
    )
    .await;
    // Still signed in: the pass never ended its own session.
    app.get("/api/v1/me", Some(&practitioner.token))
        .await
        .expect(200);
    app.stop().await;
}

#[actix_web::test]
async fn schemathesis_vendor_owner() {
    let app = TestApp::start().await;
    let vendor = world(&app).await;
    let spare = app.login(&vendor.owner.email).await;
    pass(
        &app,
        "vendor owner",
        Some(&vendor.owner.token),
        Some(&spare),
    )
    .await;
    let me = app
        .get("/api/v1/me", Some(&vendor.owner.token))
        .await
        .expect(200)
        .json();
    assert!(me["roles"]
        .as_array()
        .unwrap()
        .contains(&json!({"role": "owner", "vendor": VENDOR})));
    app.stop().await;
}
