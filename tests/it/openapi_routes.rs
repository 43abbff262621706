//! The OpenAPI document and the routes actix serves are the same set: every documented operation
//! is routed (the server's metrics name its route pattern), and every route attribute of the
//! JSON handlers (`src/http/ops.rs`, `src/http/api/`) and every page handler carrying
//! `#[utoipa::path]` is documented. A handler registered without an annotation fails here (and,
//! through `routes!`, does not compile).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::Value;

use crate::common::TestApp;

/// `(METHOD, path template)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

/// The route attributes (`#[get("/x")]`) of one source file; with `annotated_only`, only those
/// of handlers that carry `#[utoipa::path]`.
fn route_attributes(file: &Path, annotated_only: bool) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(file).unwrap();
    let mut routes = Vec::new();
    let mut annotated = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with("#[utoipa::path") {
            annotated = true;
        }
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) {
                let path = rest.split('"').next().unwrap().to_string();
                if annotated || !annotated_only {
                    routes.push((method.to_uppercase(), path));
                }
                annotated = false;
            }
        }
        assert!(
            !line.contains(".route(\"") && !line.contains("web::resource("),
            "{}: register handlers with `routes!`, not `{line}`",
            file.display()
        );
    }
    routes
}

/// The `.rs` files under `dir`, its subfolders included (page groups are folders).
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
    {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The routes the source registers for JSON (and the pages documented on purpose).
fn source_routes() -> BTreeSet<(String, String)> {
    let http = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut routes = BTreeSet::new();
    for file in std::iter::once(http.join("ops.rs")).chain(rust_files(&http.join("api"))) {
        routes.extend(route_attributes(&file, false));
    }
    for file in rust_files(&http.join("pages")) {
        routes.extend(route_attributes(&file, true));
    }
    routes
}

#[actix_web::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let app = TestApp::start().await;
    let doc = app.get("/api/openapi.json", None).await.expect(200).json();
    let documented = documented(&doc);
    let in_source = source_routes();
    assert!(documented.len() >= 90, "{} operations", documented.len());
    let undocumented: Vec<_> = in_source.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an operation: {undocumented:?}"
    );
    let unrouted: Vec<_> = documented.difference(&in_source).collect();
    assert!(
        unrouted.is_empty(),
        "operations without a route: {unrouted:?}"
    );

    // Served: a request to each operation (anonymous, ids that exist nowhere) is answered by
    // the route with that pattern, as the request metrics label it.
    for (method, template) in &documented {
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') {
                    "x"
                } else {
                    segment
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        app.client
            .request(method.parse::<Method>().unwrap(), app.url(&path))
            .send()
            .await
            .unwrap();
    }
    let metrics = app.get("/metrics", None).await.expect(200).text;
    for (method, template) in &documented {
        let label = format!("method=\"{method}\",route=\"{template}\"");
        assert!(
            metrics.contains(&label),
            "{method} {template} was not routed to its handler"
        );
    }
    app.stop().await;
}
