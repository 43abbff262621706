//! The server's [`Resolver`]: issuers and status lists hosted on this instance are read from the
//! database and held in memory (see [`VerifierShared`]); other `did:web` issuers are fetched over
//! HTTPS beforehand, only when `resolve_remote_dids` is on. One verification engine
//! ([`verify_credential`]) serves the API, the pages and (with a `StaticResolver`) the CLI.

mod report;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use ed25519_dalek::VerifyingKey;
use serde_json::Value;
use url::Url;

use super::did::{self, AssertionMethod};
use super::proof_cache::ProofCache;
use super::remote::RemoteFetcher;
use super::service::{self, CredentialError};
use super::status_list::{self, Bitstring, REVOCATION};
use super::store;
use super::summary::Summary;
use super::verify::{self, ResolveError, Resolver, StatusListCredentialError};
use crate::db::{DbConn, Pool, PooledConn};
use crate::links::Links;

pub use report::{check_shape, verify_from_memory, verify_stored, StoredFacts, VerifyReport};

/// Remote documents are reused this long.
const REMOTE_TTL: Duration = Duration::from_secs(300);
/// Caches are cleared when they grow past this many entries.
const CACHE_LIMIT: usize = 4096;
/// At most this many remote documents per verification (one issuer, a few status lists).
const MAX_REMOTE_FETCHES: usize = 5;

/// Process-wide verification state: decoded public keys, the issuers hosted here (vendor id and
/// decoded assertion methods), their status list bits, the proofs already found valid and, when
/// remote resolution is on, the HTTPS client and its cache.
///
/// Freshness: issuers, status bits and the stored facts of our credentials are kept at most `ttl`
/// (the status lists' `ttl`) by the application clock, so another node's revocation is seen
/// within the `ttl` its lists announce; an issuance or revocation on this node clears the bits
/// and facts at once ([`Self::credentials_changed`], called after its transaction commits). A
/// proof naming a key the cached issuer lacks reloads that issuer (a key rotated in since). In
/// the steady state a verification reads nothing from the database ([`verify_from_memory`]).
pub struct VerifierShared {
    pub local: LocalNames,
    keys: Mutex<HashMap<String, VerifyingKey>>,
    ttl: chrono::Duration,
    issuers: Mutex<HashMap<String, CachedIssuer>>,
    stored: Mutex<StoredCache>,
    proofs: ProofCache,
    remote: Option<RemoteFetcher>,
    remote_cache: Mutex<HashMap<String, (Instant, Value)>>,
}

/// An issuer hosted here: its vendor (none for the instance issuer) and assertion methods.
#[derive(Clone)]
struct CachedIssuer {
    loaded: NaiveDateTime,
    vendor_id: Option<String>,
    methods: Arc<[AssertionMethod]>,
}

/// What the database says about our own credentials: status bits by (vendor slug, list number)
/// and stored facts by credential id (none: no such row), each with the time it was loaded.
/// `generation` counts the invalidations: a load that started before one is not kept (it may
/// predate the write).
#[derive(Default)]
struct StoredCache {
    generation: u64,
    bits: HashMap<(String, i32), (NaiveDateTime, Arc<Bitstring>)>,
    facts: HashMap<String, (NaiveDateTime, Option<store::CredentialFacts>)>,
}

/// Whether an entry loaded at `loaded` may still be used at `now`.
fn fresh(loaded: NaiveDateTime, now: NaiveDateTime, ttl: chrono::Duration) -> bool {
    now >= loaded && now - loaded < ttl
}

impl VerifierShared {
    /// `ttl_seconds`: how long issuers and status bits are kept (the status lists' `ttl`);
    /// `proof_cache_entries`: how many verified proofs are remembered (0: none).
    pub fn new(
        links: &Links,
        resolve_remote: bool,
        ttl_seconds: u32,
        proof_cache_entries: usize,
    ) -> Result<Self, String> {
        Ok(Self {
            local: LocalNames::new(links).map_err(|e| e.to_string())?,
            keys: Mutex::new(HashMap::new()),
            ttl: chrono::Duration::seconds(ttl_seconds.into()),
            issuers: Mutex::new(HashMap::new()),
            stored: Mutex::new(StoredCache::default()),
            proofs: ProofCache::new(proof_cache_entries),
            remote: if resolve_remote {
                Some(RemoteFetcher::new()?)
            } else {
                None
            },
            remote_cache: Mutex::new(HashMap::new()),
        })
    }

    pub fn resolves_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// Whether verified proofs are remembered (else every verification runs its cryptography).
    pub fn caches_proofs(&self) -> bool {
        self.proofs.capacity() > 0
    }

    /// Forgets every cached status bit and stored fact: call after a transaction that issued
    /// or revoked a credential commits (the next verification reads them again).
    pub fn credentials_changed(&self) {
        if let Ok(mut stored) = self.stored.lock() {
            stored.generation += 1;
            stored.bits.clear();
            stored.facts.clear();
        }
    }

    fn cached_issuer(&self, did: &str, now: NaiveDateTime) -> Option<CachedIssuer> {
        let issuers = self.issuers.lock().ok()?;
        issuers
            .get(did)
            .filter(|issuer| fresh(issuer.loaded, now, self.ttl))
            .cloned()
    }

    fn remember_issuer(&self, did: &str, issuer: CachedIssuer) {
        if let Ok(mut issuers) = self.issuers.lock() {
            if issuers.len() >= CACHE_LIMIT {
                issuers.clear();
            }
            issuers.insert(did.to_owned(), issuer);
        }
    }

    /// The cached bits of list `number` of vendor `slug`, and the generation to load under.
    fn cached_bits(
        &self,
        slug: &str,
        number: i32,
        now: NaiveDateTime,
    ) -> (Option<Arc<Bitstring>>, u64) {
        let Ok(stored) = self.stored.lock() else {
            return (None, u64::MAX);
        };
        let bits = stored
            .bits
            .get(&(slug.to_owned(), number))
            .filter(|(loaded, _)| fresh(*loaded, now, self.ttl))
            .map(|(_, bits)| Arc::clone(bits));
        (bits, stored.generation)
    }

    fn remember_bits(
        &self,
        slug: &str,
        number: i32,
        generation: u64,
        loaded: NaiveDateTime,
        bits: &Arc<Bitstring>,
    ) {
        self.remember(generation, |stored| {
            if stored.bits.len() >= CACHE_LIMIT {
                stored.bits.clear();
            }
            stored
                .bits
                .insert((slug.to_owned(), number), (loaded, Arc::clone(bits)));
        });
    }

    /// The cached stored facts of credential `id` (`Some(None)`: known not to be stored), and
    /// the generation to load under.
    fn cached_facts(
        &self,
        id: &str,
        now: NaiveDateTime,
    ) -> (Option<Option<store::CredentialFacts>>, u64) {
        let Ok(stored) = self.stored.lock() else {
            return (None, u64::MAX);
        };
        let facts = stored
            .facts
            .get(id)
            .filter(|(loaded, _)| fresh(*loaded, now, self.ttl))
            .map(|(_, facts)| facts.clone());
        (facts, stored.generation)
    }

    fn remember_facts(
        &self,
        id: &str,
        generation: u64,
        loaded: NaiveDateTime,
        facts: &Option<store::CredentialFacts>,
    ) {
        self.remember(generation, |stored| {
            if stored.facts.len() >= CACHE_LIMIT {
                stored.facts.clear();
            }
            stored.facts.insert(id.to_owned(), (loaded, facts.clone()));
        });
    }

    /// Runs `keep` unless an invalidation came after `generation` was read.
    fn remember(&self, generation: u64, keep: impl FnOnce(&mut StoredCache)) {
        if let Ok(mut stored) = self.stored.lock() {
            if stored.generation == generation {
                keep(&mut stored);
            }
        }
    }

    /// Decodes a Multikey once; the mapping never changes, so entries never go stale.
    fn decode_key(&self, multibase: &str) -> Result<VerifyingKey, ResolveError> {
        if let Some(key) = self
            .keys
            .lock()
            .ok()
            .and_then(|k| k.get(multibase).copied())
        {
            return Ok(key);
        }
        let key = super::multibase::decode_multikey(multibase)
            .map_err(|e| ResolveError::Malformed(format!("stored key {multibase}: {e}")))?;
        if let Ok(mut keys) = self.keys.lock() {
            if keys.len() >= CACHE_LIMIT {
                keys.clear();
            }
            keys.insert(multibase.to_owned(), key);
        }
        Ok(key)
    }

    fn cached_remote(&self, url: &str) -> Option<Value> {
        let cache = self.remote_cache.lock().ok()?;
        cache
            .get(url)
            .filter(|(at, _)| at.elapsed() < REMOTE_TTL)
            .map(|(_, value)| value.clone())
    }

    fn remember_remote(&self, url: &str, value: &Value) {
        if let Ok(mut cache) = self.remote_cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(url.to_owned(), (Instant::now(), value.clone()));
        }
    }
}

/// Which identifiers and URLs belong to this instance.
pub struct LocalNames {
    /// `did:web:<host>[%3Aport][:path]`
    host_did: String,
    /// `<base>/`
    base_url: String,
    /// `<base>/status/`
    status_prefix: String,
}

impl LocalNames {
    pub fn new(links: &Links) -> Result<Self, CredentialError> {
        let probe = service::issuer_did(links, "x")?;
        let host_did = probe.trim_end_matches(":issuers:x").to_owned();
        Ok(Self {
            host_did,
            base_url: links.url("/"),
            status_prefix: links.url("/status/"),
        })
    }

    /// Whether `did` is this instance's own issuer, `did:web:<host>`.
    pub fn is_instance(&self, did: &str) -> bool {
        did == self.host_did
    }

    /// `Some(vendor slug or None)` when `did` names this instance; the slug when it is one of
    /// our vendor issuers.
    pub fn vendor_of_did<'a>(&self, did: &'a str) -> Option<Option<&'a str>> {
        let rest = did.strip_prefix(self.host_did.as_str())?;
        if rest.is_empty() {
            return Some(None);
        }
        let rest = rest.strip_prefix(':')?;
        Some(
            rest.strip_prefix("issuers:")
                .filter(|slug| crate::validation::is_slug(slug)),
        )
    }

    /// The issuer's profile page on this site, when the summary's issuer is one of its vendors.
    pub fn issuer_profile(&self, links: &Links, summary: &Summary) -> Option<String> {
        let slug = self.vendor_of_did(summary.issuer.id.as_deref()?)??;
        Some(links.issuer_profile(slug))
    }

    /// `Some((vendor slug, list number) or None)` when `url` is on this instance.
    pub fn status_list_of<'a>(&self, url: &'a str) -> Option<Option<(&'a str, i32)>> {
        if !url.starts_with(&self.base_url) {
            return None;
        }
        let parsed = url.strip_prefix(&self.status_prefix).and_then(|rest| {
            let (slug, number) = rest.split_once('/')?;
            if !crate::validation::is_slug(slug)
                || number.is_empty()
                || number.len() > 9
                || !number.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            Some((slug, number.parse().ok()?))
        });
        Some(parsed)
    }
}

/// Remote documents fetched before verification, by DID or URL.
#[derive(Debug, Default)]
pub struct Fetched {
    documents: HashMap<String, Result<Value, ResolveError>>,
}

/// Fetches the remote DID document and status lists `credential` refers to (only when remote
/// resolution is on; nothing for issuers hosted here).
pub async fn fetch_remote(
    shared: &VerifierShared,
    local: &LocalNames,
    credential: &Value,
) -> Fetched {
    let mut fetched = Fetched::default();
    let Some(fetcher) = shared.remote.clone() else {
        return fetched;
    };
    let mut wanted: Vec<(String, Result<Url, ResolveError>)> = Vec::new();
    let issuer = match credential.get("issuer") {
        Some(Value::String(id)) => Some(id.as_str()),
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
        _ => None,
    };
    if let Some(issuer) = issuer {
        if issuer.starts_with("did:web:") && local.vendor_of_did(issuer).is_none() {
            let url = did::did_web_document_url(issuer)
                .map_err(|e| ResolveError::Malformed(e.to_string()));
            wanted.push((issuer.to_owned(), url));
        }
    }
    let entries: Vec<&Value> = match credential.get("credentialStatus") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(entry @ Value::Object(_)) => vec![entry],
        _ => Vec::new(),
    };
    for entry in entries {
        if let Ok(entry) = status_list::parse_status_entry(entry) {
            if local.status_list_of(&entry.list_url).is_none()
                && !wanted.iter().any(|(key, _)| *key == entry.list_url)
            {
                let url =
                    Url::parse(&entry.list_url).map_err(|e| ResolveError::Malformed(e.to_string()));
                wanted.push((entry.list_url.clone(), url));
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (key, url) in wanted.into_iter().take(MAX_REMOTE_FETCHES) {
        let url = match url {
            Ok(url) => url,
            Err(e) => {
                fetched.documents.insert(key, Err(e));
                continue;
            }
        };
        if let Some(value) = shared.cached_remote(url.as_str()) {
            fetched.documents.insert(key, Ok(value));
            continue;
        }
        let fetcher = fetcher.clone();
        tasks.spawn(async move {
            let result = fetcher.fetch_json(&url).await;
            (key, url, result)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((key, url, result)) = joined {
            if let Ok(value) = &result {
                shared.remember_remote(url.as_str(), value);
            }
            fetched.documents.insert(key, result);
        }
    }
    fetched
}

/// Where a [`StorageResolver`] reads what memory lacks.
enum Storage<'a> {
    /// Nowhere: it answers from memory only (no database, no cryptography) and notes when that
    /// was not enough ([`StorageResolver::missed`]).
    MemoryOnly,
    /// A connection of the pool, checked out when first needed (none in the steady state).
    Pool(&'a Pool, Option<Box<PooledConn>>),
}

/// The resolver used on the server.
struct StorageResolver<'a> {
    storage: RefCell<Storage<'a>>,
    missed: Cell<bool>,
    links: &'a Links,
    local: &'a LocalNames,
    shared: &'a VerifierShared,
    fetched: &'a Fetched,
    /// The application clock's time of this verification (cache freshness).
    now: NaiveDateTime,
}

impl<'a> StorageResolver<'a> {
    fn new(
        storage: Storage<'a>,
        links: &'a Links,
        shared: &'a VerifierShared,
        fetched: &'a Fetched,
        now: NaiveDateTime,
    ) -> Self {
        Self {
            storage: RefCell::new(storage),
            missed: Cell::new(false),
            links,
            local: &shared.local,
            shared,
            fetched,
            now,
        }
    }

    /// Whether answering needed the database, or cryptography, that a memory-only resolver
    /// does not do.
    fn missed(&self) -> bool {
        self.missed.get()
    }

    fn miss(&self) -> ResolveError {
        self.missed.set(true);
        ResolveError::Unavailable("not held in memory".into())
    }

    fn memory_only(&self) -> bool {
        matches!(*self.storage.borrow(), Storage::MemoryOnly)
    }

    /// Runs `read` on a connection (checked out on first use); memory only, a miss.
    fn with_conn<T, E: std::fmt::Display>(
        &self,
        read: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, ResolveError> {
        let unavailable =
            |e: &dyn std::fmt::Display| ResolveError::Unavailable(format!("database: {e}"));
        let mut storage = self.storage.borrow_mut();
        let conn = match &mut *storage {
            Storage::MemoryOnly => return Err(self.miss()),
            Storage::Pool(_, Some(conn)) => conn,
            Storage::Pool(pool, held) => {
                held.insert(Box::new(pool.get().map_err(|e| unavailable(&e))?))
            }
        };
        read(conn).map_err(|e| unavailable(&e))
    }

    /// The vendor and assertion methods of `did` when it is hosted here (`None` otherwise),
    /// from memory unless `reload` or stale.
    fn local_issuer(&self, did: &str, reload: bool) -> Option<Result<CachedIssuer, ResolveError>> {
        let owner = if self.local.is_instance(did) {
            Ok(None)
        } else {
            self.local_vendor(did)?.map(Some)
        };
        if !reload {
            if let Some(issuer) = self.shared.cached_issuer(did, self.now) {
                return Some(Ok(issuer));
            }
        }
        Some(owner.and_then(|owner| self.load_issuer(did, owner)))
    }

    fn load_issuer(&self, did: &str, slug: Option<&str>) -> Result<CachedIssuer, ResolveError> {
        let (vendor_id, keys) = match slug {
            Some(slug) => {
                let vendor_id = self.vendor_id(slug)?;
                let keys = self.with_conn(|conn| store::vendor_public_keys(conn, &vendor_id))?;
                (Some(vendor_id), keys)
            }
            None => (
                None,
                self.with_conn(|conn| {
                    store::instance_keys(conn).map(|rows| {
                        rows.into_iter()
                            .map(|row| row.public_key_multibase)
                            .collect::<Vec<_>>()
                    })
                })?,
            ),
        };
        let methods = keys
            .iter()
            .map(|multibase| {
                Ok(AssertionMethod {
                    id: format!("{did}#{multibase}"),
                    controller: did.to_owned(),
                    public_key: self.shared.decode_key(multibase)?,
                })
            })
            .collect::<Result<Vec<_>, ResolveError>>()?;
        let issuer = CachedIssuer {
            loaded: self.now,
            vendor_id,
            methods: Arc::from(methods),
        };
        self.shared.remember_issuer(did, issuer.clone());
        Ok(issuer)
    }

    /// The vendor of issuer `did` when it is one of our vendors.
    fn vendor_of_issuer(&self, did: &str) -> Result<Option<String>, ResolveError> {
        match self.local_issuer(did, false) {
            Some(Ok(issuer)) => Ok(issuer.vendor_id),
            None | Some(Err(ResolveError::NotFound)) => Ok(None),
            Some(Err(e)) => Err(e),
        }
    }

    /// What storage says about credential `id`, from memory unless stale.
    fn credential_facts(&self, id: &str) -> Result<Option<store::CredentialFacts>, ResolveError> {
        let (cached, generation) = self.shared.cached_facts(id, self.now);
        if let Some(facts) = cached {
            return Ok(facts);
        }
        let facts = self.with_conn(|conn| store::credential_facts(conn, id))?;
        self.shared.remember_facts(id, generation, self.now, &facts);
        Ok(facts)
    }

    fn remote(&self, key: &str) -> Result<Value, ResolveError> {
        if !self.shared.resolves_remote() {
            return Err(ResolveError::NotAllowed(
                "this server does not fetch documents of issuers hosted elsewhere \
                 (resolve_remote_dids is off); verify offline with the issuer's files"
                    .into(),
            ));
        }
        self.fetched
            .documents
            .get(key)
            .cloned()
            .unwrap_or_else(|| Err(ResolveError::Unavailable("not fetched".into())))
    }

    fn vendor_id(&self, slug: &str) -> Result<String, ResolveError> {
        self.with_conn(|conn| store::vendor_id_by_slug(conn, slug))?
            .ok_or(ResolveError::NotFound)
    }

    fn local_vendor<'d>(&self, did: &'d str) -> Option<Result<&'d str, ResolveError>> {
        self.local
            .vendor_of_did(did)
            .map(|slug| slug.ok_or(ResolveError::NotFound))
    }
}

impl Resolver for StorageResolver<'_> {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError> {
        if self.local.is_instance(did) {
            let document =
                self.with_conn(
                    |conn| match service::instance_did_document(conn, self.links) {
                        Err(CredentialError::NotFound(_)) => Ok(None),
                        other => other.map(Some),
                    },
                )?;
            return document.ok_or(ResolveError::NotFound);
        }
        match self.local_vendor(did) {
            Some(slug) => {
                let slug = slug?;
                let document = self.with_conn(|conn| {
                    let Ok(vendor) = service::find_vendor_by_slug(conn, slug) else {
                        return Ok(None);
                    };
                    service::did_document(conn, self.links, &vendor).map(Some)
                })?;
                document.ok_or(ResolveError::NotFound)
            }
            None => self.remote(did),
        }
    }

    fn status_list(&self, url: &str) -> Result<Value, ResolveError> {
        match self.local.status_list_of(url) {
            Some(list) => {
                let (slug, number) = list.ok_or(ResolveError::NotFound)?;
                let vendor_id = self.vendor_id(slug)?;
                let document = self
                    .with_conn(|conn| store::list_document(conn, &vendor_id, number))?
                    .ok_or(ResolveError::NotFound)?;
                serde_json::from_str(&document).map_err(|e| ResolveError::Malformed(e.to_string()))
            }
            None => self.remote(url),
        }
    }

    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        match self.local_issuer(did, false) {
            Some(issuer) => issuer.map(|issuer| issuer.methods),
            None => verify::decode_methods(did, &self.remote(did)?),
        }
    }

    fn reload_assertion_methods(
        &self,
        did: &str,
    ) -> Option<Result<Arc<[AssertionMethod]>, ResolveError>> {
        self.local_issuer(did, true)
            .map(|issuer| issuer.map(|issuer| issuer.methods))
    }

    fn proof_cache(&self) -> Option<&ProofCache> {
        Some(&self.shared.proofs)
    }

    fn may_verify_uncached_proof(&self) -> bool {
        if !self.memory_only() {
            return true;
        }
        self.missed.set(true);
        false
    }

    fn status_bitstring(
        &self,
        url: &str,
        issuer: &str,
        keys: &[AssertionMethod],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Bitstring>, StatusListCredentialError> {
        use StatusListCredentialError as E;
        match self.local.status_list_of(url) {
            // Our own lists: the stored bits are the truth the signed list was made from.
            Some(list) => {
                let (slug, number) = list.ok_or(ResolveError::NotFound)?;
                let list_issuer = service::issuer_did(self.links, slug)
                    .map_err(|e| E::Malformed(e.to_string()))?;
                if list_issuer != issuer {
                    return Err(E::IssuerMismatch {
                        found: list_issuer,
                        expected: issuer.to_owned(),
                    });
                }
                if purpose != REVOCATION {
                    return Err(E::Purpose {
                        found: REVOCATION.into(),
                        expected: purpose.to_owned(),
                    });
                }
                let (cached, generation) = self.shared.cached_bits(slug, number, self.now);
                if let Some(bits) = cached {
                    return Ok(bits);
                }
                let vendor_id = match self.vendor_of_issuer(issuer) {
                    Ok(Some(id)) => id,
                    _ => self.vendor_id(slug)?,
                };
                let bits = self
                    .with_conn(|conn| store::list_bits(conn, &vendor_id, number))?
                    .ok_or(ResolveError::NotFound)?;
                let bits = Arc::new(Bitstring::from_bytes(bits)?);
                self.shared
                    .remember_bits(slug, number, generation, self.now, &bits);
                Ok(bits)
            }
            // Another issuer's list: its signature is checked on every use (cryptography, which
            // a memory-only resolver leaves to the blocking pool).
            None if self.memory_only() => Err(self.miss().into()),
            None => {
                let list = self.status_list(url)?;
                verify::verify_status_list_credential(&list, url, issuer, keys, purpose, now)
                    .map(Arc::new)
            }
        }
    }
}
