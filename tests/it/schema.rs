//! The hand-written `src/db/schema.rs` against the tables the migrations build, on the backend
//! under test: same tables, same columns, same types and nullability. One schema serves both
//! backends, so a migration written for one dialect and forgotten (or typed differently) in the
//! other fails here on that backend's run.

use std::collections::BTreeMap;
use std::path::Path;

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
    // Token by token, the two dialects say the same thing, up to the dialect tokens of
    // `DIALECT_TOKENS`; the migrations of `DIALECT_EXCEPTIONS` are written differently on purpose.
    let mut excepted_but_equal = Vec::new();
    for name in &sqlite {
        let mut differences = Vec::new();
        for file in ["up.sql", "down.sql"] {
            let read = |dialect: &str| {
                let path = Path::new("migrations").join(dialect).join(name).join(file);
                let text = std::fs::read_to_string(root.parent().unwrap().join(&path)).unwrap();
                (path.display().to_string(), text)
            };
            if let Some(difference) = first_dialect_difference(read("sqlite"), read("postgres")) {
                differences.push(difference);
            }
        }
        let excepted = DIALECT_EXCEPTIONS
            .iter()
            .any(|(excepted, _)| excepted == name);
        match (excepted, differences.first()) {
            (false, Some(difference)) => panic!(
                "the migration folders differ in more than dialect tokens (add the token pair \
                 to DIALECT_TOKENS, or write both the same way):\n{difference}"
            ),
            (true, None) => excepted_but_equal.push(name.clone()),
            _ => {}
        }
    }
    assert!(
        excepted_but_equal.is_empty(),
        "{excepted_but_equal:?} are listed in DIALECT_EXCEPTIONS but need no exception"
    );
    for (name, _) in DIALECT_EXCEPTIONS {
        assert!(
            sqlite.iter().any(|n| n == name),
            "DIALECT_EXCEPTIONS names {name}, which is no migration"
        );
    }
}

/// The same thing said in each dialect: (SQLite tokens, PostgreSQL tokens), compared as equal.
/// Only what the migrations actually use; extend it when a migration needs another pair.
const DIALECT_TOKENS: &[(&[&str], &[&str])] = &[
    // Binary columns.
    (&["BLOB"], &["BYTEA"]),
    // Boolean defaults: SQLite's booleans are integers.
    (
        &["BOOLEAN", "NOT", "NULL", "DEFAULT", "0"],
        &["BOOLEAN", "NOT", "NULL", "DEFAULT", "FALSE"],
    ),
    (
        &["BOOLEAN", "NOT", "NULL", "DEFAULT", "1"],
        &["BOOLEAN", "NOT", "NULL", "DEFAULT", "TRUE"],
    ),
];

/// Migrations written differently in each dialect on purpose; each is compared only as a file that
/// exists in both folders.
const DIALECT_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "2026-12-07-000003_badges",
        // SQLite cannot drop NOT NULL or add a CHECK in place: it rebuilds `issuer_keys` (foreign
        // keys off, its own transaction); PostgreSQL alters the table.
        "SQLite table rebuild vs PostgreSQL ALTER TABLE",
    ),
    (
        "2026-12-07-000007_audit_events",
        // SQLite triggers with RAISE(ABORT) vs a PL/pgSQL trigger function (which also refuses
        // TRUNCATE, which SQLite does not have).
        "append-only triggers in each dialect's trigger language",
    ),
];

/// One SQL token and the line it starts on. Comments and whitespace are not tokens.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

/// Words (identifiers, keywords, numbers), quoted strings and identifiers (with their quotes),
/// `$$`, and single punctuation characters; `--` and `/* */` comments are skipped.
fn sql_tokens(sql: &str) -> Vec<Token> {
    let chars: Vec<char> = sql.chars().collect();
    let (mut tokens, mut line, mut i) = (Vec::new(), 1, 0);
    while i < chars.len() {
        let (c, start_line) = (chars[i], line);
        let start = i;
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += 2;
            continue;
        } else if c == '\'' || c == '"' {
            // A quoted string or identifier; a doubled quote is an escaped one.
            i += 1;
            while i < chars.len() {
                if chars[i] == c && chars.get(i + 1) == Some(&c) {
                    i += 2;
                } else if chars[i] == c {
                    i += 1;
                    break;
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
        } else if c == '$' && chars.get(i + 1) == Some(&'$') {
            i += 2;
        } else {
            i += 1;
        }
        tokens.push(Token {
            text: chars[start..i.min(chars.len())].iter().collect(),
            line: start_line,
        });
    }
    tokens
}

/// The tokens with either form of every dialect pair replaced by one neutral token (either form:
/// a file may use the form both dialects accept, e.g. `DEFAULT FALSE` also on SQLite).
fn normalized(tokens: &[Token]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    'tokens: while i < tokens.len() {
        for (index, pair) in DIALECT_TOKENS.iter().enumerate() {
            let matching = [pair.0, pair.1].into_iter().find(|words| {
                tokens.len() - i >= words.len()
                    && words
                        .iter()
                        .zip(&tokens[i..])
                        .all(|(word, token)| token.text.eq_ignore_ascii_case(word))
            });
            if let Some(words) = matching {
                out.push(Token {
                    text: format!(
                        "<dialect pair {index}: {} | {}>",
                        pair.0.join(" "),
                        pair.1.join(" ")
                    ),
                    line: tokens[i].line,
                });
                i += words.len();
                continue 'tokens;
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    out
}

/// The first token where the two files differ once dialect pairs are normalized, as
/// `file:line: `token``, or `None` when they say the same.
fn first_dialect_difference(
    (sqlite_path, sqlite): (String, String),
    (postgres_path, postgres): (String, String),
) -> Option<String> {
    let left = normalized(&sql_tokens(&sqlite));
    let right = normalized(&sql_tokens(&postgres));
    let at = |path: &str, tokens: &[Token], index: usize| match tokens.get(index) {
        Some(token) => format!("{path}:{}: `{}`", token.line, token.text),
        None => format!("{path}: (end of file)"),
    };
    let index = (0..left.len().max(right.len()))
        .find(|&index| left.get(index).map(|t| &t.text) != right.get(index).map(|t| &t.text))?;
    Some(format!(
        "{}\n{}",
        at(&sqlite_path, &left, index),
        at(&postgres_path, &right, index)
    ))
}

#[test]
fn a_changed_token_in_one_dialect_is_reported_with_its_file_and_line() {
    let sqlite = "-- a comment only SQLite has\nCREATE TABLE t (\n    id TEXT PRIMARY KEY,\n    data BLOB NOT NULL,\n    flag BOOLEAN NOT NULL DEFAULT 0\n);\n";
    let postgres = "CREATE TABLE t (\n    id TEXT PRIMARY KEY,\n    data BYTEA NOT NULL,\n    flag BOOLEAN NOT NULL DEFAULT FALSE\n);\n";
    let files = |sqlite: &str, postgres: &str| {
        first_dialect_difference(
            ("s/up.sql".to_string(), sqlite.to_string()),
            ("p/up.sql".to_string(), postgres.to_string()),
        )
    };
    assert_eq!(files(sqlite, postgres), None);
    // The form both dialects accept, used on both sides.
    assert_eq!(
        files(&sqlite.replace("DEFAULT 0", "DEFAULT FALSE"), postgres),
        None
    );
    assert_eq!(
        files(sqlite, &postgres.replace("TEXT PRIMARY", "BIGINT PRIMARY")).as_deref(),
        Some("s/up.sql:3: `TEXT`\np/up.sql:2: `BIGINT`")
    );
    assert_eq!(
        files(sqlite, &postgres.replace("DEFAULT FALSE", "DEFAULT TRUE")).as_deref(),
        Some("s/up.sql:5: `<dialect pair 1: BOOLEAN NOT NULL DEFAULT 0 | BOOLEAN NOT NULL DEFAULT FALSE>`\np/up.sql:4: `<dialect pair 2: BOOLEAN NOT NULL DEFAULT 1 | BOOLEAN NOT NULL DEFAULT TRUE>`")
    );
    assert_eq!(
        files(&format!("{sqlite}DROP TABLE t;\n"), postgres).as_deref(),
        Some("s/up.sql:7: `DROP`\np/up.sql: (end of file)")
    );
    assert!(files("SELECT 'a''b';", "SELECT 'a''c';").is_some());
}
