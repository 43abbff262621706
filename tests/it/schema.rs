//! The hand-written `src/db/schema.rs` against the tables the migrations build, on the backend
//! under test: same tables, same columns, same types and nullability. One schema serves both
//! backends, so a migration written for one dialect and forgotten (or typed differently) in the
//! other fails here on that backend's run.

use std::collections::BTreeMap;

use diesel::sql_types::{Bool, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use crate::common::{backend, Backend, TestApp};

/// table → column → (diesel type, nullable)
type Columns = BTreeMap<String, BTreeMap<String, (String, bool)>>;

/// The `diesel::table!` declarations of `src/db/schema.rs`.
fn declared() -> Columns {
    let text = include_str!("../../src/db/schema.rs");
    let mut tables = Columns::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (").filter(|_| line.ends_with('{')) {
            current = Some(name.to_owned());
            tables.insert(name.to_owned(), BTreeMap::new());
        } else if line == "}" {
            current = None;
        } else if let (Some(table), Some((column, ty))) = (&current, line.split_once(" -> ")) {
            let ty = ty.trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            let column = column.trim_start_matches("r#");
            tables
                .get_mut(table)
                .unwrap()
                .insert(column.to_owned(), (ty.to_owned(), nullable));
        }
    }
    tables
}

#[derive(QueryableByName)]
struct LiveColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

/// The diesel type a column's declared SQL type maps to (the types `schema.rs` may use).
fn diesel_type(sql: &str) -> String {
    match sql.to_ascii_lowercase().as_str() {
        "text" => "Text",
        "integer" => "Integer",
        "bigint" => "BigInt",
        "boolean" => "Bool",
        "timestamp" | "timestamp without time zone" => "Timestamp",
        "blob" | "bytea" => "Binary",
        other => return format!("unmapped SQL type {other:?}"),
    }
    .to_owned()
}

fn live(database_url: &str) -> Columns {
    let rows: Vec<LiveColumn> = match backend() {
        Backend::Sqlite => {
            let path = database_url.trim_start_matches("sqlite://");
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            // A primary-key column is NOT NULL in practice; SQLite reports notnull = 0 for a
            // TEXT PRIMARY KEY without the keyword, so the key counts as not nullable.
            diesel::sql_query(
                "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type, \
                 (p.\"notnull\" = 0 AND p.pk = 0) AS nullable \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                 AND m.name <> '__diesel_schema_migrations'",
            )
            .load(&mut conn)
            .unwrap()
        }
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(database_url).unwrap();
            diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, \
                 data_type::text AS data_type, (is_nullable = 'YES') AS nullable \
                 FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            )
            .load(&mut conn)
            .unwrap()
        }
    };
    let mut tables = Columns::new();
    for row in rows {
        tables
            .entry(row.table_name)
            .or_default()
            .insert(row.column_name, (diesel_type(&row.data_type), row.nullable));
    }
    tables
}

#[actix_web::test]
async fn schema_rs_matches_the_migrated_tables() {
    let app = TestApp::start().await;
    let declared = declared();
    assert!(declared.len() > 20, "parsed {} tables", declared.len());
    let live = live(&app.database_url);
    let mut differences = Vec::new();
    for table in declared.keys().chain(live.keys()) {
        match (declared.get(table), live.get(table)) {
            (Some(_), None) => differences.push(format!("{table}: in schema.rs, not migrated")),
            (None, Some(_)) => differences.push(format!("{table}: migrated, not in schema.rs")),
            (Some(want), Some(have)) => {
                for column in want.keys().chain(have.keys()) {
                    let (w, h) = (want.get(column), have.get(column));
                    if w != h {
                        differences
                            .push(format!("{table}.{column}: schema.rs {w:?}, database {h:?}"));
                    }
                }
            }
            (None, None) => unreachable!(),
        }
    }
    differences.sort();
    differences.dedup();
    assert!(
        differences.is_empty(),
        "schema.rs and the migrations disagree:\n{}",
        differences.join("\n")
    );
    app.stop().await;
}

#[test]
fn both_migration_folders_hold_the_same_migrations() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let folders = |dialect: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dialect))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    let (sqlite, postgres) = (folders("sqlite"), folders("postgres"));
    assert_eq!(
        sqlite, postgres,
        "migration folders differ between dialects"
    );
    for dialect in ["sqlite", "postgres"] {
        for name in &sqlite {
            for file in ["up.sql", "down.sql"] {
                let path = root.join(dialect).join(name).join(file);
                assert!(path.is_file(), "{} is missing", path.display());
            }
        }
    }
}
