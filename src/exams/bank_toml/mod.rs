//! The TOML bank parser shared by `credo bank validate|import` and the upload endpoint, so all three accept
//! and reject the same files with the same messages. It walks toml's spanned document tree by hand (instead
//! of serde) to report every problem at once, each with its line.

mod exam;
mod questions;
#[cfg(test)]
mod tests;

use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use crate::exams::lint::QuestionLines;
use crate::exams::model::{Bank, ExamMeta, Price, RetakePolicy};
use crate::exams::{BankError, BankErrors};

use exam::read_exam;
use questions::{read_domains, read_questions};

/// Parses and validates one bank file. `file_name` is only used in messages.
pub fn parse_bank(file_name: &str, text: &str) -> Result<Bank, BankErrors> {
    parse_bank_located(file_name, text).map(|(bank, _)| bank)
}

/// [`parse_bank`] with the line each question starts on (for lint warnings).
pub fn parse_bank_located(
    file_name: &str,
    text: &str,
) -> Result<(Bank, QuestionLines), BankErrors> {
    let mut report = Report::new(file_name, text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        for error in &syntax_errors {
            let span = error.span().unwrap_or(0..0);
            report.at(
                &span,
                None,
                format!("TOML syntax error: {}", error.message().trim()),
            );
        }
        return Err(report.finish());
    }
    let root = Table {
        table: document.get_ref(),
        span: document.span(),
        label: "the file".to_owned(),
        question: None,
    };
    let bank = read_bank(&mut report, &root);
    if report.errors.is_empty() {
        Ok((bank, report.question_lines))
    } else {
        Err(report.finish())
    }
}

/// Collects errors with their lines, and where each question starts.
struct Report<'a> {
    file: &'a str,
    line_starts: Vec<usize>,
    errors: Vec<BankError>,
    question_lines: QuestionLines,
}

impl<'a> Report<'a> {
    fn new(file: &'a str, text: &str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(offset, _)| offset + 1))
            .collect();
        Report {
            file,
            line_starts,
            errors: Vec::new(),
            question_lines: QuestionLines::new(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|&start| start <= offset)
            .max(1)
    }

    fn at(&mut self, span: &Range<usize>, question: Option<&str>, message: impl Into<String>) {
        let line = self.line_of(span.start);
        self.errors.push(BankError {
            file: self.file.to_owned(),
            line,
            question_id: question.map(str::to_owned),
            message: message.into(),
        });
    }

    fn finish(mut self) -> BankErrors {
        self.errors.sort_by_key(|error| error.line);
        BankErrors {
            errors: self.errors,
        }
    }
}

type Value<'i> = Spanned<DeValue<'i>>;

/// A table being read, with what to call it in messages and the question it belongs to.
struct Table<'t, 'i> {
    table: &'t DeTable<'i>,
    span: Range<usize>,
    label: String,
    question: Option<String>,
}

impl<'t, 'i> Table<'t, 'i> {
    fn question(&self) -> Option<&str> {
        self.question.as_deref()
    }

    fn get(&self, key: &str) -> Option<&'t Value<'i>> {
        self.table.get(key)
    }

    /// Reports keys outside `allowed`, suggesting the closest allowed one.
    fn reject_unknown(&self, report: &mut Report, allowed: &[&str]) {
        for key in self.table.keys() {
            let name = key.get_ref().as_ref();
            if allowed.contains(&name) {
                continue;
            }
            let hint = match closest(name, allowed) {
                Some(candidate) => format!("did you mean `{candidate}`?"),
                None => format!(
                    "allowed fields: {}",
                    allowed
                        .iter()
                        .map(|field| format!("`{field}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            report.at(
                &key.span(),
                self.question(),
                format!("unknown field `{name}` in {}; {hint}", self.label),
            );
        }
    }

    fn missing(&self, report: &mut Report, key: &str, what: &str) {
        report.at(
            &self.span,
            self.question(),
            format!("missing `{key}` in {}: add {what}", self.label),
        );
    }

    fn wrong_type(&self, report: &mut Report, key: &str, value: &Value, expected: &str) {
        report.at(
            &value.span(),
            self.question(),
            format!(
                "`{key}` must be {expected}, not {}",
                describe(value.get_ref())
            ),
        );
    }

    fn string(&self, report: &mut Report, key: &str) -> Option<(String, Range<usize>)> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::String(text) => Some((text.to_string(), value.span())),
            _ => {
                self.wrong_type(report, key, value, "a string in quotes");
                None
            }
        }
    }

    fn required_string(
        &self,
        report: &mut Report,
        key: &str,
        what: &str,
    ) -> Option<(String, Range<usize>)> {
        if self.get(key).is_none() {
            self.missing(report, key, what);
            return None;
        }
        self.string(report, key)
    }

    /// A required string that must not be blank; returned trimmed.
    fn required_text(&self, report: &mut Report, key: &str, what: &str) -> Option<String> {
        let (text, span) = self.required_string(report, key, what)?;
        let trimmed = text.trim();
        if trimmed.is_empty() {
            report.at(
                &span,
                self.question(),
                format!("`{key}` is empty; write {what}"),
            );
            return None;
        }
        Some(trimmed.to_owned())
    }

    /// An optional string; blank counts as absent.
    fn optional_text(&self, report: &mut Report, key: &str) -> Option<String> {
        let (text, _) = self.string(report, key)?;
        let trimmed = text.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    fn integer(&self, report: &mut Report, key: &str) -> Option<(i64, Range<usize>)> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Integer(integer) => {
                match i64::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => Some((number, value.span())),
                    Err(_) => {
                        report.at(
                            &value.span(),
                            self.question(),
                            format!("`{key}` is too large"),
                        );
                        None
                    }
                }
            }
            _ => {
                self.wrong_type(report, key, value, "a whole number");
                None
            }
        }
    }

    /// An integer in `min..=max`; `rule` completes "`key` must be …".
    fn bounded<T: TryFrom<i64>>(
        &self,
        report: &mut Report,
        key: &str,
        min: i64,
        max: i64,
        rule: &str,
    ) -> Option<T> {
        let (number, span) = self.integer(report, key)?;
        if number < min || number > max {
            report.at(
                &span,
                self.question(),
                format!("`{key}` must be {rule}; it is {number}"),
            );
            return None;
        }
        T::try_from(number).ok()
    }

    fn boolean(&self, report: &mut Report, key: &str) -> Option<(bool, Range<usize>)> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Boolean(flag) => Some((*flag, value.span())),
            _ => {
                self.wrong_type(report, key, value, "`true` or `false`");
                None
            }
        }
    }

    fn sub_table(&self, report: &mut Report, key: &str, label: &str) -> Option<Table<'t, 'i>> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Table(table) => Some(Table {
                table,
                span: value.span(),
                label: label.to_owned(),
                question: self.question.clone(),
            }),
            _ => {
                self.wrong_type(report, key, value, &format!("a table ({label})"));
                None
            }
        }
    }

    fn array(
        &self,
        report: &mut Report,
        key: &str,
        expected: &str,
    ) -> Option<(&'t DeArray<'i>, Range<usize>)> {
        let value = self.get(key)?;
        match value.get_ref() {
            DeValue::Array(array) => Some((array, value.span())),
            _ => {
                self.wrong_type(report, key, value, expected);
                None
            }
        }
    }

    /// The tables of an array of tables such as `[[questions]]`.
    fn tables(&self, report: &mut Report, key: &str, label: &str) -> Vec<Table<'t, 'i>> {
        let expected = format!("an array of tables: write each entry as a {label} section");
        let Some((array, _)) = self.array(report, key, &expected) else {
            return Vec::new();
        };
        array
            .iter()
            .filter_map(|item| match item.get_ref() {
                DeValue::Table(table) => Some(Table {
                    table,
                    span: item.span(),
                    label: label.to_owned(),
                    question: None,
                }),
                other => {
                    report.at(
                        &item.span(),
                        None,
                        format!(
                            "each entry of `{key}` must be a table ({label}), not {}",
                            describe(other)
                        ),
                    );
                    None
                }
            })
            .collect()
    }
}

fn describe(value: &DeValue) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// The allowed name within edit distance 2 of a misspelt one.
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

const ROOT_FIELDS: &[&str] = &["exam", "domains", "questions"];

const U32_MAX: i64 = u32::MAX as i64;

fn read_bank(report: &mut Report, root: &Table) -> Bank {
    root.reject_unknown(report, ROOT_FIELDS);
    let exam = match root.sub_table(report, "exam", "[exam]") {
        Some(table) => read_exam(report, &table),
        None => {
            if root.get("exam").is_none() {
                report.at(
                    &(0..0),
                    None,
                    "missing [exam] table: add the exam's metadata",
                );
            }
            // Placeholder so the rest of the file is still checked; the bank is rejected anyway.
            ExamMeta {
                slug: String::new(),
                title: String::new(),
                version: String::new(),
                description: None,
                duration_minutes: 0,
                pass_percent: 0,
                validity_months: 0,
                allow_review: false,
                renewal_exam: None,
                price: Price {
                    amount_minor: 0,
                    currency: Price::NO_CURRENCY.to_owned(),
                },
                retake: RetakePolicy::default(),
            }
        }
    };

    if root.get("domains").is_none() {
        report.at(
            &(0..0),
            None,
            "no [[domains]]: declare at least one domain (the blueprint)",
        );
    }
    let domain_tables = root.tables(report, "domains", "[[domains]]");
    let domains = read_domains(report, &domain_tables);

    if root.get("questions").is_none() {
        report.at(&(0..0), None, "no [[questions]]: add the questions");
    }
    let question_tables = root.tables(report, "questions", "[[questions]]");
    let questions = read_questions(report, question_tables, &domains);

    for (domain, table) in domains.iter().zip(&domain_tables) {
        let available = questions
            .iter()
            .filter(|question| question.domain == domain.id)
            .count();
        if (available as u64) < u64::from(domain.questions_per_form) {
            report.at(
                &table.span,
                None,
                format!(
                    "domain `{}` has {available} question(s) but each form draws {} (`questions_per_form`); add questions to it or lower `questions_per_form`",
                    domain.id, domain.questions_per_form
                ),
            );
        }
    }

    Bank {
        exam,
        domains,
        questions,
    }
}
