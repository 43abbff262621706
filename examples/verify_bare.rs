//! The "bare" endpoint of `bench/verify.sh`: actix-web answering `POST /verify` with the same
//! verification engine as `POST /api/v1/verify`, no database, no middleware: the issuer's DID
//! document and status list are read once from files (the status list verified once, its bits
//! kept, as the server keeps them). What the real endpoint costs beyond this is its plumbing.
//!
//! `cargo run --release --example verify_bare -- ADDRESS DID_DOCUMENT.json STATUS_LIST.json…`

use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use chrono::{DateTime, Utc};
use credo::credentials::did::AssertionMethod;
use credo::credentials::status_list::Bitstring;
use credo::credentials::verify::{
    keys_of, verify_credential, verify_status_list_credential, StatusListCredentialError,
};
use credo::credentials::{ResolveError, Resolver, StaticResolver};
use serde_json::{json, Value};

/// A `StaticResolver` whose status lists were verified once.
struct Bare {
    documents: StaticResolver,
    lists: Vec<(String, Arc<Bitstring>)>,
}

impl Resolver for Bare {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError> {
        self.documents.did_document(did)
    }

    fn status_list(&self, url: &str) -> Result<Value, ResolveError> {
        self.documents.status_list(url)
    }

    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        self.documents.assertion_methods(did)
    }

    fn status_bitstring(
        &self,
        url: &str,
        _issuer: &str,
        _keys: &[AssertionMethod],
        _purpose: &str,
        _now: DateTime<Utc>,
    ) -> Result<Arc<Bitstring>, StatusListCredentialError> {
        self.lists
            .iter()
            .find(|(list, _)| list == url)
            .map(|(_, bits)| Arc::clone(bits))
            .ok_or(StatusListCredentialError::Resolve(ResolveError::NotFound))
    }
}

fn read_json(path: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
}

fn resolver(did_document: &str, lists: &[String]) -> Result<Bare, String> {
    let mut documents = StaticResolver::new();
    let document = read_json(did_document)?;
    let did = document["id"].as_str().unwrap_or_default().to_owned();
    documents
        .add_did_document(document)
        .map_err(|e| e.to_string())?;
    let keys = keys_of(&documents, &did).map_err(|e| e.to_string())?;
    let mut verified = Vec::new();
    for path in lists {
        let list = read_json(path)?;
        let url = list["id"].as_str().unwrap_or_default().to_owned();
        let bits =
            verify_status_list_credential(&list, &url, &did, &keys, "revocation", Utc::now())
                .map_err(|e| format!("{path}: {e}"))?;
        verified.push((url, Arc::new(bits)));
    }
    Ok(Bare {
        documents,
        lists: verified,
    })
}

async fn verify(state: web::Data<Bare>, body: web::Bytes) -> HttpResponse {
    let state = state.into_inner();
    let verification = web::block(move || {
        serde_json::from_slice::<Value>(&body)
            .ok()
            .map(|credential| verify_credential(&credential, state.as_ref(), Utc::now()))
    })
    .await
    .ok()
    .flatten();
    match verification {
        Some(v) => HttpResponse::Ok().json(json!({"verified": v.verified(), "status": v.status})),
        None => HttpResponse::BadRequest().finish(),
    }
}

#[actix_web::main]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, did_document, lists @ ..] = args.as_slice() else {
        return Err("usage: verify_bare ADDRESS DID_DOCUMENT.json STATUS_LIST.json…".into());
    };
    let state = web::Data::new(resolver(did_document, lists)?);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(256 * 1024))
            .route("/verify", web::post().to(verify))
    })
    .bind(address.as_str())
    .map_err(|e| e.to_string())?
    .run()
    .await
    .map_err(|e| e.to_string())
}
