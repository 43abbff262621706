//! Where the engine gets DID documents, keys and status lists: the `Resolver` trait, and the in-memory
//! `StaticResolver` of tests and the offline CLI.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::status::{verify_status_list_credential, StatusListCredentialError};
use crate::credentials::did::{self, AssertionMethod};
use crate::credentials::proof_cache::ProofCache;
use crate::credentials::status_list::Bitstring;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("not found")]
    NotFound,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("malformed: {0}")]
    Malformed(String),
}

/// Where the engine gets DID documents and status lists (HTTP in the server, files in the CLI).
pub trait Resolver {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError>;
    fn status_list(&self, url: &str) -> Result<Value, ResolveError>;

    /// The decoded assertion methods of `did`. Decoding keys costs time: a server resolver
    /// should override this with a cache.
    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        decode_methods(did, &self.did_document(did)?)
    }

    /// The assertion methods of `did` read again from their source, when the answer of
    /// `assertion_methods` (perhaps cached) lacks the verification method a proof names — a key
    /// added since. `None` (the default): that answer was already fresh.
    fn reload_assertion_methods(
        &self,
        _did: &str,
    ) -> Option<Result<Arc<[AssertionMethod]>, ResolveError>> {
        None
    }

    /// Proofs already verified, to skip their cryptography when the same bytes come again.
    fn proof_cache(&self) -> Option<&ProofCache> {
        None
    }

    /// Whether a proof missing from the proof cache may be verified now. A resolver answering
    /// from memory on the async runtime says no (cryptography belongs on the blocking pool: an
    /// eddsa-rdfc-2022 proof costs milliseconds); the proof is then left not run.
    fn may_verify_uncached_proof(&self) -> bool {
        true
    }

    /// The verified bitstring of the status list at `url` (issued by `issuer` with one of `keys`).
    /// A server resolver may override this to cache verified lists for their `ttl`.
    fn status_bitstring(
        &self,
        url: &str,
        issuer: &str,
        keys: &[AssertionMethod],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Bitstring>, StatusListCredentialError> {
        let list = self.status_list(url)?;
        verify_status_list_credential(&list, url, issuer, keys, purpose, now).map(Arc::new)
    }
}

/// The assertion methods of `did`: derived offline for `did:key`, else from the resolver.
pub fn keys_of(resolver: &dyn Resolver, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
    if did.starts_with("did:key:") {
        let document =
            did::did_key_document(did).map_err(|e| ResolveError::Malformed(e.to_string()))?;
        return decode_methods(did, &document);
    }
    resolver.assertion_methods(did)
}

/// The assertion methods of `did` decoded from its DID `document`; a document that does not
/// parse is `Malformed`. Every resolver decodes with this (the trait default, caches, did:key).
pub fn decode_methods(did: &str, document: &Value) -> Result<Arc<[AssertionMethod]>, ResolveError> {
    did::assertion_methods(did, document)
        .map(Arc::from)
        .map_err(|e| ResolveError::Malformed(e.to_string()))
}

/// A resolver over documents held in memory: tests and the offline `credo verify` CLI.
/// Keys are decoded once, when a DID document is added.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    dids: HashMap<String, (Value, Arc<[AssertionMethod]>)>,
    lists: HashMap<String, Value>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a DID document under its own `id`; refuses one that does not parse.
    pub fn add_did_document(&mut self, document: Value) -> Result<(), ResolveError> {
        let did = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ResolveError::Malformed("the DID document has no id".into()))?
            .to_owned();
        let keys = decode_methods(&did, &document)?;
        self.dids.insert(did, (document, keys));
        Ok(())
    }

    /// Adds a status list credential under its own `id` (the URL credentials point to).
    pub fn add_status_list(&mut self, list: Value) -> Result<(), ResolveError> {
        let url = list
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ResolveError::Malformed("the status list credential has no id".into()))?
            .to_owned();
        self.lists.insert(url, list);
        Ok(())
    }
}

impl Resolver for StaticResolver {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError> {
        self.dids
            .get(did)
            .map(|(doc, _)| doc.clone())
            .ok_or(ResolveError::NotFound)
    }

    fn status_list(&self, url: &str) -> Result<Value, ResolveError> {
        self.lists.get(url).cloned().ok_or(ResolveError::NotFound)
    }

    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        self.dids
            .get(did)
            .map(|(_, keys)| Arc::clone(keys))
            .ok_or(ResolveError::NotFound)
    }
}
