//! `credo verify`: offline verification from files only.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args)]
pub(super) struct VerifyArgs {
    /// The credential: a JSON file, or a baked badge image (PNG or SVG) carrying one.
    file: PathBuf,
    /// The issuer's DID document (e.g. saved from /issuers/<vendor>/did.json); repeatable.
    #[arg(long = "did", value_name = "FILE")]
    did: Vec<PathBuf>,
    /// A status list credential the credential refers to (saved from /status/…); repeatable.
    #[arg(long = "status-list", value_name = "FILE")]
    status_list: Vec<PathBuf>,
    /// Print the result as JSON (the same shape as `POST /api/v1/verify`).
    #[arg(long)]
    json: bool,
}

/// `credo verify`: the verification engine with a resolver made only of the given files.
pub(super) fn verify_offline(args: &VerifyArgs) -> ExitCode {
    use crate::credentials::{verify_credential, StaticResolver};
    let read = |path: &PathBuf| -> Result<serde_json::Value, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
    };
    let setup = || -> Result<(serde_json::Value, StaticResolver), String> {
        let file = args.file.display();
        let bytes = std::fs::read(&args.file).map_err(|e| format!("{file}: {e}"))?;
        // A baked badge image (PNG or SVG) carries the credential: verify that.
        let credential = match crate::badges::credential_in_image(&bytes)
            .map_err(|e| format!("{file}: {e}"))?
        {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| format!("{file}: the baked credential is not JSON: {e}"))?,
            None => serde_json::from_slice(&bytes).map_err(|e| format!("{file}: not JSON: {e}"))?,
        };
        let mut resolver = StaticResolver::new();
        for path in &args.did {
            resolver
                .add_did_document(read(path)?)
                .map_err(|e| format!("{}: not a usable DID document: {e}", path.display()))?;
        }
        for path in &args.status_list {
            resolver
                .add_status_list(read(path)?)
                .map_err(|e| format!("{}: not a usable status list: {e}", path.display()))?;
        }
        Ok((credential, resolver))
    };
    let (credential, resolver) = match setup() {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("credo verify: {message}");
            return ExitCode::from(2);
        }
    };
    let result = verify_credential(&credential, &resolver, chrono::Utc::now());
    if args.json {
        let answer = serde_json::json!({
            "verified": result.verified(),
            "status": result.status,
            "checks": result.checks,
            "warnings": result.warnings,
        });
        println!("{answer:#}");
    } else {
        for check in &result.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            let name = serde_json::to_value(check.name)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            println!("[{mark}] {name}: {}", check.detail);
        }
        let status = serde_json::to_value(result.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("status: {status}");
        for warning in &result.warnings {
            println!("warning: {warning}");
        }
    }
    if result.verified() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
