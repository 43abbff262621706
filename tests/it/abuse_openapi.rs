//! A NUL character in every string field and every path id of every operation of the OpenAPI
//! document is a 4xx, never a 5xx (PostgreSQL refuses NUL in text and answered 500 before the
//! edge check). The operations and their fields are read from the served document, so a new
//! operation is covered as soon as it is documented.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::common::TestApp;

/// Follows a local `$ref` (`#/components/schemas/X`).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .map(|target| resolve(doc, target))
            .unwrap_or(schema),
        None => schema,
    }
}

/// A plausible value for a schema; every string is "x" (or the first enum value).
fn example(doc: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(|v| v.get(0))
    {
        return example(doc, first, depth);
    }
    if let Some(first) = schema.get("enum").and_then(|v| v.get(0)) {
        return first.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::Array(kinds)) => kinds.iter().find(|k| *k != "null").cloned(),
        other => other.cloned(),
    };
    match kind.as_ref().and_then(Value::as_str) {
        Some("object") | None if schema.get("properties").is_some() && depth < 6 => {
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().unwrap() {
                object.insert(name.clone(), example(doc, property, depth + 1));
            }
            Value::Object(object)
        }
        Some("array") if depth < 6 => {
            json!([example(
                doc,
                schema.get("items").unwrap_or(&json!({})),
                depth + 1
            )])
        }
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(false),
        Some("object") => json!({}),
        _ => json!("x"),
    }
}

/// The JSON paths (as field names: `a.b[0].c`) of every string in `value`.
fn string_fields(
    value: &Value,
    path: &str,
    out: &mut Vec<(String, Vec<PathStep>)>,
    steps: Vec<PathStep>,
) {
    match value {
        Value::String(_) => out.push((path.to_string(), steps)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let mut next = steps.clone();
                next.push(PathStep::Index(i));
                string_fields(item, &format!("{path}[{i}]"), out, next);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let mut next = steps.clone();
                next.push(PathStep::Key(key.clone()));
                let name = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                string_fields(item, &name, out, next);
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

fn with_nul(mut value: Value, steps: &[PathStep]) -> Value {
    let mut slot = &mut value;
    for step in steps {
        slot = match step {
            PathStep::Key(key) => &mut slot[key.as_str()],
            PathStep::Index(i) => &mut slot[*i],
        };
    }
    *slot = json!("a\u{0}b");
    value
}

struct Case {
    label: String,
    method: Method,
    path: String,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
    /// The field a 422 must name (JSON string fields).
    field: Option<String>,
}

fn cases(doc: &Value, program: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    for (template, operations) in doc["paths"].as_object().unwrap() {
        let params: Vec<String> = template
            .split('{')
            .skip(1)
            .filter_map(|p| p.split('}').next())
            .map(str::to_string)
            .collect();
        let fill = |nul_in: Option<&str>| {
            let mut path = template.clone();
            for param in &params {
                let value = if Some(param.as_str()) == nul_in {
                    "a%00b"
                } else if param == "vendor" {
                    "acme"
                } else if param == "program" {
                    program
                } else {
                    "x"
                };
                path = path.replace(&format!("{{{param}}}"), value);
            }
            path
        };
        for (method_name, operation) in operations.as_object().unwrap() {
            let Ok(method) = method_name.to_uppercase().parse::<Method>() else {
                continue;
            };
            if method_name == "parameters" {
                continue;
            }
            let content = operation
                .pointer("/requestBody/content")
                .and_then(Value::as_object);
            let json_schema = content
                .and_then(|c| c.get("application/json"))
                .map(|c| &c["schema"]);
            let base_body = json_schema.map(|s| example(doc, s, 0));
            let plain_body = |v: &Option<Value>| v.as_ref().map(|b| b.to_string().into_bytes());
            for param in &params {
                cases.push(Case {
                    label: format!("{method} {template} path {{{param}}}"),
                    method: method.clone(),
                    path: fill(Some(param)),
                    content_type: base_body.as_ref().map(|_| "application/json".into()),
                    body: plain_body(&base_body),
                    field: None,
                });
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query" {
                    let name = parameter["name"].as_str().unwrap();
                    cases.push(Case {
                        label: format!("{method} {template} query {name}"),
                        method: method.clone(),
                        path: format!("{}?{name}=a%00b", fill(None)),
                        content_type: base_body.as_ref().map(|_| "application/json".into()),
                        body: plain_body(&base_body),
                        field: Some(name.to_string()),
                    });
                }
            }
            if let Some(body) = &base_body {
                let mut fields = Vec::new();
                string_fields(body, "", &mut fields, Vec::new());
                if body.is_string() {
                    fields = vec![("body".into(), Vec::new())];
                }
                for (field, steps) in fields {
                    cases.push(Case {
                        label: format!("{method} {template} body {field}"),
                        method: method.clone(),
                        path: fill(None),
                        content_type: Some("application/json".into()),
                        body: Some(with_nul(body.clone(), &steps).to_string().into_bytes()),
                        field: Some(field),
                    });
                }
            } else if let Some(content) = content {
                // Text bodies (bank files).
                for content_type in content.keys() {
                    cases.push(Case {
                        label: format!("{method} {template} body as {content_type}"),
                        method: method.clone(),
                        path: fill(None),
                        content_type: Some(content_type.clone()),
                        body: Some(b"[exam]\nslug = \"a\0b\"\n".to_vec()),
                        field: Some("body".into()),
                    });
                }
            }
        }
    }
    cases
}

#[actix_web::test]
async fn a_nul_in_any_documented_input_is_a_client_error() {
    let app = TestApp::start().await;
    let operator = app.operator().await;
    // A vendor with a program, so operations on them get past the lookup to the body.
    let shop = crate::common::referrals::shop(&app, "acme").await;
    let doc = app.get("/api/openapi.json", None).await.expect(200).json();
    let cases = cases(&doc, &shop.id());
    assert!(
        cases.len() > 100,
        "only {} cases: is the document read?",
        cases.len()
    );
    let mut failures = Vec::new();
    let mut named = 0;
    let mut unnamed = Vec::new();
    let mut json_fields = 0;
    for case in &cases {
        let mut request = app
            .client
            .request(case.method.clone(), app.url(&case.path))
            .bearer_auth(&operator.token);
        if let (Some(content_type), Some(body)) = (&case.content_type, &case.body) {
            request = request
                .header("content-type", content_type)
                .body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_client_error() {
            failures.push(format!("{}: {status} {text}", case.label));
            continue;
        }
        if let Some(field) = &case.field {
            json_fields += 1;
            if status == 422 {
                let problem: Value = serde_json::from_str(&text).unwrap_or_default();
                let fields: Vec<&str> = problem["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e["field"].as_str())
                    .collect();
                if fields.contains(&field.as_str()) {
                    named += 1;
                    continue;
                }
            }
            unnamed.push(format!("{}: {status} {text}", case.label));
        }
    }
    assert!(failures.is_empty(), "not a 4xx:\n{}", failures.join("\n"));
    // Most field cases reach the edge check (a few answer 401/404 first: webhooks check the
    // signature before reading the body).
    assert!(
        named * 10 >= json_fields * 8,
        "only {named} of {json_fields} field cases were a 422 naming the field:\n{}",
        unnamed.join("\n")
    );
    app.stop().await;
}
