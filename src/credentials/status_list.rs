//! W3C Bitstring Status List: the bitstring and its `encodedList` form (GZIP, then base64url
//! without padding, multibase `u`), the unsigned `BitstringStatusListCredential`, and the
//! `BitstringStatusListEntry` a credential carries.

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};
use url::Url;

use super::multibase;

pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const REVOCATION: &str = "revocation";
/// The spec's minimum list size (16 KiB), for herd privacy.
pub const MIN_BITS: usize = 131_072;
/// Largest decompressed list we accept (8,388,608 entries): a gzip bomb stops here.
pub const MAX_BYTES: usize = 1 << 20;
const MAX_BITS: usize = MAX_BYTES * 8;
const MIN_BYTES: usize = MIN_BITS / 8;
/// Compressed data never needs more than this many base64 characters for [`MAX_BYTES`].
const MAX_ENCODED_CHARS: usize = 2 * MAX_BYTES;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusListError {
    #[error("a status list needs a multiple of 8 bits, at least {MIN_BITS} and at most {MAX_BITS}; got {0}")]
    BadSize(usize),
    #[error("index {index} is outside the status list of {bits} entries")]
    IndexOutOfRange { index: u64, bits: usize },
    #[error("encodedList is {0} characters long; at most {MAX_ENCODED_CHARS} are accepted")]
    EncodedTooLong(usize),
    #[error("encodedList: {0}")]
    Multibase(#[from] multibase::MultibaseError),
    #[error("encodedList is not valid GZIP data: {0}")]
    Gzip(String),
    #[error("encodedList decompresses to more than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("encodedList decompresses to {0} bytes; a status list has at least {MIN_BYTES} bytes")]
    TooShort(usize),
    #[error("ttl must be at most 2^53-1 milliseconds")]
    TtlTooLarge,
    #[error("credentialStatus {0}")]
    Entry(String),
}

/// The revocation bits of one status list; bit i is `byte[i/8] & (0x80 >> (i%8))`.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = self.bytes.iter().map(|b| b.count_ones()).sum::<u32>();
        write!(f, "Bitstring({} bits, {set} set)", self.bit_len())
    }
}

impl Default for Bitstring {
    fn default() -> Self {
        Self {
            bytes: vec![0; MIN_BITS / 8],
        }
    }
}

impl Bitstring {
    /// An all-clear list of `bits` entries (a multiple of 8, at least [`MIN_BITS`]).
    pub fn new(bits: usize) -> Result<Self, StatusListError> {
        if bits < MIN_BITS || bits % 8 != 0 || bits / 8 > MAX_BYTES {
            return Err(StatusListError::BadSize(bits));
        }
        Ok(Self {
            bytes: vec![0; bits / 8],
        })
    }

    /// A list from its raw bytes as stored (a multiple of 8 bits within the size limits).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, StatusListError> {
        let bits = bytes.len() * 8;
        if bits < MIN_BITS || bytes.len() > MAX_BYTES {
            return Err(StatusListError::BadSize(bits));
        }
        Ok(Self { bytes })
    }

    /// The raw bytes, for storage.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn bit_len(&self) -> usize {
        self.bytes.len() * 8
    }

    fn locate(&self, index: u64) -> Result<(usize, u8), StatusListError> {
        let out_of_range = || StatusListError::IndexOutOfRange {
            index,
            bits: self.bit_len(),
        };
        let i = usize::try_from(index).map_err(|_| out_of_range())?;
        if i >= self.bit_len() {
            return Err(out_of_range());
        }
        Ok((i / 8, 0x80 >> (i % 8)))
    }

    pub fn get(&self, index: u64) -> Result<bool, StatusListError> {
        let (byte, mask) = self.locate(index)?;
        Ok(self.bytes[byte] & mask != 0)
    }

    pub fn set(&mut self, index: u64, value: bool) -> Result<(), StatusListError> {
        let (byte, mask) = self.locate(index)?;
        if value {
            self.bytes[byte] |= mask;
        } else {
            self.bytes[byte] &= !mask;
        }
        Ok(())
    }

    /// The `encodedList` value: `u` + base64url-no-pad(GZIP(bytes)).
    pub fn encode(&self) -> Result<String, StatusListError> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(&self.bytes)
            .map_err(|e| StatusListError::Gzip(e.to_string()))?;
        let compressed = gz
            .finish()
            .map_err(|e| StatusListError::Gzip(e.to_string()))?;
        Ok(multibase::encode_base64url(&compressed))
    }

    /// Parses an `encodedList`, reading at most [`MAX_BYTES`] decompressed bytes.
    pub fn decode(encoded: &str) -> Result<Self, StatusListError> {
        if encoded.len() > MAX_ENCODED_CHARS {
            return Err(StatusListError::EncodedTooLong(encoded.len()));
        }
        let compressed = multibase::decode_base64url(encoded)?;
        let mut bytes = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| StatusListError::Gzip(e.to_string()))?;
        if bytes.len() > MAX_BYTES {
            return Err(StatusListError::TooLarge);
        }
        if bytes.len() < MIN_BITS / 8 {
            return Err(StatusListError::TooShort(bytes.len()));
        }
        Ok(Self { bytes })
    }
}

/// The unsigned `BitstringStatusListCredential` served at `id_url`; sign it with the issuer key.
pub fn status_list_credential(
    id_url: &Url,
    issuer_did: &str,
    issuer_name: &str,
    valid_from: DateTime<Utc>,
    ttl_ms: Option<u64>,
    bitstring: &Bitstring,
) -> Result<Value, StatusListError> {
    let mut list_id = id_url.clone();
    list_id.set_fragment(None);
    let mut subject_id = list_id.clone();
    subject_id.set_fragment(Some("list"));
    let mut subject = Map::new();
    subject.insert("id".into(), subject_id.as_str().into());
    subject.insert("type".into(), "BitstringStatusList".into());
    subject.insert("statusPurpose".into(), REVOCATION.into());
    subject.insert("encodedList".into(), bitstring.encode()?.into());
    if let Some(ttl) = ttl_ms {
        if ttl > super::jcs::MAX_SAFE_INTEGER {
            return Err(StatusListError::TtlTooLarge);
        }
        subject.insert("ttl".into(), ttl.into());
    }
    Ok(json!({
        "@context": [VC_V2_CONTEXT],
        "id": list_id.as_str(),
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_did, "name": issuer_name},
        "validFrom": super::format_timestamp(valid_from),
        "credentialSubject": subject,
    }))
}

/// The `credentialStatus` of a credential whose revocation bit is `index` in the list at `list_url`.
pub fn status_entry(list_url: &Url, index: u64) -> Value {
    let mut list = list_url.clone();
    list.set_fragment(None);
    let mut entry_id = list.clone();
    entry_id.set_fragment(Some(&index.to_string()));
    json!({
        "id": entry_id.as_str(),
        "type": "BitstringStatusListEntry",
        "statusPurpose": REVOCATION,
        "statusListIndex": index.to_string(),
        "statusListCredential": list.as_str(),
    })
}

/// A parsed `BitstringStatusListEntry`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEntry {
    pub list_url: String,
    pub index: u64,
    pub purpose: String,
}

/// Reads one `credentialStatus` entry; refuses other status types and multi-bit entries.
pub fn parse_status_entry(entry: &Value) -> Result<StatusEntry, StatusListError> {
    let bad = |problem: &str| StatusListError::Entry(problem.to_owned());
    let entry = entry.as_object().ok_or_else(|| bad("must be an object"))?;
    let is_entry_type = match entry.get("type") {
        Some(Value::String(t)) => t == "BitstringStatusListEntry",
        Some(Value::Array(types)) => types
            .iter()
            .any(|t| t.as_str() == Some("BitstringStatusListEntry")),
        _ => false,
    };
    if !is_entry_type {
        return Err(bad("type must be \"BitstringStatusListEntry\""));
    }
    let purpose = entry
        .get("statusPurpose")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("statusPurpose must be a string"))?;
    let index_text = entry
        .get("statusListIndex")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("statusListIndex must be a base-10 string"))?;
    if index_text.is_empty()
        || index_text.len() > 20
        || !index_text.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad("statusListIndex must be a base-10 string"));
    }
    let index = index_text
        .parse::<u64>()
        .map_err(|_| bad("statusListIndex is too large"))?;
    let list_url = entry
        .get("statusListCredential")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("statusListCredential must be a URL string"))?;
    Url::parse(list_url).map_err(|_| bad("statusListCredential must be an absolute URL"))?;
    match entry.get("statusSize") {
        None => {}
        Some(size) if size.as_u64() == Some(1) => {}
        Some(_) => return Err(bad("statusSize other than 1 is not supported")),
    }
    Ok(StatusEntry {
        list_url: list_url.to_owned(),
        index,
        purpose: purpose.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    fn gzip_multibase(bytes: &[u8]) -> String {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(bytes).unwrap();
        multibase::encode_base64url(&gz.finish().unwrap())
    }

    #[test]
    fn bit_order_is_msb_first() {
        let mut list = Bitstring::default();
        assert_eq!(list.bit_len(), 131_072);
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        list.set(131_071, true).unwrap();
        assert_eq!(list.bytes[0], 0x80);
        assert_eq!(list.bytes[1], 0x40);
        assert_eq!(list.bytes[16_383], 0x01);
        assert!(list.get(0).unwrap() && list.get(9).unwrap() && list.get(131_071).unwrap());
        assert!(!list.get(1).unwrap() && !list.get(8).unwrap());
        list.set(9, false).unwrap();
        assert_eq!(list.bytes[1], 0);
        assert_eq!(
            list.get(131_072),
            Err(StatusListError::IndexOutOfRange {
                index: 131_072,
                bits: 131_072
            })
        );
        assert!(list.set(u64::MAX, true).is_err());
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut list = Bitstring::new(MIN_BITS * 2).unwrap();
        for i in [0u64, 7, 8, 1000, 131_072, 262_143] {
            list.set(i, true).unwrap();
        }
        let encoded = list.encode().unwrap();
        assert!(encoded.starts_with('u') && !encoded.contains('='));
        // GZIP magic bytes after the multibase prefix.
        let raw = URL_SAFE_NO_PAD.decode(&encoded[1..]).unwrap();
        assert_eq!(&raw[..2], &[0x1f, 0x8b]);
        let decoded = Bitstring::decode(&encoded).unwrap();
        assert_eq!(decoded, list);
        assert!(decoded.get(262_143).unwrap() && !decoded.get(262_142).unwrap());
    }

    #[test]
    fn spec_example_empty_list_decodes() {
        // From the W3C Bitstring Status List spec example (16 KiB of zeros).
        let spec = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
        let list = Bitstring::decode(spec).unwrap();
        assert_eq!(list, Bitstring::default());
    }

    #[test]
    fn size_limits() {
        assert_eq!(
            Bitstring::new(131_064),
            Err(StatusListError::BadSize(131_064))
        );
        assert_eq!(
            Bitstring::new(131_073),
            Err(StatusListError::BadSize(131_073))
        );
        assert!(Bitstring::new(MAX_BYTES * 8).is_ok());
        assert!(Bitstring::new(MAX_BYTES * 8 + 8).is_err());
        assert_eq!(
            Bitstring::decode(&gzip_multibase(&[0u8; 16_383])),
            Err(StatusListError::TooShort(16_383))
        );
    }

    #[test]
    fn rejects_bad_encodings_and_gzip_bombs() {
        assert!(matches!(
            Bitstring::decode(&format!("z{}", "1".repeat(10))),
            Err(StatusListError::Multibase(_))
        ));
        assert!(matches!(
            Bitstring::decode(&multibase::encode_base64url(b"not gzip at all")),
            Err(StatusListError::Gzip(_))
        ));
        assert!(matches!(
            Bitstring::decode(&"u".repeat(MAX_ENCODED_CHARS + 1)),
            Err(StatusListError::EncodedTooLong(_))
        ));
        // 64 MiB of zeros compress to ~64 KiB; decoding stops after 1 MiB + 1 byte.
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&chunk).unwrap();
        }
        let bomb = multibase::encode_base64url(&gz.finish().unwrap());
        assert!(bomb.len() < 200_000);
        assert_eq!(Bitstring::decode(&bomb), Err(StatusListError::TooLarge));
    }

    #[test]
    fn list_credential_shape() {
        let url = Url::parse("https://example.com/status/acme/1").unwrap();
        let from: DateTime<Utc> = "2025-01-02T03:04:05.6Z".parse().unwrap();
        let vc = status_list_credential(
            &url,
            "did:web:example.com:issuers:acme",
            "Acme",
            from,
            Some(300_000),
            &Bitstring::default(),
        )
        .unwrap();
        assert_eq!(vc["@context"], json!([VC_V2_CONTEXT]));
        assert_eq!(
            vc["type"],
            json!(["VerifiableCredential", "BitstringStatusListCredential"])
        );
        assert_eq!(vc["id"], "https://example.com/status/acme/1");
        assert_eq!(vc["issuer"]["id"], "did:web:example.com:issuers:acme");
        assert_eq!(vc["validFrom"], "2025-01-02T03:04:05Z");
        let subject = &vc["credentialSubject"];
        assert_eq!(subject["type"], "BitstringStatusList");
        assert_eq!(subject["statusPurpose"], "revocation");
        assert_eq!(subject["ttl"], 300_000);
        assert_eq!(subject["id"], "https://example.com/status/acme/1#list");
        let with_fragment = Url::parse("https://example.com/status/acme/1#x").unwrap();
        let vc2 =
            status_list_credential(&with_fragment, "d", "n", from, None, &Bitstring::default())
                .unwrap();
        assert_eq!(vc2["id"], "https://example.com/status/acme/1");
        assert!(vc2["credentialSubject"].get("ttl").is_none());
        let decoded = Bitstring::decode(subject["encodedList"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, Bitstring::default());
        assert_eq!(
            status_list_credential(&url, "d", "n", from, Some(1 << 53), &Bitstring::default()),
            Err(StatusListError::TtlTooLarge)
        );
    }

    #[test]
    fn entry_shape_and_parse() {
        let url = Url::parse("https://example.com/status/acme/1").unwrap();
        let entry = status_entry(&url, 4711);
        assert_eq!(entry["id"], "https://example.com/status/acme/1#4711");
        assert_ne!(entry["id"], entry["statusListCredential"]);
        assert_eq!(entry["statusListIndex"], "4711");
        assert_eq!(entry["type"], "BitstringStatusListEntry");
        let with_fragment = Url::parse("https://example.com/status/acme/1#x").unwrap();
        assert_eq!(
            status_entry(&with_fragment, 3)["statusListCredential"],
            url.as_str()
        );
        assert_eq!(
            parse_status_entry(&entry).unwrap(),
            StatusEntry {
                list_url: url.to_string(),
                index: 4711,
                purpose: "revocation".into()
            }
        );
        for (field, value) in [
            ("statusListIndex", json!(4711)),
            ("statusListIndex", json!("-1")),
            ("statusListIndex", json!("0x10")),
            ("statusListIndex", json!("99999999999999999999")),
            ("statusListCredential", json!("/relative")),
            ("type", json!("StatusList2021Entry")),
            ("statusPurpose", json!(null)),
            ("statusSize", json!(2)),
        ] {
            let mut bad = entry.clone();
            bad[field] = value.clone();
            assert!(
                matches!(parse_status_entry(&bad), Err(StatusListError::Entry(_))),
                "{field}={value}"
            );
        }
    }
}
