//! did:web identifiers and DID documents with Ed25519 Multikey verification methods.
//!
//! `https://example.com:8443/base` + vendor `acme` → `did:web:example.com%3A8443:base:issuers:acme`,
//! whose document lives at `https://example.com:8443/base/issuers/acme/did.json`.

use ed25519_dalek::VerifyingKey;
use serde_json::{json, Map, Value};
use url::Url;

use super::multibase;

pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
pub const MULTIKEY_CONTEXT: &str = "https://w3id.org/security/multikey/v1";
/// A hostile DID document must not make us decode thousands of keys per verification.
pub const MAX_ASSERTION_METHODS: usize = 256;
/// Verification method types whose `publicKeyMultibase` is an Ed25519 Multikey.
const ED25519_METHOD_TYPES: [&str; 2] = ["Multikey", "Ed25519VerificationKey2020"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DidError {
    #[error("base URL {0} has no host to put in a did:web")]
    NoHost(String),
    #[error("vendor slug must not be empty")]
    EmptySlug,
    #[error("{0:?} is not a did:web DID")]
    NotDidWeb(String),
    #[error("did:web {did:?} is malformed: {reason}")]
    MalformedDidWeb { did: String, reason: String },
    #[error("the DID document must be a JSON object")]
    DocumentNotObject,
    #[error("the DID document's id is {found:?}; expected {expected:?}")]
    DocumentIdMismatch { found: String, expected: String },
    #[error("the DID document's @context must start with \"{DID_CONTEXT}\"")]
    BadContext,
    #[error("the DID document's {field} must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("the DID document lists {0} assertion methods; at most {MAX_ASSERTION_METHODS} are accepted")]
    TooManyMethods(usize),
    #[error("assertionMethod lists {0:?}, which the document does not define")]
    UnknownMethod(String),
    #[error("verification method {id:?}: {problem}")]
    BadMethod { id: String, problem: String },
    #[error("{did:?} is not a did:key with an Ed25519 Multikey (did:key:z6Mk…): {reason}")]
    BadDidKey { did: String, reason: String },
}

/// The instance-level issuer DID: `did:web:<host>` (port as `%3A`, base path kept), whose
/// document is `/.well-known/did.json` for a base URL without a path.
pub fn instance_did(base_url: &Url) -> Result<String, DidError> {
    let host = base_url
        .host_str()
        .ok_or_else(|| DidError::NoHost(base_url.to_string()))?;
    let mut did = String::from("did:web:");
    did.push_str(&encode_component(host));
    if let Some(port) = base_url.port() {
        did.push_str("%3A");
        did.push_str(&port.to_string());
    }
    for segment in base_url.path_segments().into_iter().flatten() {
        if !segment.is_empty() {
            let decoded =
                decode_component(segment).map_err(|reason| DidError::MalformedDidWeb {
                    did: did.clone(),
                    reason,
                })?;
            did.push(':');
            did.push_str(&encode_component(&decoded));
        }
    }
    Ok(did)
}

/// The issuer DID of a vendor under the public base URL (port as `%3A`, base path kept).
pub fn issuer_did(base_url: &Url, vendor_slug: &str) -> Result<String, DidError> {
    if vendor_slug.is_empty() {
        return Err(DidError::EmptySlug);
    }
    let mut did = instance_did(base_url)?;
    did.push_str(":issuers:");
    did.push_str(&encode_component(vendor_slug));
    Ok(did)
}

/// The HTTPS URL of a did:web's DID document (`/.well-known/did.json` for a bare host).
pub fn did_web_document_url(did: &str) -> Result<Url, DidError> {
    let malformed = |reason: &str| DidError::MalformedDidWeb {
        did: did.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = did
        .strip_prefix("did:web:")
        .ok_or_else(|| DidError::NotDidWeb(did.to_owned()))?;
    if rest.contains(['#', '?', '/', '\\', '@']) {
        return Err(malformed(
            "a DID may not contain '#', '?', '/', '\\' or '@'",
        ));
    }
    let mut parts = rest.split(':');
    let host = decode_component(parts.next().unwrap_or_default()).map_err(|r| malformed(&r))?;
    if host.is_empty() || host.contains(['/', '\\', '@', '?', '#']) {
        return Err(malformed("the host part is empty or not a host"));
    }
    let mut segments = Vec::new();
    for part in parts {
        let segment = decode_component(part).map_err(|r| malformed(&r))?;
        if segment.is_empty() || segment == "." || segment == ".." || segment.contains(['/', '\\'])
        {
            return Err(malformed(
                "a path segment is empty, '.', '..' or contains a slash",
            ));
        }
        segments.push(segment);
    }
    let mut url = Url::parse(&format!("https://{host}/")).map_err(|e| malformed(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() || url.path() != "/" {
        return Err(malformed("the host part is not a plain host[:port]"));
    }
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| malformed("cannot build an HTTPS URL"))?;
        path.pop_if_empty();
        if segments.is_empty() {
            path.push(".well-known");
        } else {
            path.extend(&segments);
        }
        path.push("did.json");
    }
    Ok(url)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (so ':' becomes `%3A`).
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn decode_component(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("percent-encoding in {s:?} is not UTF-8"))
}

/// The DID document we publish: every key that ever signed, each an assertion method.
pub fn did_document(did: &str, keys: &[VerifyingKey]) -> Value {
    let methods: Vec<Value> = keys
        .iter()
        .map(|key| {
            let multibase = multibase::encode_multikey(key);
            json!({
                "id": format!("{did}#{multibase}"),
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multibase,
            })
        })
        .collect();
    let ids: Vec<Value> = methods.iter().map(|m| m["id"].clone()).collect();
    json!({
        "@context": [DID_CONTEXT, MULTIKEY_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
    })
}

/// The DID document of a `did:key` (Ed25519 Multikey), derived offline from the DID itself: one
/// verification method `did:key:z6Mk…#z6Mk…`, controlled by the DID.
pub fn did_key_document(did: &str) -> Result<Value, DidError> {
    let bad = |reason: String| DidError::BadDidKey {
        did: did.chars().take(120).collect(),
        reason,
    };
    let multikey = did
        .strip_prefix("did:key:")
        .ok_or_else(|| bad("it does not start with did:key:".into()))?;
    let key = multibase::decode_multikey(multikey).map_err(|e| bad(e.to_string()))?;
    Ok(did_document(did, &[key]))
}

/// A key the DID document lets sign assertions (credentials and status lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionMethod {
    /// Absolute verification method id, e.g. `did:web:host:issuers:acme#z6Mk…`.
    pub id: String,
    pub controller: String,
    pub public_key: VerifyingKey,
}

/// The assertion methods of `did`'s DID document. Refuses the whole document if it is not
/// `did`'s or if any assertion method is malformed, so a broken document is noticed.
pub fn assertion_methods(did: &str, document: &Value) -> Result<Vec<AssertionMethod>, DidError> {
    let doc = document.as_object().ok_or(DidError::DocumentNotObject)?;
    match doc.get("id") {
        Some(Value::String(id)) if id == did => {}
        Some(Value::String(id)) => {
            return Err(DidError::DocumentIdMismatch {
                found: id.clone(),
                expected: did.to_owned(),
            })
        }
        _ => {
            return Err(DidError::FieldType {
                field: "id",
                expected: "a string",
            })
        }
    }
    if let Some(context) = doc.get("@context") {
        let first = match context {
            Value::Array(items) => items.first(),
            single => Some(single),
        };
        if first.and_then(Value::as_str) != Some(DID_CONTEXT) {
            return Err(DidError::BadContext);
        }
    }
    let defined = match doc.get("verificationMethod") {
        None => &[][..],
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(DidError::FieldType {
                field: "verificationMethod",
                expected: "an array",
            })
        }
    };
    let listed = match doc.get("assertionMethod") {
        None => &[][..],
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(DidError::FieldType {
                field: "assertionMethod",
                expected: "an array",
            })
        }
    };
    if listed.len() > MAX_ASSERTION_METHODS {
        return Err(DidError::TooManyMethods(listed.len()));
    }
    let mut methods = Vec::with_capacity(listed.len());
    for entry in listed {
        let method = match entry {
            Value::String(reference) => {
                let id = absolute_id(did, reference);
                let found = defined.iter().filter_map(Value::as_object).find(|m| {
                    m.get("id")
                        .and_then(Value::as_str)
                        .is_some_and(|m_id| absolute_id(did, m_id) == id)
                });
                parse_method(did, found.ok_or(DidError::UnknownMethod(id))?)?
            }
            Value::Object(embedded) => parse_method(did, embedded)?,
            _ => {
                return Err(DidError::FieldType {
                    field: "assertionMethod entries",
                    expected: "strings or objects",
                })
            }
        };
        methods.push(method);
    }
    Ok(methods)
}

fn absolute_id(did: &str, id: &str) -> String {
    if id.starts_with('#') {
        format!("{did}{id}")
    } else {
        id.to_owned()
    }
}

fn parse_method(did: &str, method: &Map<String, Value>) -> Result<AssertionMethod, DidError> {
    let raw_id = method
        .get("id")
        .and_then(Value::as_str)
        .ok_or(DidError::FieldType {
            field: "verificationMethod id",
            expected: "a string",
        })?;
    let id = absolute_id(did, raw_id);
    let bad = |problem: String| DidError::BadMethod {
        id: id.clone(),
        problem,
    };
    let method_type = method
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !ED25519_METHOD_TYPES.contains(&method_type) {
        return Err(bad(format!(
            "type is {method_type:?}; expected \"Multikey\""
        )));
    }
    let controller = method
        .get("controller")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("controller must be a string".into()))?;
    let encoded = method
        .get("publicKeyMultibase")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("publicKeyMultibase must be a string".into()))?;
    let public_key = multibase::decode_multikey(encoded).map_err(|e| bad(e.to_string()))?;
    Ok(AssertionMethod {
        id,
        controller: controller.to_owned(),
        public_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn key(n: u8) -> VerifyingKey {
        SigningKey::from_bytes(&[n; 32]).verifying_key()
    }

    #[test]
    fn issuer_did_from_base_url() {
        let cases = [
            ("https://example.com", "did:web:example.com:issuers:acme"),
            ("https://Example.COM/", "did:web:example.com:issuers:acme"),
            (
                "https://example.com:443/",
                "did:web:example.com:issuers:acme",
            ),
            (
                "http://127.0.0.1:8080",
                "did:web:127.0.0.1%3A8080:issuers:acme",
            ),
            (
                "https://example.com:8443/credo/",
                "did:web:example.com%3A8443:credo:issuers:acme",
            ),
            (
                "https://example.com/a%3Ab/c",
                "did:web:example.com:a%3Ab:c:issuers:acme",
            ),
        ];
        for (base, expected) in cases {
            let url = Url::parse(base).unwrap();
            assert_eq!(issuer_did(&url, "acme").unwrap(), expected, "{base}");
        }
        let url = Url::parse("https://example.com").unwrap();
        assert_eq!(
            issuer_did(&url, "a:b c").unwrap(),
            "did:web:example.com:issuers:a%3Ab%20c"
        );
        assert_eq!(issuer_did(&url, ""), Err(DidError::EmptySlug));
        let no_host = Url::parse("data:text/plain,hi").unwrap();
        assert!(matches!(
            issuer_did(&no_host, "acme"),
            Err(DidError::NoHost(_))
        ));
    }

    #[test]
    fn did_to_document_url() {
        let cases = [
            (
                "did:web:example.com:issuers:acme",
                "https://example.com/issuers/acme/did.json",
            ),
            (
                "did:web:example.com",
                "https://example.com/.well-known/did.json",
            ),
            (
                "did:web:example.com%3A8443:credo:issuers:acme",
                "https://example.com:8443/credo/issuers/acme/did.json",
            ),
            (
                "did:web:localhost%3a3000",
                "https://localhost:3000/.well-known/did.json",
            ),
            (
                "did:web:example.com:a%20b",
                "https://example.com/a%20b/did.json",
            ),
        ];
        for (did, expected) in cases {
            assert_eq!(
                did_web_document_url(did).unwrap().as_str(),
                expected,
                "{did}"
            );
        }
        // Round trip from base URL.
        let base = Url::parse("https://example.com:8443/credo").unwrap();
        let did = issuer_did(&base, "acme").unwrap();
        assert_eq!(
            did_web_document_url(&did).unwrap().as_str(),
            "https://example.com:8443/credo/issuers/acme/did.json"
        );
    }

    #[test]
    fn malformed_did_web_rejected() {
        assert!(matches!(
            did_web_document_url("did:key:z6Mk"),
            Err(DidError::NotDidWeb(_))
        ));
        for did in [
            "did:web:",
            "did:web:example.com:",
            "did:web:example.com::x",
            "did:web:example.com:..",
            "did:web:example.com:a%2Fb",
            "did:web:example.com#frag",
            "did:web:user%40evil.com",
            "did:web:evil.com%2F..",
            "did:web:example.com:%zz",
            "did:web:exa mple.com",
        ] {
            assert!(
                matches!(
                    did_web_document_url(did),
                    Err(DidError::MalformedDidWeb { .. })
                ),
                "{did} -> {:?}",
                did_web_document_url(did)
            );
        }
    }

    #[test]
    fn document_round_trips_through_parser() {
        let did = "did:web:example.com:issuers:acme";
        let doc = did_document(did, &[key(1), key(2)]);
        assert_eq!(doc["@context"][0], DID_CONTEXT);
        assert_eq!(doc["@context"][1], MULTIKEY_CONTEXT);
        assert_eq!(doc["verificationMethod"][0]["type"], "Multikey");
        let methods = assertion_methods(did, &doc).unwrap();
        assert_eq!(methods.len(), 2);
        for (method, k) in methods.iter().zip([key(1), key(2)]) {
            assert_eq!(method.public_key, k);
            assert_eq!(method.controller, did);
            assert_eq!(
                method.id,
                format!("{did}#{}", multibase::encode_multikey(&k))
            );
            assert!(method.id.contains("#z6Mk"));
        }
        assert_eq!(doc["assertionMethod"][1], methods[1].id.as_str());
    }

    #[test]
    fn relative_and_embedded_methods_resolve() {
        let did = "did:web:example.com";
        let mk = multibase::encode_multikey(&key(4));
        let doc = json!({
            "id": did,
            "verificationMethod": [{"id": "#k1", "type": "Multikey", "controller": did, "publicKeyMultibase": mk}],
            "assertionMethod": ["#k1", {"id": "did:web:example.com#k2", "type": "Multikey", "controller": did, "publicKeyMultibase": mk}]
        });
        let methods = assertion_methods(did, &doc).unwrap();
        assert_eq!(methods[0].id, "did:web:example.com#k1");
        assert_eq!(methods[1].id, "did:web:example.com#k2");
    }

    #[test]
    fn malformed_documents_rejected() {
        let did = "did:web:example.com:issuers:acme";
        let good = did_document(did, &[key(1)]);
        let vm_id = good["assertionMethod"][0].as_str().unwrap().to_owned();
        let mutate = |f: &dyn Fn(&mut Value)| {
            let mut doc = good.clone();
            f(&mut doc);
            assert_methods_err(did, &doc)
        };
        fn assert_methods_err(did: &str, doc: &Value) -> DidError {
            assertion_methods(did, doc).unwrap_err()
        }

        assert_eq!(
            assert_methods_err(did, &json!([])),
            DidError::DocumentNotObject
        );
        assert!(matches!(
            mutate(&|d| d["id"] = json!("did:web:evil.com")),
            DidError::DocumentIdMismatch { .. }
        ));
        assert_eq!(
            mutate(&|d| d["@context"] = json!(["https://www.w3.org/ns/credentials/v2"])),
            DidError::BadContext
        );
        assert!(matches!(
            mutate(&|d| d["assertionMethod"] = json!("x")),
            DidError::FieldType {
                field: "assertionMethod",
                ..
            }
        ));
        assert_eq!(
            mutate(&|d| d["assertionMethod"] = json!([format!("{did}#other")])),
            DidError::UnknownMethod(format!("{did}#other"))
        );
        assert!(matches!(
            mutate(&|d| d["verificationMethod"][0]["type"] = json!("JsonWebKey2020")),
            DidError::BadMethod { .. }
        ));
        assert!(matches!(
            mutate(&|d| d["verificationMethod"][0]["publicKeyMultibase"] = json!("z6MkBAD")),
            DidError::BadMethod { .. }
        ));
        assert!(matches!(
            mutate(&|d| {
                d["verificationMethod"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("controller");
            }),
            DidError::BadMethod { .. }
        ));
        assert_eq!(
            mutate(&|d| d["assertionMethod"] = json!(vec![vm_id.clone(); 257])),
            DidError::TooManyMethods(257)
        );
        // No assertionMethod: no keys, not an error.
        let mut doc = good.clone();
        doc.as_object_mut().unwrap().remove("assertionMethod");
        assert!(assertion_methods(did, &doc).unwrap().is_empty());
    }
}
