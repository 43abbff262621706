//! `credo bank`: validating bank files, importing them for a vendor, exporting a version as QTI.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::app::AppState;
use crate::audit::Actor;
use crate::config::Config;
use crate::db;

#[derive(Subcommand)]
pub(super) enum BankCommand {
    /// Check bank files without a database: every problem is printed as `file:line: question ID: message`.
    /// `.gift` files are checked as Moodle GIFT, `.zip` and `.xml` files as QTI. Exit status 0 when every file
    /// is valid, 1 otherwise.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Import TOML bank files for a vendor; each changed file becomes a new exam version. A `.gift` file
    /// or a QTI file (`.zip` package, `.xml` item) needs `--exam`.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The vendor's slug (the vendor must exist).
        #[arg(long)]
        vendor: String,
        /// For GIFT and QTI files: the slug of the exam the questions belong to.
        #[arg(long)]
        exam: Option<String>,
    },
    /// Import a Moodle GIFT file into an exam of a vendor (created with defaults when new).
    ImportGift {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
    },
    /// Import a QTI package (.zip) or item/test XML (QTI 3.0, 2.1/2.2, 1.2) into an exam of a vendor.
    ImportQti {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
    },
    /// Write a version of an exam (default: the latest) as a QTI 3.0 package that imports back unchanged.
    ExportQti {
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
        /// The version number; default the latest.
        #[arg(long)]
        version: Option<i32>,
        /// Where to write the zip; default `<exam>-v<N>-qti.zip` in the current directory.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn has_extension(path: &std::path::Path, wanted: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| wanted.iter().any(|w| e.eq_ignore_ascii_case(w)))
}

fn is_gift(path: &std::path::Path) -> bool {
    has_extension(path, &["gift"])
}

/// QTI by extension (`.zip`, `.xml`), or by content (a zip archive, an XML root) when not GIFT.
fn is_qti(path: &std::path::Path, bytes: &[u8]) -> bool {
    !is_gift(path) && (has_extension(path, &["zip", "xml"]) || crate::exams::looks_like_qti(bytes))
}

/// `credo bank validate FILE…`: prints every problem of every file; exit 1 when any file is invalid.
pub(super) fn bank_validate(files: &[PathBuf]) -> ExitCode {
    use crate::exams::service;
    let mut invalid = 0usize;
    for path in files {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("{name}: cannot read the file: {e}");
                invalid += 1;
                continue;
            }
        };
        let qti = is_qti(path, &bytes);
        let text = String::from_utf8_lossy(&bytes);
        if qti || is_gift(path) {
            let parsed = if qti {
                crate::exams::parse_qti(&name, &bytes)
            } else {
                crate::exams::parse_gift(&name, &text)
            };
            let checked =
                parsed.and_then(|import| service::imported_bank(&name, "exam", import, None));
            match checked {
                Ok((bank, warnings)) => {
                    for warning in &warnings {
                        println!("{}", warning_line(warning));
                    }
                    println!(
                        "{name}: ok: {} question(s) in {} domain(s), {} warning(s) (skipped or adjusted questions, text that gives answers away)",
                        bank.questions.len(),
                        bank.domains.len(),
                        warnings.len()
                    );
                }
                Err(errors) => {
                    invalid += 1;
                    println!("{errors}");
                    println!("{name}: {} problem(s)", errors.errors.len());
                }
            }
            continue;
        }
        match service::validate_bank_file(&name, &text) {
            Ok((bank, warnings)) => {
                for warning in &warnings {
                    println!("{}", warning_line(warning));
                }
                println!(
                    "{name}: ok: exam {} \"{}\", {} question(s) in {} domain(s), {} per form, {} warning(s)",
                    bank.exam.slug,
                    bank.exam.title,
                    bank.questions.len(),
                    bank.domains.len(),
                    bank.domains
                        .iter()
                        .map(|d| d.questions_per_form)
                        .sum::<u32>(),
                    warnings.len()
                )
            }
            Err(errors) => {
                invalid += 1;
                println!("{errors}");
                println!("{name}: {} problem(s)", errors.errors.len());
            }
        }
    }
    if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        if files.len() > 1 {
            println!("{invalid} of {} file(s) are not valid", files.len());
        }
        ExitCode::FAILURE
    }
}

fn warning_line(warning: &crate::exams::BankError) -> String {
    match &warning.question_id {
        Some(id) => format!(
            "{}:{}: question {}: warning: {}",
            warning.file, warning.line, id, warning.message
        ),
        None => format!(
            "{}:{}: warning: {}",
            warning.file, warning.line, warning.message
        ),
    }
}

pub(super) fn bank(config: Config, command: BankCommand) -> Result<(), String> {
    use std::io::Write;

    use crate::exams::service::{self, BankSource};
    /// What `credo bank import*` was told the files are.
    #[derive(PartialEq)]
    enum Forced {
        ByName,
        Gift,
        Qti,
    }
    let (files, vendor_slug, exam, forced) = match command {
        BankCommand::Validate { .. } => return Ok(()),
        BankCommand::ExportQti {
            vendor,
            exam,
            version,
            out,
        } => return export_qti(config, &vendor, &exam, version, out),
        BankCommand::Import {
            files,
            vendor,
            exam,
        } => (files, vendor, exam, Forced::ByName),
        BankCommand::ImportGift { file, vendor, exam } => {
            (vec![file], vendor, Some(exam), Forced::Gift)
        }
        BankCommand::ImportQti { file, vendor, exam } => {
            (vec![file], vendor, Some(exam), Forced::Qti)
        }
    };
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let vendor = crate::accounts::store::find_vendor_by_slug(&mut conn, &vendor_slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "there is no vendor `{vendor_slug}`; create it with `credo admin create-vendor`"
            )
        })?;
    let total = files.len();
    let mut failed = 0usize;
    let mut stdout = std::io::stdout();
    for (index, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let step = format!("[{}/{total}] {name}", index + 1);
        let started = std::time::Instant::now();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("{step}: cannot read the file: {e}");
                failed += 1;
                continue;
            }
        };
        println!(
            "{step}: read {} kB; validating…",
            bytes.len().div_ceil(1024)
        );
        let _ = stdout.flush();
        let qti = forced == Forced::Qti || (forced == Forced::ByName && is_qti(path, &bytes));
        let gift = forced == Forced::Gift || (forced == Forced::ByName && is_gift(path));
        let text = String::from_utf8_lossy(&bytes);
        if (qti || gift) && exam.is_none() {
            println!(
                "{step}: a GIFT or QTI file needs --exam <slug> (the exam its questions belong to)"
            );
            failed += 1;
            continue;
        }
        let exam = exam.as_deref().unwrap_or_default();
        let source = if qti {
            BankSource::Qti {
                name: &name,
                bytes: &bytes,
                exam_slug: exam,
            }
        } else if gift {
            BankSource::Gift {
                name: &name,
                text: &text,
                exam_slug: exam,
            }
        } else {
            if let Ok((bank, _)) = service::validate_bank_file(&name, &text) {
                println!(
                    "{step}: {} question(s) in {} domain(s) are valid; storing…",
                    bank.questions.len(),
                    bank.domains.len()
                );
                let _ = stdout.flush();
            }
            BankSource::Toml {
                name: &name,
                text: &text,
            }
        };
        let now = state.clock.now();
        let actor = Actor::operator_cli("credo bank import");
        let imported = db::transaction(&mut conn, |c| {
            service::import_bank(c, &vendor, &source, true, &actor, now)
        });
        match imported {
            Ok(outcome) => {
                for warning in &outcome.warnings {
                    println!("{}", warning_line(warning));
                }
                let verb = if outcome.created {
                    "stored as new version"
                } else {
                    "unchanged: same content as version"
                };
                println!(
                    "{step}: exam {}/{} {verb} {} ({} question(s), {} per form) in {} ms",
                    outcome.vendor,
                    outcome.exam,
                    outcome.version,
                    outcome.questions,
                    outcome.questions_per_form,
                    started.elapsed().as_millis()
                );
            }
            Err(crate::exams::ExamError::Bank(errors)) => {
                failed += 1;
                println!("{errors}");
                println!("{step}: not imported: {} problem(s)", errors.errors.len());
            }
            Err(crate::exams::ExamError::Validation(errors)) => {
                failed += 1;
                for error in errors {
                    println!("{step}: --{}: {}", error.field, error.message);
                }
            }
            Err(other) => {
                failed += 1;
                println!("{step}: not imported: {other}");
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {total} file(s) were not imported"))
    }
}

/// `credo bank export-qti`: writes a version of an exam as a QTI 3.0 package.
fn export_qti(
    config: Config,
    vendor_slug: &str,
    exam_slug: &str,
    version: Option<i32>,
    out: Option<PathBuf>,
) -> Result<(), String> {
    use crate::exams::service;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let vendor = crate::accounts::store::find_vendor_by_slug(&mut conn, vendor_slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no vendor `{vendor_slug}`"))?;
    let exam = service::vendor_exam(&mut conn, &vendor.id, exam_slug)
        .map_err(|e| format!("exam `{exam_slug}` of vendor `{vendor_slug}`: {e}"))?;
    let (file_name, bytes) =
        service::export_qti(&mut conn, &exam, version).map_err(|e| e.to_string())?;
    let path = out.unwrap_or_else(|| PathBuf::from(file_name));
    std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{}: QTI 3.0 package of {}/{} ({} kB)",
        path.display(),
        vendor_slug,
        exam_slug,
        bytes.len().div_ceil(1024)
    );
    Ok(())
}
