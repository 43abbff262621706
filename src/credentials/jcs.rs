//! RFC 8785 JSON Canonicalization Scheme for `serde_json::Value`.
//!
//! Objects, arrays, strings and safe integers are written here directly (keys sorted by UTF-16
//! code units; strings escaped by serde_json, whose escapes are exactly JCS's). Every other number
//! is formatted by `serde_json_canonicalizer` (ECMAScript number formatting). That crate is also
//! the reference the property test compares against; used alone it costs more than an Ed25519
//! verification per credential, because it re-parses every key and buffers every value.

use serde_json::{Map, Number, Value};

/// Largest integer JCS reproduces exactly (JCS prints numbers as IEEE-754 doubles).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    #[error("cannot canonicalize JSON: {0}")]
    Serialize(String),
    #[error(
        "number {value} at {path} cannot be signed: use integers within ±2^53 (big ids as strings)"
    )]
    UnsafeNumber { path: String, value: String },
}

/// Canonical UTF-8 bytes of a JSON value.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(1024);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Canonical bytes of `object` without the key `skip` and, when `context` is given, with
/// `@context` set to it: the proof config and the unsecured document, without cloning either.
pub fn canonicalize_object_view(
    object: &Map<String, Value>,
    skip: &str,
    context: Option<&Value>,
) -> Result<Vec<u8>, JcsError> {
    let mut entries: Vec<(&str, &Value)> = object
        .iter()
        .filter(|(key, _)| *key != skip && !(context.is_some() && *key == "@context"))
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    if let Some(context) = context {
        entries.push(("@context", context));
    }
    let mut out = Vec::with_capacity(1024);
    write_entries(&mut out, entries)?;
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            write_entries(out, map.iter().map(|(k, v)| (k.as_str(), v)).collect())?;
        }
    }
    Ok(())
}

fn write_entries(out: &mut Vec<u8>, mut entries: Vec<(&str, &Value)>) -> Result<(), JcsError> {
    // serde_json's map is already in UTF-8 order, which differs from UTF-16 order only around
    // supplementary-plane characters; sorting sorted input is linear.
    entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    out.push(b'{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, key)?;
        out.push(b':');
        write_value(out, value)?;
    }
    out.push(b'}');
    Ok(())
}

fn is_safe_integer(n: &Number) -> bool {
    n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
        || n.as_i64()
            .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER)
}

fn write_string(out: &mut Vec<u8>, s: &str) -> Result<(), JcsError> {
    serde_json::to_writer(&mut *out, s).map_err(|e| JcsError::Serialize(e.to_string()))
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), JcsError> {
    if is_safe_integer(n) {
        out.extend_from_slice(n.to_string().as_bytes());
        Ok(())
    } else {
        serde_json_canonicalizer::to_writer(n, out).map_err(|e| JcsError::Serialize(e.to_string()))
    }
}

/// Refuses non-integers and integers beyond ±2^53: JCS would print them rounded, so the signed
/// bytes would not say what the document says.
pub fn check_signable_numbers(value: &Value) -> Result<(), JcsError> {
    fn walk(value: &Value, path: &mut String) -> Result<(), JcsError> {
        match value {
            Value::Number(n) => {
                let safe = n.as_u64().is_some_and(|u| u <= MAX_SAFE_INTEGER)
                    || n.as_i64()
                        .is_some_and(|i| i.unsigned_abs() <= MAX_SAFE_INTEGER);
                if safe {
                    Ok(())
                } else {
                    Err(JcsError::UnsafeNumber {
                        path: if path.is_empty() {
                            "/".into()
                        } else {
                            path.clone()
                        },
                        value: n.to_string(),
                    })
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Object(map) => {
                for (key, item) in map {
                    let len = path.len();
                    path.push('/');
                    path.push_str(key);
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_by_utf16_and_formats_numbers_like_ecmascript() {
        // UTF-16 order puts "😀" (D83D DE00) before "｡" (FF61); UTF-8 order is the reverse.
        let value =
            json!({"｡": 1, "😀": 2, "b": [1e2, -0.0, 1.5e-7, 1e21], "a": "\u{0}\n\"é\u{7f}/"});
        let out = String::from_utf8(canonicalize(&value).unwrap()).unwrap();
        assert_eq!(
            out,
            "{\"a\":\"\\u0000\\n\\\"é\u{7f}/\",\"b\":[100,0,1.5e-7,1e+21],\"😀\":2,\"｡\":1}"
        );
    }

    #[test]
    fn signable_numbers_allow_safe_integers_only() {
        assert!(check_signable_numbers(&json!({"a": [1, -5, 9007199254740991u64]})).is_ok());
        let err = check_signable_numbers(&json!({"a": [1, {"b": 0.5}]})).unwrap_err();
        assert!(err.to_string().contains("/a/1/b"), "{err}");
        assert!(check_signable_numbers(&json!(9007199254740992u64)).is_err());
        assert!(check_signable_numbers(&json!(-9007199254740992i64)).is_err());
    }

    fn arb_text() -> impl Strategy<Value = String> {
        // ASCII, controls, BMP private use (sorts differently in UTF-16), astral emoji.
        prop::collection::vec(
            prop_oneof![
                prop::char::range('\u{0}', '\u{7f}'),
                prop::char::range('\u{e000}', '\u{ffff}'),
                prop::char::range('\u{1f600}', '\u{1f64f}'),
                prop::char::range('\u{80}', '\u{7ff}'),
            ],
            0..6,
        )
        .prop_map(|chars| chars.into_iter().collect())
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            arb_text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(arb_text(), inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn matches_serde_json_canonicalizer(value in arb_json()) {
            let reference = serde_json_canonicalizer::to_vec(&value).unwrap();
            prop_assert_eq!(
                String::from_utf8(canonicalize(&value).unwrap()).unwrap(),
                String::from_utf8(reference).unwrap()
            );
        }

        #[test]
        fn object_view_matches_edited_copy(
            map in prop::collection::btree_map(
                prop_oneof![Just("@context".to_owned()), Just("proof".to_owned()), arb_text()],
                arb_json(),
                0..8,
            ),
            context in proptest::option::of(arb_json()),
        ) {
            let map: Map<String, Value> = map.into_iter().collect();
            let mut edited = map.clone();
            edited.remove("proof");
            if let Some(context) = &context {
                edited.insert("@context".into(), context.clone());
            }
            let reference = serde_json_canonicalizer::to_vec(&Value::Object(edited)).unwrap();
            prop_assert_eq!(
                canonicalize_object_view(&map, "proof", context.as_ref()).unwrap(),
                reference
            );
        }
    }
}
