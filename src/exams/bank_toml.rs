//! The TOML bank parser shared by `credo bank validate|import` and the upload endpoint, so all three accept
//! and reject the same files with the same messages. It walks toml's spanned document tree by hand (instead
//! of serde) to report every problem at once, each with its line.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use toml::de::{DeArray, DeTable, DeValue};
use toml::Spanned;

use super::lint::QuestionLines;
use super::model::{
    is_known_currency, is_valid_id, Bank, Choice, Domain, ExamMeta, Price, Question, QuestionKind,
    RetakePolicy, TextFormat,
};
use super::{BankError, BankErrors};

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
const EXAM_FIELDS: &[&str] = &[
    "slug",
    "title",
    "version",
    "description",
    "duration_minutes",
    "pass_percent",
    "validity_months",
    "allow_review",
    "renewal_exam",
    "price",
    "retake",
];
const PRICE_FIELDS: &[&str] = &["amount_minor", "currency"];
const RETAKE_FIELDS: &[&str] = &[
    "cooldown_days",
    "max_attempts_per_year",
    "wait_after_pass_days",
];
const DOMAIN_FIELDS: &[&str] = &["id", "title", "questions_per_form"];
const QUESTION_FIELDS: &[&str] = &[
    "id",
    "domain",
    "type",
    "stem",
    "choices",
    "answer",
    "explanation",
    "references",
    "partial_credit",
];
const CHOICE_FIELDS: &[&str] = &["id", "text", "correct", "feedback"];
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

fn read_exam(report: &mut Report, table: &Table) -> ExamMeta {
    table.reject_unknown(report, EXAM_FIELDS);
    let slug = table
        .required_string(report, "slug", "the exam's slug, e.g. `slug = \"postgresql-administration\"`")
        .and_then(|(slug, span)| {
            if crate::validation::is_slug(&slug) {
                Some(slug)
            } else {
                report.at(
                    &span,
                    None,
                    format!("`slug` \"{slug}\" is not valid: use 1–64 lower-case letters, digits and '-'"),
                );
                None
            }
        })
        .unwrap_or_default();
    let title = table
        .required_text(report, "title", "the exam's title")
        .unwrap_or_default();
    let version = table
        .required_text(
            report,
            "version",
            "a version label, e.g. `version = \"2026.1\"`",
        )
        .unwrap_or_default();
    let description = table.optional_text(report, "description");
    if table.get("duration_minutes").is_none() {
        table.missing(report, "duration_minutes", "the time limit in minutes");
    }
    let duration_minutes = table
        .bounded(
            report,
            "duration_minutes",
            1,
            U32_MAX,
            "a whole number of minutes greater than 0",
        )
        .unwrap_or(0);
    if table.get("pass_percent").is_none() {
        table.missing(
            report,
            "pass_percent",
            "the pass mark, e.g. `pass_percent = 70`",
        );
    }
    let pass_percent = table
        .bounded(report, "pass_percent", 1, 100, "between 1 and 100")
        .unwrap_or(0);
    let validity_months = table
        .bounded(
            report,
            "validity_months",
            0,
            U32_MAX,
            "0 (never expires) or more",
        )
        .unwrap_or(0);
    let allow_review = table
        .boolean(report, "allow_review")
        .map(|(flag, _)| flag)
        .unwrap_or(false);
    let renewal_exam = table.string(report, "renewal_exam").and_then(|(slug, span)| {
        if crate::validation::is_slug(&slug) {
            Some(slug)
        } else {
            report.at(
                &span,
                None,
                format!("`renewal_exam` \"{slug}\" is not an exam slug: use 1–64 lower-case letters, digits and '-'"),
            );
            None
        }
    });
    let price = match table.sub_table(report, "price", "[exam.price]") {
        Some(price) => read_price(report, &price),
        None => Price {
            amount_minor: 0,
            currency: Price::NO_CURRENCY.to_owned(),
        },
    };
    let retake = match table.sub_table(report, "retake", "[exam.retake]") {
        Some(retake) => read_retake(report, &retake),
        None => RetakePolicy::default(),
    };
    ExamMeta {
        slug,
        title,
        version,
        description,
        duration_minutes,
        pass_percent,
        validity_months,
        allow_review,
        renewal_exam,
        price,
        retake,
    }
}

fn read_price(report: &mut Report, table: &Table) -> Price {
    table.reject_unknown(report, PRICE_FIELDS);
    let amount_minor = table
        .bounded(
            report,
            "amount_minor",
            0,
            i64::MAX,
            "0 (free) or more, in minor units (cents)",
        )
        .unwrap_or(0);
    let currency = match table.string(report, "currency") {
        Some((code, span)) => {
            if is_known_currency(&code) || (code == Price::NO_CURRENCY && amount_minor == 0) {
                code
            } else {
                let upper = code.to_ascii_uppercase();
                let message = if code == Price::NO_CURRENCY {
                    "`currency` \"XXX\" means no currency and is only allowed for free exams; give the currency of the price".to_owned()
                } else if is_known_currency(&upper) {
                    format!("`currency` must be upper case: write \"{upper}\"")
                } else {
                    format!("`currency` \"{code}\" is not an ISO 4217 currency code; use three upper-case letters such as \"USD\" or \"EUR\"")
                };
                report.at(&span, None, message);
                code
            }
        }
        None => {
            if amount_minor > 0 && table.get("currency").is_none() {
                table.missing(
                    report,
                    "currency",
                    "the price's ISO 4217 currency, e.g. `currency = \"USD\"`",
                );
            }
            Price::NO_CURRENCY.to_owned()
        }
    };
    Price {
        amount_minor,
        currency,
    }
}

fn read_retake(report: &mut Report, table: &Table) -> RetakePolicy {
    table.reject_unknown(report, RETAKE_FIELDS);
    let mut days = |key: &str| {
        table
            .bounded(report, key, 0, U32_MAX, "0 or more")
            .unwrap_or(0)
    };
    RetakePolicy {
        cooldown_days: days("cooldown_days"),
        max_attempts_per_year: days("max_attempts_per_year"),
        wait_after_pass_days: days("wait_after_pass_days"),
    }
}

/// Reads a required id field and checks its characters.
fn read_id(report: &mut Report, table: &Table, what: &str) -> Option<(String, Range<usize>)> {
    let (id, span) = table.required_string(report, "id", &format!("an `id` for the {what}"))?;
    if is_valid_id(&id) {
        Some((id, span))
    } else {
        report.at(
            &span,
            table.question(),
            format!("{what} id \"{id}\" is not valid: use 1–64 letters, digits, '-', '_' or '.'"),
        );
        None
    }
}

fn read_domains(report: &mut Report, tables: &[Table]) -> Vec<Domain> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut domains = Vec::new();
    for table in tables {
        table.reject_unknown(report, DOMAIN_FIELDS);
        let id = read_id(report, table, "domain");
        if let Some((id, span)) = &id {
            if !seen.insert(id.clone()) {
                report.at(
                    span,
                    None,
                    format!("duplicate domain id `{id}`: domain ids must be unique in the file"),
                );
            }
        }
        let title = table.required_text(report, "title", "the domain's title");
        if table.get("questions_per_form").is_none() {
            table.missing(
                report,
                "questions_per_form",
                "how many questions each form draws from this domain",
            );
        }
        let questions_per_form =
            table.bounded(report, "questions_per_form", 1, U32_MAX, "1 or more");
        // Keep a domain whose id is readable, even with other errors, so its questions don't also fail.
        if let Some((id, _)) = id {
            domains.push(Domain {
                id,
                title: title.unwrap_or_default(),
                questions_per_form: questions_per_form.unwrap_or(0),
            });
        }
    }
    domains
}

fn read_questions(report: &mut Report, tables: Vec<Table>, domains: &[Domain]) -> Vec<Question> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut questions = Vec::new();
    for mut table in tables {
        if let Some(DeValue::String(id)) = table.get("id").map(Spanned::get_ref) {
            table.question = Some(id.to_string());
        }
        let question = read_question(report, &table, domains);
        if let Some(question) = question {
            let line = report.line_of(table.span.start);
            report
                .question_lines
                .entry(question.id.clone())
                .or_insert(line);
            if !seen.insert(question.id.clone()) {
                if let Some(id_value) = table.get("id") {
                    report.at(
                        &id_value.span(),
                        table.question(),
                        format!(
                            "duplicate question id `{}`: question ids must be unique in the file",
                            question.id
                        ),
                    );
                }
            }
            questions.push(question);
        }
    }
    questions
}

/// Reads one question; `None` only when it has no usable id (errors are reported either way).
fn read_question(report: &mut Report, table: &Table, domains: &[Domain]) -> Option<Question> {
    table.reject_unknown(report, QUESTION_FIELDS);
    let id = read_id(report, table, "question").map(|(id, _)| id);
    let question = table.question();

    let domain = table
        .required_string(report, "domain", "the id of one of the [[domains]]")
        .map(|(domain, span)| {
            if !domains.iter().any(|declared| declared.id == domain) {
                let declared: Vec<String> = domains.iter().map(|d| format!("`{}`", d.id)).collect();
                report.at(
                    &span,
                    question,
                    format!(
                        "unknown domain `{domain}`; declared domains: {}",
                        if declared.is_empty() {
                            "none".to_owned()
                        } else {
                            declared.join(", ")
                        }
                    ),
                );
            }
            domain
        })
        .unwrap_or_default();

    let kind = table
        .required_string(report, "type", "`type = \"single\"`, `\"multiple\"` or `\"true_false\"`")
        .and_then(|(kind, span)| match kind.as_str() {
            "single" => Some(QuestionKind::Single),
            "multiple" => Some(QuestionKind::Multiple),
            "true_false" => Some(QuestionKind::TrueFalse),
            other => {
                report.at(
                    &span,
                    question,
                    format!("unknown question type \"{other}\"; use \"single\", \"multiple\" or \"true_false\""),
                );
                None
            }
        });

    let stem = table
        .required_text(report, "stem", "the question text (Markdown)")
        .unwrap_or_default();
    let explanation = table.optional_text(report, "explanation");
    let references = read_references(report, table);

    let partial_credit = match table.boolean(report, "partial_credit") {
        Some((flag, span)) => {
            if kind.is_some_and(|kind| kind != QuestionKind::Multiple) {
                report.at(
                    &span,
                    question,
                    "`partial_credit` applies to `multiple` questions only; remove it",
                );
            }
            flag
        }
        None => false,
    };

    let choices = match kind {
        Some(QuestionKind::TrueFalse) => read_true_false(report, table),
        Some(kind) => read_choices(report, table, kind),
        None => Vec::new(),
    };

    Some(Question {
        id: id?,
        domain,
        kind: kind.unwrap_or(QuestionKind::Single),
        stem,
        stem_format: TextFormat::Markdown,
        choices,
        explanation,
        references,
        partial_credit,
    })
}

fn read_references(report: &mut Report, table: &Table) -> Vec<String> {
    let Some((array, _)) = table.array(report, "references", "a list of URLs") else {
        return Vec::new();
    };
    let mut references = Vec::new();
    for item in array.iter() {
        match item.get_ref() {
            DeValue::String(url) => {
                let url = url.trim();
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                if rest.is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
                {
                    references.push(url.to_owned());
                } else {
                    report.at(
                        &item.span(),
                        table.question(),
                        format!("reference \"{url}\" is not a URL; write a full http:// or https:// address"),
                    );
                }
            }
            other => report.at(
                &item.span(),
                table.question(),
                format!(
                    "each reference must be a URL in quotes, not {}",
                    describe(other)
                ),
            ),
        }
    }
    references
}

fn read_true_false(report: &mut Report, table: &Table) -> Vec<Choice> {
    if let Some(choices) = table.get("choices") {
        report.at(
            &choices.span(),
            table.question(),
            "`true_false` questions take `answer = true` or `answer = false`, not `choices`; remove `choices`",
        );
    }
    if table.get("answer").is_none() {
        table.missing(report, "answer", "`answer = true` or `answer = false`");
    }
    match table.boolean(report, "answer") {
        Some((answer, _)) => Choice::true_false(answer),
        None => Vec::new(),
    }
}

/// Default choice ids by position: a, b, …, z, aa, ab, …
fn default_choice_id(index: usize) -> String {
    let mut id = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        id.push(b'a' + (n % 26) as u8);
        n /= 26;
    }
    id.reverse();
    String::from_utf8_lossy(&id).into_owned()
}

fn read_choices(report: &mut Report, table: &Table, kind: QuestionKind) -> Vec<Choice> {
    let question = table.question();
    if let Some(answer) = table.get("answer") {
        report.at(
            &answer.span(),
            question,
            format!(
                "`answer` is only for `true_false` questions; mark the correct choices of a `{}` question with `correct = true`",
                kind.as_str()
            ),
        );
    }
    if table.get("choices").is_none() {
        table.missing(report, "choices", "at least two choices, e.g. `choices = [{ text = \"…\", correct = true }, { text = \"…\" }]`");
        return Vec::new();
    }
    let Some((array, span)) = table.array(report, "choices", "a list of choices") else {
        return Vec::new();
    };

    let mut choices = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    let mut texts: HashMap<String, usize> = HashMap::new();
    for (index, item) in array.iter().enumerate() {
        let DeValue::Table(choice_table) = item.get_ref() else {
            report.at(
                &item.span(),
                question,
                format!(
                    "choice {} must be a table like `{{ text = \"…\", correct = true }}`, not {}",
                    index + 1,
                    describe(item.get_ref())
                ),
            );
            continue;
        };
        let choice = Table {
            table: choice_table,
            span: item.span(),
            label: format!("choice {}", index + 1),
            question: table.question.clone(),
        };
        choice.reject_unknown(report, CHOICE_FIELDS);
        let id = match choice.string(report, "id") {
            Some((id, id_span)) => {
                if !is_valid_id(&id) {
                    report.at(
                        &id_span,
                        question,
                        format!("choice id \"{id}\" is not valid: use 1–64 letters, digits, '-', '_' or '.'"),
                    );
                }
                id
            }
            None => default_choice_id(index),
        };
        if !ids.insert(id.clone()) {
            report.at(
                &item.span(),
                question,
                format!("choice id `{id}` is used twice in this question (choices without `id` are `a`, `b`, `c`, … by position); make the ids unique"),
            );
        }
        let text = choice
            .required_text(report, "text", "the choice's text")
            .unwrap_or_default();
        if !text.is_empty() {
            if let Some(first) = texts.insert(text.clone(), index + 1) {
                report.at(
                    &item.span(),
                    question,
                    format!("choices {first} and {} have the same text \"{text}\"; make each choice different", index + 1),
                );
            }
        }
        let correct = choice
            .boolean(report, "correct")
            .map(|(flag, _)| flag)
            .unwrap_or(false);
        let feedback = choice.optional_text(report, "feedback");
        choices.push(Choice {
            id,
            text,
            correct,
            feedback,
        });
    }

    if array.len() < 2 {
        report.at(
            &span,
            question,
            format!(
                "a `{}` question needs at least two choices; it has {}",
                kind.as_str(),
                array.len()
            ),
        );
    }
    let correct = choices.iter().filter(|choice| choice.correct).count();
    match kind {
        QuestionKind::Single if correct == 0 => report.at(
            &span,
            question,
            "`single` question has no correct choice; mark exactly one with `correct = true`",
        ),
        QuestionKind::Single if correct > 1 => report.at(
            &span,
            question,
            format!("`single` question has {correct} correct choices; mark exactly one (or make it `multiple`)"),
        ),
        QuestionKind::Multiple if correct == 0 => report.at(
            &span,
            question,
            "`multiple` question has no correct choice; mark at least one with `correct = true`",
        ),
        _ => {}
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/exams/good/complete.toml"
    ));

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/tests/fixtures/exams/bad/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
    }

    /// Parses a bad fixture and returns its errors as displayed lines.
    fn errors_of(name: &str) -> Vec<String> {
        match parse_bank(name, &fixture(name)) {
            Ok(_) => panic!("{name} should not parse"),
            Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
        }
    }

    /// Asserts the bad fixture yields exactly one error, equal to `expected`.
    fn assert_single_error(name: &str, expected: &str) {
        let errors = errors_of(name);
        assert_eq!(errors, vec![expected.to_owned()], "errors of {name}");
    }

    #[test]
    fn good_bank_parses_into_the_normalized_model() {
        let bank = parse_bank("complete.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(bank.exam.slug, "postgresql-administration");
        assert_eq!(bank.exam.version, "2026.1");
        assert_eq!(bank.exam.duration_minutes, 90);
        assert_eq!(bank.exam.pass_percent, 70);
        assert_eq!(bank.exam.validity_months, 24);
        assert!(bank.exam.allow_review);
        assert_eq!(
            bank.exam.renewal_exam.as_deref(),
            Some("postgresql-administration")
        );
        assert_eq!(
            bank.exam.price,
            Price {
                amount_minor: 15000,
                currency: "USD".into()
            }
        );
        assert_eq!(
            bank.exam.retake,
            RetakePolicy {
                cooldown_days: 14,
                max_attempts_per_year: 3,
                wait_after_pass_days: 365
            }
        );
        assert_eq!(
            bank.exam.description.as_deref(),
            Some("Installing, configuring, securing, backing up and tuning PostgreSQL servers.")
        );
        assert_eq!(bank.domains.len(), 2);
        assert_eq!(bank.domains[0].questions_per_form, 2);
        assert_eq!(bank.questions.len(), 5);

        let single = &bank.questions[0];
        assert_eq!(single.kind, QuestionKind::Single);
        assert_eq!(single.stem_format, TextFormat::Markdown);
        assert!(single.stem.starts_with("Which process"));
        assert_eq!(
            single
                .choices
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert!(single.choices[0].correct && !single.choices[1].correct);
        assert_eq!(single.references.len(), 1);
        assert!(single.explanation.is_some());

        let multiple = &bank.questions[1];
        assert_eq!(multiple.kind, QuestionKind::Multiple);
        assert!(multiple.partial_credit);
        assert_eq!(multiple.correct_count(), 2);
        assert_eq!(multiple.choices[2].id, "binaries");
        assert_eq!(
            multiple.choices[2].feedback.as_deref(),
            Some("They live under the installation prefix.")
        );

        let true_false = &bank.questions[2];
        assert_eq!(true_false.kind, QuestionKind::TrueFalse);
        assert_eq!(true_false.choices, Choice::true_false(true));
    }

    #[test]
    fn identical_content_hashes_identically_despite_formatting() {
        let reformatted = GOOD
            .replace("# the blueprint", "# reworded comment")
            .replace("duration_minutes = 90", "duration_minutes   =   90");
        let a = parse_bank("a.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
        let b = parse_bank("b.toml", &reformatted).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(GOOD, reformatted);
        assert_eq!(a.content_hash(), b.content_hash());
        let changed = GOOD.replace("pass_percent = 70", "pass_percent = 71");
        let c = parse_bank("c.toml", &changed).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a.content_hash(), c.content_hash());
    }

    #[test]
    fn free_exam_without_price_gets_no_currency_code() {
        let text = GOOD.replace(
            "[exam.price]\namount_minor = 15000\ncurrency = \"USD\"\n",
            "",
        );
        assert_ne!(text, GOOD);
        let bank = parse_bank("free.toml", &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            bank.exam.price,
            Price {
                amount_minor: 0,
                currency: "XXX".into()
            }
        );
        assert!(bank.exam.price.is_free());
    }

    #[test]
    fn syntax_error_reports_the_toml_line() {
        let errors = errors_of("syntax.toml");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("syntax.toml:4: TOML syntax error: "),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn unknown_fields_are_named_with_their_lines() {
        assert_eq!(
            errors_of("unknown_fields.toml"),
            vec![
                "unknown_fields.toml:1: unknown field `extra` in the file; allowed fields: `exam`, `domains`, `questions`",
                "unknown_fields.toml:7: unknown field `duraton_minutes` in [exam]; did you mean `duration_minutes`?",
                "unknown_fields.toml:13: unknown field `weight` in [[domains]]; allowed fields: `id`, `title`, `questions_per_form`",
                "unknown_fields.toml:23: question q1: unknown field `hint` in choice 2; allowed fields: `id`, `text`, `correct`, `feedback`",
                "unknown_fields.toml:27: question q2: unknown field `explaination` in [[questions]]; did you mean `explanation`?",
            ]
        );
    }

    #[test]
    fn duplicate_question_id_points_at_the_second() {
        assert_single_error(
            "duplicate_question.toml",
            "duplicate_question.toml:32: question q1: duplicate question id `q1`: question ids must be unique in the file",
        );
    }

    #[test]
    fn unknown_domain_lists_the_declared_ones() {
        assert_single_error(
            "unknown_domain.toml",
            "unknown_domain.toml:26: question q2: unknown domain `tuning`; declared domains: `basics`",
        );
    }

    #[test]
    fn domain_with_too_few_questions_points_at_the_domain() {
        assert_single_error(
            "short_domain.toml",
            "short_domain.toml:17: domain `extra` has 1 question(s) but each form draws 2 (`questions_per_form`); add questions to it or lower `questions_per_form`",
        );
    }

    #[test]
    fn single_needs_exactly_one_correct_choice() {
        assert_eq!(
            errors_of("single_correct.toml"),
            vec![
                "single_correct.toml:22: question q1: `single` question has 2 correct choices; mark exactly one (or make it `multiple`)",
                "single_correct.toml:33: question q2: `single` question has no correct choice; mark exactly one with `correct = true`",
            ]
        );
    }

    #[test]
    fn multiple_needs_a_correct_choice() {
        assert_single_error(
            "multiple_none.toml",
            "multiple_none.toml:22: question q1: `multiple` question has no correct choice; mark at least one with `correct = true`",
        );
    }

    #[test]
    fn choice_texts_must_be_unique_after_trimming_and_non_empty() {
        assert_eq!(
            errors_of("choice_texts.toml"),
            vec![
                "choice_texts.toml:24: question q1: choices 1 and 2 have the same text \"Alpha\"; make each choice different",
                "choice_texts.toml:34: question q2: `text` is empty; write the choice's text",
            ]
        );
    }

    #[test]
    fn fewer_than_two_choices() {
        assert_single_error(
            "one_choice.toml",
            "one_choice.toml:22: question q1: a `single` question needs at least two choices; it has 1",
        );
    }

    #[test]
    fn empty_stem() {
        assert_single_error(
            "empty_stem.toml",
            "empty_stem.toml:21: question q1: `stem` is empty; write the question text (Markdown)",
        );
    }

    #[test]
    fn exam_numbers_are_range_checked() {
        assert_eq!(
            errors_of("exam_numbers.toml"),
            vec![
                "exam_numbers.toml:5: `duration_minutes` must be a whole number of minutes greater than 0; it is 0",
                "exam_numbers.toml:6: `pass_percent` must be between 1 and 100; it is 101",
                "exam_numbers.toml:9: `amount_minor` must be 0 (free) or more, in minor units (cents); it is -100",
            ]
        );
    }

    #[test]
    fn negative_duration_and_zero_pass_percent() {
        assert_eq!(
            errors_of("negative_duration.toml"),
            vec![
                "negative_duration.toml:5: `duration_minutes` must be a whole number of minutes greater than 0; it is -30",
                "negative_duration.toml:6: `pass_percent` must be between 1 and 100; it is 0",
            ]
        );
    }

    #[test]
    fn bad_slug() {
        assert_single_error(
            "bad_slug.toml",
            "bad_slug.toml:2: `slug` \"PostgreSQL Admin\" is not valid: use 1–64 lower-case letters, digits and '-'",
        );
    }

    #[test]
    fn bad_currencies() {
        assert_single_error(
            "bad_currency.toml",
            "bad_currency.toml:10: `currency` \"ABC\" is not an ISO 4217 currency code; use three upper-case letters such as \"USD\" or \"EUR\"",
        );
        assert_single_error(
            "lowercase_currency.toml",
            "lowercase_currency.toml:10: `currency` must be upper case: write \"EUR\"",
        );
    }

    #[test]
    fn true_false_with_choices_or_without_answer() {
        assert_eq!(
            errors_of("true_false.toml"),
            vec![
                "true_false.toml:23: question q1: `true_false` questions take `answer = true` or `answer = false`, not `choices`; remove `choices`",
                "true_false.toml:25: question q2: missing `answer` in [[questions]]: add `answer = true` or `answer = false`",
            ]
        );
    }

    #[test]
    fn partial_credit_only_on_multiple() {
        assert_single_error(
            "partial_credit.toml",
            "partial_credit.toml:22: question q1: `partial_credit` applies to `multiple` questions only; remove it",
        );
    }

    #[test]
    fn duplicate_domain_ids() {
        assert_single_error(
            "duplicate_domain.toml",
            "duplicate_domain.toml:18: duplicate domain id `basics`: domain ids must be unique in the file",
        );
    }

    #[test]
    fn wrong_types_and_missing_fields_are_reported_together() {
        let errors = errors_of("many_problems.toml");
        assert_eq!(
            errors,
            vec![
                "many_problems.toml:1: missing `version` in [exam]: add a version label, e.g. `version = \"2026.1\"`",
                "many_problems.toml:4: `duration_minutes` must be a whole number, not a string",
                "many_problems.toml:5: `allow_review` must be `true` or `false`, not a string",
                "many_problems.toml:16: question q1: unknown question type \"choice\"; use \"single\", \"multiple\" or \"true_false\"",
                "many_problems.toml:18: question q1: reference \"www.example.com\" is not a URL; write a full http:// or https:// address",
                "many_problems.toml:20: question q2: missing `choices` in [[questions]]: add at least two choices, e.g. `choices = [{ text = \"…\", correct = true }, { text = \"…\" }]`",
                "many_problems.toml:25: question q2: `answer` is only for `true_false` questions; mark the correct choices of a `single` question with `correct = true`",
            ]
        );
    }

    #[test]
    fn empty_file_reports_each_missing_section_once() {
        let errors = parse_bank("empty.toml", "# nothing yet\n").unwrap_err();
        assert_eq!(
            errors.to_string(),
            "empty.toml:1: missing [exam] table: add the exam's metadata\n\
             empty.toml:1: no [[domains]]: declare at least one domain (the blueprint)\n\
             empty.toml:1: no [[questions]]: add the questions"
        );
    }

    #[test]
    fn array_of_tables_written_as_a_table_is_explained() {
        let text = "[exam]\nslug = \"x\"\n\n[domains]\nid = \"a\"\n";
        let errors = parse_bank("t.toml", text).unwrap_err();
        let lines: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
        assert!(
            lines.contains(&"t.toml:4: `domains` must be an array of tables: write each entry as a [[domains]] section, not a table".to_owned()),
            "{lines:#?}"
        );
    }

    proptest::proptest! {
        #[test]
        fn damaged_files_give_errors_on_existing_lines(start in 0usize..4000, length in 1usize..200, insert in ".{0,3}") {
            let mut text: Vec<char> = GOOD.chars().collect();
            let start = start.min(text.len());
            let end = (start + length).min(text.len());
            text.splice(start..end, insert.chars());
            let text: String = text.into_iter().collect();
            let line_count = text.lines().count().max(1);
            if let Err(errors) = parse_bank("damaged.toml", &text) {
                proptest::prop_assert!(!errors.errors.is_empty());
                for error in &errors.errors {
                    proptest::prop_assert!((1..=line_count + 1).contains(&error.line), "{} of {} lines", error, line_count);
                }
            }
        }
    }

    #[test]
    fn default_choice_ids_continue_past_z() {
        assert_eq!(default_choice_id(0), "a");
        assert_eq!(default_choice_id(25), "z");
        assert_eq!(default_choice_id(26), "aa");
        assert_eq!(default_choice_id(27), "ab");
    }
}
