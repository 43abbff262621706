//! Moodle GIFT import into the bank model. Supported: multiple choice (one `=` right answer), multiple answer
//! (`~%w%` weights, no `=`), true/false. Other GIFT types are skipped with a warning naming their line and
//! type; malformed input (unbalanced braces, unclosed `::`, bad weights, empty answers) is an error.
//! Format rules are written down in docs/exam-banks.md ("Importing Moodle GIFT").

use std::collections::HashSet;

use super::lint::QuestionLines;
use super::model::{Choice, Domain, Question, QuestionKind, TextFormat};
use super::{BankError, BankErrors, ImportedQuestions, GENERAL_DOMAIN};

/// Parses a GIFT file. `Err` holds every malformed question of the file; unsupported or unusable (but
/// well-formed) questions are skipped and listed in `warnings`.
pub fn parse_gift(file_name: &str, text: &str) -> Result<ImportedQuestions, BankErrors> {
    let mut parser = GiftParser {
        file: file_name,
        questions: Vec::new(),
        domains: Vec::new(),
        current_domain: None,
        used_ids: HashSet::new(),
        question_count: 0,
        warnings: Vec::new(),
        errors: Vec::new(),
        question_lines: QuestionLines::new(),
    };
    for block in blocks(text) {
        parser.block(&block);
    }
    if parser.errors.is_empty() {
        Ok(ImportedQuestions {
            questions: parser.questions,
            domains: parser.domains,
            warnings: parser.warnings,
            question_lines: parser.question_lines,
            title: None,
            duration_minutes: None,
            blueprint_in_file: false,
        })
    } else {
        parser.errors.sort_by_key(|error| error.line);
        Err(BankErrors {
            errors: parser.errors,
        })
    }
}

/// Blank-line separated groups of (line number, line) with comment lines (`//…`) removed.
fn blocks(text: &str) -> Vec<Vec<(usize, &str)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut blocks = Vec::new();
    let mut current = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
        } else if !trimmed.starts_with("//") {
            current.push((index + 1, line));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

/// One character of a question with whether it was backslash-escaped and its line.
#[derive(Debug, Clone, Copy)]
struct Tok {
    c: char,
    escaped: bool,
    line: usize,
}

fn tokenize(lines: &[(usize, &str)]) -> Vec<Tok> {
    let mut toks = Vec::new();
    for (index, (line, text)) in lines.iter().enumerate() {
        if index > 0 {
            toks.push(Tok {
                c: '\n',
                escaped: false,
                line: *line,
            });
        }
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            let escaped_char = match (c, chars.peek()) {
                ('\\', Some(&next)) if "\\~=#{}:".contains(next) => Some(next),
                ('\\', Some('n')) => Some('\n'),
                _ => None,
            };
            match escaped_char {
                Some(literal) => {
                    chars.next();
                    toks.push(Tok {
                        c: literal,
                        escaped: true,
                        line: *line,
                    });
                }
                None => toks.push(Tok {
                    c,
                    escaped: false,
                    line: *line,
                }),
            }
        }
    }
    toks
}

fn is(tok: &Tok, c: char) -> bool {
    !tok.escaped && tok.c == c
}

/// Position of the first unescaped `c` at or after `from`.
fn find(toks: &[Tok], from: usize, c: char) -> Option<usize> {
    (from..toks.len()).find(|&i| is(&toks[i], c))
}

/// Whether the unescaped characters of `pattern` start at `at`.
fn starts_with(toks: &[Tok], at: usize, pattern: &str) -> bool {
    let mut rest = toks.get(at..).unwrap_or_default().iter();
    pattern
        .chars()
        .all(|c| rest.next().is_some_and(|tok| is(tok, c)))
}

/// Position of the first unescaped occurrence of `pattern` at or after `from`.
fn find_seq(toks: &[Tok], from: usize, pattern: &str) -> Option<usize> {
    (from..toks.len()).find(|&i| starts_with(toks, i, pattern))
}

fn text_of(toks: &[Tok]) -> String {
    toks.iter()
        .map(|tok| tok.c)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn is_blank(toks: &[Tok]) -> bool {
    toks.iter().all(|tok| tok.c.is_whitespace())
}

/// Lower-case ASCII letters and digits joined by single '-'.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    trimmed
        .chars()
        .take(64)
        .collect::<String>()
        .trim_end_matches('-')
        .to_owned()
}

/// A GIFT question type we do not import.
#[derive(Debug, Clone, Copy)]
enum Unsupported {
    Essay,
    Numerical,
    Matching,
    ShortAnswer,
    Description,
}

impl Unsupported {
    fn name(self) -> &'static str {
        match self {
            Unsupported::Essay => "essay",
            Unsupported::Numerical => "numerical",
            Unsupported::Matching => "matching",
            Unsupported::ShortAnswer => "short answer",
            Unsupported::Description => "description",
        }
    }
}

/// The two answer-block shapes we import.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// `=`/`~` answers: single or multiple, decided by the answers.
    Choice,
    TrueFalse,
}

/// One answer of a multiple-choice block.
struct Answer {
    marked_right: bool,
    /// Percent; `=` answers without a weight are 100, `~` answers 0.
    weight: f64,
    text: Text,
    feedback: Option<Text>,
    line: usize,
}

/// The format a text is written in: a `[markdown]`, `[html]`, `[plain]` or `[moodle]` marker, else the
/// question's (Moodle's rule for answers and feedback) or, for the question text, `[moodle]`: HTML whose line
/// breaks are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Format {
    format: TextFormat,
    moodle: bool,
}

const MOODLE: Format = Format {
    format: TextFormat::Html,
    moodle: true,
};

/// A text of a question as written, with its format.
struct Text {
    text: String,
    format: Format,
}

impl Text {
    /// The text in the question's `target` format: `[moodle]` line breaks become `<br>`; a text written in
    /// another format than `target` (then HTML) is rendered to HTML.
    fn into_format(self, target: TextFormat, inline: bool) -> String {
        if self.format.moodle {
            moodle_to_html(&self.text)
        } else if self.format.format == target {
            self.text
        } else if inline {
            super::markdown::render_text_inline(&self.text, self.format.format)
        } else {
            super::markdown::render_text(&self.text, self.format.format)
                .trim_end()
                .to_owned()
        }
    }
}

/// A choice before its texts are put into the question's format.
struct DraftChoice {
    id: String,
    text: Text,
    correct: bool,
    feedback: Option<Text>,
}

/// Kind, choices and partial credit of an imported question.
type Built = (QuestionKind, Vec<DraftChoice>, bool);

struct GiftParser<'a> {
    file: &'a str,
    questions: Vec<Question>,
    domains: Vec<Domain>,
    current_domain: Option<String>,
    used_ids: HashSet<String>,
    question_count: usize,
    warnings: Vec<BankError>,
    errors: Vec<BankError>,
    question_lines: QuestionLines,
}

impl GiftParser<'_> {
    fn problem(
        &self,
        line: usize,
        question: Option<&str>,
        message: impl Into<String>,
    ) -> BankError {
        BankError {
            file: self.file.to_owned(),
            line,
            question_id: question.map(str::to_owned),
            message: message.into(),
        }
    }

    fn warn(&mut self, line: usize, question: Option<&str>, message: impl Into<String>) {
        let warning = self.problem(line, question, message);
        self.warnings.push(warning);
    }

    fn error(&mut self, line: usize, question: Option<&str>, message: impl Into<String>) {
        let error = self.problem(line, question, message);
        self.errors.push(error);
    }

    fn block(&mut self, block: &[(usize, &str)]) {
        let Some(&(line, first)) = block.first() else {
            return;
        };
        match first.trim_start().strip_prefix("$CATEGORY:") {
            Some(path) => {
                self.category(line, path.trim());
                if block.len() > 1 {
                    self.question(&block[1..]);
                }
            }
            None => self.question(block),
        }
    }

    fn category(&mut self, line: usize, path: &str) {
        let Some(segment) = path.split('/').map(str::trim).rfind(|s| !s.is_empty()) else {
            self.error(
                line,
                None,
                "`$CATEGORY:` needs a category path, e.g. `$CATEGORY: course/Backups`",
            );
            return;
        };
        let mut id = slug(segment);
        if id.is_empty() {
            id = format!("category-{}", self.domains.len() + 1);
            self.warn(
                line,
                None,
                format!("category \"{segment}\" has no ASCII letters or digits for an id; its domain id is `{id}`"),
            );
        }
        self.ensure_domain(&id, segment);
        self.current_domain = Some(id);
    }

    fn ensure_domain(&mut self, id: &str, title: &str) {
        if !self.domains.iter().any(|domain| domain.id == id) {
            self.domains.push(Domain {
                id: id.to_owned(),
                title: title.to_owned(),
                questions_per_form: 0,
            });
        }
    }

    fn question(&mut self, lines: &[(usize, &str)]) {
        self.question_count += 1;
        let toks = tokenize(lines);
        let start_line = lines.first().map_or(1, |(line, _)| *line);
        let mut pos = toks
            .iter()
            .position(|tok| !tok.c.is_whitespace())
            .unwrap_or(toks.len());

        // `::name::` → id.
        let mut title = None;
        if starts_with(&toks, pos, "::") {
            let Some(end) = find_seq(&toks, pos + 2, "::") else {
                self.error(
                    toks[pos].line,
                    None,
                    "question name `::…` is not closed with `::`",
                );
                return;
            };
            title = Some(text_of(&toks[pos + 2..end]));
            pos = end + 2;
        }
        let wanted_id = title.as_deref().map(slug).filter(|id| !id.is_empty());
        let id = match &wanted_id {
            Some(id) => id.clone(),
            None => format!("q-{:03}", self.question_count),
        };
        let qid = Some(id.as_str());

        // The answer block.
        let Some(open) = find(&toks, pos, '{') else {
            if let Some(close) = find(&toks, pos, '}') {
                self.error(
                    toks[close].line,
                    qid,
                    "`}` without an opening `{`; escape a literal brace as `\\}`",
                );
            } else {
                self.skip(start_line, &id, Unsupported::Description);
            }
            return;
        };
        let Some(close) = find(&toks, open + 1, '}') else {
            self.error(toks[open].line, qid, "`{` is never closed with `}`; close the answer block or escape a literal brace as `\\{`");
            return;
        };
        if let Some(nested) = find(&toks, open + 1, '{').filter(|&nested| nested < close) {
            self.error(
                toks[nested].line,
                qid,
                "`{` inside an answer block; escape a literal brace as `\\{`",
            );
            return;
        }
        if let Some(extra) =
            (close + 1..toks.len()).find(|&i| is(&toks[i], '{') || is(&toks[i], '}'))
        {
            self.error(
                toks[extra].line,
                qid,
                "a second answer block or a stray brace after the answer block; a question has one `{…}` (escape literal braces as `\\{` `\\}`)",
            );
            return;
        }

        // Question text with an optional format marker. Missing word (text after the answer block): Moodle
        // puts a blank `_____` where the block was.
        let trailing = &toks[close + 1..];
        let mut question_toks = toks[pos..open].to_vec();
        if !is_blank(trailing) {
            let line = toks[open].line;
            question_toks.extend("_____".chars().map(|c| Tok {
                c,
                escaped: true,
                line,
            }));
            question_toks.extend_from_slice(trailing);
        }
        let stem = marked_text(&question_toks, MOODLE);

        // General feedback `####…` at the end of the answer block.
        let mut answer_toks = &toks[open + 1..close];
        let mut explanation = None;
        if let Some(at) = (0..answer_toks.len())
            .rev()
            .find(|&i| starts_with(answer_toks, i, "####"))
        {
            let feedback = marked_text(&answer_toks[at + 4..], stem.format);
            explanation = (!feedback.text.is_empty()).then_some(feedback);
            answer_toks = &answer_toks[..at];
        }

        let first = answer_toks.iter().position(|tok| !tok.c.is_whitespace());
        let kind = match first {
            None => Err(Unsupported::Essay),
            Some(first) if is(&answer_toks[first], '#') => Err(Unsupported::Numerical),
            Some(_) if find(answer_toks, 0, '~').is_some() => Ok(Shape::Choice),
            Some(_)
                if find(answer_toks, 0, '=').is_some()
                    && find_seq(answer_toks, 0, "->").is_some() =>
            {
                Err(Unsupported::Matching)
            }
            Some(_) => {
                let head_end = find(answer_toks, 0, '#').unwrap_or(answer_toks.len());
                match text_of(&answer_toks[..head_end])
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "T" | "TRUE" | "F" | "FALSE" => Ok(Shape::TrueFalse),
                    _ => Err(Unsupported::ShortAnswer),
                }
            }
        };
        let shape = match kind {
            Ok(shape) => shape,
            Err(unsupported) => {
                self.skip(start_line, &id, unsupported);
                return;
            }
        };

        if stem.text.is_empty() {
            self.warn(
                start_line,
                qid,
                "skipped: the question has no text; write it before the `{`",
            );
            return;
        }

        let built = match shape {
            Shape::TrueFalse => Some(true_false(answer_toks, stem.format)),
            Shape::Choice => self.choice_question(answer_toks, &id, start_line, stem.format),
        };
        let Some((kind, choices, partial_credit)) = built else {
            return;
        };

        let final_id = self.unique_id(id, start_line);
        self.question_lines.insert(final_id.clone(), start_line);
        let domain = match &self.current_domain {
            Some(domain) => domain.clone(),
            None => {
                self.ensure_domain(GENERAL_DOMAIN, "General");
                GENERAL_DOMAIN.to_owned()
            }
        };
        if let Some(entry) = self.domains.iter_mut().find(|d| d.id == domain) {
            entry.questions_per_form += 1;
        }
        // One format per question: texts written in different formats are all turned into HTML.
        let uniform = std::iter::once(&stem)
            .chain(&explanation)
            .chain(
                choices
                    .iter()
                    .flat_map(|c| std::iter::once(&c.text).chain(&c.feedback)),
            )
            .all(|text| text.format.format == stem.format.format);
        let stem_format = if uniform {
            stem.format.format
        } else {
            TextFormat::Html
        };
        let convert = |text: Text, inline: bool| text.into_format(stem_format, inline);
        self.questions.push(Question {
            id: final_id,
            domain,
            kind,
            stem: convert(stem, false),
            stem_format,
            choices: choices
                .into_iter()
                .map(|choice| Choice {
                    id: choice.id,
                    text: convert(choice.text, true),
                    correct: choice.correct,
                    feedback: choice.feedback.map(|f| convert(f, false)),
                })
                .collect(),
            explanation: explanation.map(|e| convert(e, false)),
            references: Vec::new(),
            partial_credit,
        });
    }

    fn skip(&mut self, line: usize, id: &str, unsupported: Unsupported) {
        self.warn(
            line,
            Some(id),
            format!(
                "skipped: unsupported question type \"{}\"",
                unsupported.name()
            ),
        );
    }

    /// Adds `-2`, `-3`, … to an id already used in this file.
    fn unique_id(&mut self, id: String, line: usize) -> String {
        if self.used_ids.insert(id.clone()) {
            return id;
        }
        let mut n = 2;
        let unique = loop {
            let candidate = format!("{id}-{n}");
            if self.used_ids.insert(candidate.clone()) {
                break candidate;
            }
            n += 1;
        };
        self.warn(
            line,
            Some(&unique),
            format!("question id `{id}` is already used in this file; this question was imported as `{unique}`"),
        );
        unique
    }

    /// Multiple choice (an `=` answer) or multiple answer (weights only). `None` when skipped or malformed.
    fn choice_question(
        &mut self,
        toks: &[Tok],
        id: &str,
        line: usize,
        format: Format,
    ) -> Option<Built> {
        let answers = self.answers(toks, id, format)?;
        let qid = Some(id);
        let right_marked = answers.iter().filter(|a| a.marked_right).count();

        let mut texts = HashSet::new();
        if let Some(duplicate) = answers.iter().find(|a| !texts.insert(a.text.text.as_str())) {
            self.warn(
                duplicate.line,
                qid,
                format!(
                    "skipped: two answers have the same text \"{}\"",
                    duplicate.text.text
                ),
            );
            return None;
        }
        if answers.len() < 2 {
            self.warn(
                line,
                qid,
                "skipped: a choice question needs at least two answers",
            );
            return None;
        }

        // Several `=` answers are several accepted answers of a single-answer question (Moodle's rule).
        let (kind, partial_credit) = if right_marked > 0 {
            for answer in answers.iter().filter(|a| !a.marked_right && a.weight > 0.0) {
                self.warn(
                    answer.line,
                    qid,
                    format!("partial weight {}% on \"{}\" is not supported in a single-answer question; it scores 0", answer.weight, answer.text.text),
                );
            }
            (QuestionKind::Single, false)
        } else {
            let positive: Vec<f64> = answers
                .iter()
                .map(|a| a.weight)
                .filter(|w| *w > 0.0)
                .collect();
            if positive.is_empty() {
                self.warn(line, qid, "skipped: no answer is right; mark one with `=` or give right answers a positive weight like `~%50%`");
                return None;
            }
            let sum: f64 = positive.iter().sum();
            if (sum - 100.0).abs() > 0.01 {
                self.warn(line, qid, format!("the positive weights add up to {sum}%, not 100%; every positively weighted answer counts as right"));
            }
            // Partial credit when a right answer alone is worth less than the whole question.
            let partial = positive.iter().any(|w| *w < 100.0 - 0.01);
            (QuestionKind::Multiple, partial)
        };

        let choices = answers
            .into_iter()
            .enumerate()
            .map(|(index, answer)| DraftChoice {
                id: choice_id(index),
                correct: if kind == QuestionKind::Single {
                    answer.marked_right
                } else {
                    answer.weight > 0.0
                },
                text: answer.text,
                feedback: answer.feedback,
            })
            .collect();
        Some((kind, choices, partial_credit))
    }

    /// Splits a choice answer block at unescaped `=` and `~`.
    fn answers(&mut self, toks: &[Tok], id: &str, format: Format) -> Option<Vec<Answer>> {
        let qid = Some(id);
        let starts: Vec<usize> = (0..toks.len())
            .filter(|&i| is(&toks[i], '=') || is(&toks[i], '~'))
            .collect();
        let first = starts.first().copied().unwrap_or(toks.len());
        if !is_blank(&toks[..first]) {
            let line = toks
                .iter()
                .find(|t| !t.c.is_whitespace())
                .map_or(0, |t| t.line);
            self.error(
                line,
                qid,
                "text before the first answer; start each answer with `=` (right) or `~` (wrong)",
            );
            return None;
        }
        let mut answers = Vec::new();
        let mut malformed = false;
        for (n, &start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(toks.len());
            let marked_right = is(&toks[start], '=');
            let line = toks[start].line;
            let mut body = &toks[start + 1..end];
            let lead = body
                .iter()
                .position(|t| !t.c.is_whitespace())
                .unwrap_or(body.len());
            body = &body[lead..];
            let mut weight = if marked_right { 100.0 } else { 0.0 };
            if body.first().is_some_and(|t| is(t, '%')) {
                let Some(close) = find(body, 1, '%') else {
                    self.error(
                        line,
                        qid,
                        "answer weight is not closed: write it like `~%50%`",
                    );
                    malformed = true;
                    continue;
                };
                let raw = text_of(&body[1..close]);
                match raw.parse::<f64>() {
                    Ok(value) if value.is_finite() && (-100.0..=100.0).contains(&value) => {
                        weight = value
                    }
                    _ => {
                        self.error(
                            line,
                            qid,
                            format!(
                                "answer weight `%{raw}%` is not a percentage between -100 and 100"
                            ),
                        );
                        malformed = true;
                        continue;
                    }
                }
                body = &body[close + 1..];
            }
            let (text_toks, feedback) = match find(body, 0, '#') {
                Some(hash) => (
                    &body[..hash],
                    Some(marked_text(&body[hash + 1..], format)).filter(|f| !f.text.is_empty()),
                ),
                None => (body, None),
            };
            let text = marked_text(text_toks, format);
            if text.text.is_empty() {
                self.error(line, qid, "an answer is empty; write its text after `=` or `~` (escape a literal `=`, `~` or `#` with `\\`)");
                malformed = true;
                continue;
            }
            answers.push(Answer {
                marked_right,
                weight,
                text,
                feedback,
                line,
            });
        }
        (!malformed).then_some(answers)
    }
}

/// `{T}` / `{FALSE#wrong feedback#right feedback}`: the first feedback is for a wrong answer, the second for
/// a right one (Moodle's order).
fn true_false(toks: &[Tok], format: Format) -> Built {
    let hashes: Vec<usize> = (0..toks.len()).filter(|&i| is(&toks[i], '#')).collect();
    let head_end = hashes.first().copied().unwrap_or(toks.len());
    let answer = text_of(&toks[..head_end])
        .to_ascii_uppercase()
        .starts_with('T');
    let part = |n: usize| {
        let start = hashes.get(n).map(|h| h + 1)?;
        let end = hashes.get(n + 1).copied().unwrap_or(toks.len());
        Some(marked_text(&toks[start..end], format)).filter(|text| !text.text.is_empty())
    };
    let (mut wrong_feedback, mut right_feedback) = (part(0), part(1));
    let choices = Choice::true_false(answer)
        .into_iter()
        .map(|choice| DraftChoice {
            feedback: if choice.correct {
                right_feedback.take()
            } else {
                wrong_feedback.take()
            },
            id: choice.id,
            // "True"/"False" read the same in every format.
            text: Text {
                text: choice.text,
                format,
            },
            correct: choice.correct,
        })
        .collect();
    (QuestionKind::TrueFalse, choices, false)
}

fn choice_id(index: usize) -> String {
    let mut id = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        n -= 1;
        id.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    id.iter().rev().collect()
}

/// The text of `toks` with the format its leading marker names, else `default`.
fn marked_text(toks: &[Tok], default: Format) -> Text {
    match format_marker(toks) {
        Some((format, rest)) => Text {
            text: text_of(rest),
            format,
        },
        None => Text {
            text: text_of(toks),
            format: default,
        },
    }
}

/// A leading `[markdown]`, `[html]`, `[plain]` or `[moodle]` marker: the format and the text after it.
fn format_marker(toks: &[Tok]) -> Option<(Format, &[Tok])> {
    let start = toks
        .iter()
        .position(|t| !t.c.is_whitespace())
        .unwrap_or(toks.len());
    [
        ("[markdown]", TextFormat::Markdown, false),
        ("[html]", TextFormat::Html, false),
        ("[plain]", TextFormat::Plain, false),
        ("[moodle]", TextFormat::Html, true),
    ]
    .into_iter()
    .find(|(marker, _, _)| starts_with(toks, start, marker))
    .map(|(marker, format, moodle)| {
        (
            Format { format, moodle },
            &toks[start + marker.chars().count()..],
        )
    })
}

/// Moodle auto-format is HTML whose line breaks are kept.
fn moodle_to_html(text: &str) -> String {
    text.replace('\n', "<br>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIXED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/exams/gift/mixed.gift"
    ));

    fn import(text: &str) -> ImportedQuestions {
        parse_gift("test.gift", text).unwrap_or_else(|errors| panic!("{errors}"))
    }

    fn errors(text: &str) -> Vec<String> {
        match parse_gift("bad.gift", text) {
            Ok(import) => panic!("should fail, got {import:?}"),
            Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn mixed_file_imports_supported_questions() {
        let import = import(MIXED);
        let ids: Vec<&str> = import.questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "capital-of-france",
                "q-002",
                "colours",
                "sky",
                "earth-flat",
                "q-010",
                "html-q",
                "md-q",
                "plain-q",
                "colours-2"
            ]
        );
        assert_eq!(
            import.domains,
            vec![
                Domain {
                    id: "general".into(),
                    title: "General".into(),
                    questions_per_form: 2
                },
                Domain {
                    id: "geography-basics".into(),
                    title: "Geography Basics".into(),
                    questions_per_form: 5
                },
                Domain {
                    id: "formats".into(),
                    title: "Formats".into(),
                    questions_per_form: 3
                },
                Domain {
                    id: "empty".into(),
                    title: "Empty".into(),
                    questions_per_form: 0
                },
            ]
        );

        let france = &import.questions[0];
        assert_eq!(france.kind, QuestionKind::Single);
        assert_eq!(france.domain, "general");
        assert_eq!(france.stem, "What is the capital of France?");
        assert_eq!(france.stem_format, TextFormat::Html);
        let texts: Vec<(&str, &str, bool)> = france
            .choices
            .iter()
            .map(|c| (c.id.as_str(), c.text.as_str(), c.correct))
            .collect();
        assert_eq!(
            texts,
            [
                ("a", "Paris", true),
                ("b", "London", false),
                ("c", "Berlin", false)
            ]
        );
        assert_eq!(
            france.choices[1].feedback.as_deref(),
            Some("That is the UK.")
        );
        assert_eq!(
            france.explanation.as_deref(),
            Some("Paris has been the capital since 508.")
        );

        let escaped = &import.questions[1];
        assert_eq!(
            escaped.stem,
            "Which is true: 1 + 1 = 2 {always}<br>\nor # never: ~ ?"
        );
        assert_eq!(escaped.choices[0].text, "a = b");
        assert!(escaped.choices[0].correct);

        let colours = &import.questions[2];
        assert_eq!(colours.kind, QuestionKind::Multiple);
        assert!(colours.partial_credit);
        assert_eq!(colours.domain, "geography-basics");
        assert_eq!(
            colours
                .choices
                .iter()
                .map(|c| c.correct)
                .collect::<Vec<_>>(),
            [true, true, false, false]
        );

        let sky = &import.questions[3];
        assert_eq!(sky.kind, QuestionKind::TrueFalse);
        assert_eq!(sky.choices[0].id, "true");
        assert!(sky.choices[0].correct);
        assert_eq!(
            sky.choices[0].feedback.as_deref(),
            Some("Yes, Rayleigh scattering.")
        );
        assert_eq!(sky.choices[1].feedback.as_deref(), Some("Look up."));

        let flat = &import.questions[4];
        assert_eq!(flat.kind, QuestionKind::TrueFalse);
        assert!(
            flat.choices[1].correct,
            "FALSE makes `false` the right choice"
        );

        let missing_word = &import.questions[5];
        assert_eq!(
            missing_word.stem,
            "The Seine flows through _____ in France."
        );
        assert_eq!(missing_word.correct_count(), 1);

        assert_eq!(import.questions[6].stem_format, TextFormat::Html);
        assert_eq!(import.questions[6].stem, "<p>Pick <b>bold</b></p>");
        assert_eq!(import.questions[7].stem_format, TextFormat::Markdown);
        assert_eq!(import.questions[7].stem, "Pick **one**:\n\n- list");
        assert_eq!(import.questions[8].stem_format, TextFormat::Plain);
        assert_eq!(import.questions[8].stem, "Is 3 < 5?");

        let all_or_nothing = &import.questions[9];
        assert_eq!(all_or_nothing.kind, QuestionKind::Multiple);
        assert!(
            !all_or_nothing.partial_credit,
            "one right answer worth 100%"
        );
    }

    #[test]
    fn mixed_file_lists_every_skipped_question_with_line_and_type() {
        let import = import(MIXED);
        let warnings: Vec<String> = import.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            [
                "test.gift:26: question essay: skipped: unsupported question type \"essay\"",
                "test.gift:28: question q-007: skipped: unsupported question type \"matching\"",
                "test.gift:30: question pi: skipped: unsupported question type \"numerical\"",
                "test.gift:32: question q-009: skipped: unsupported question type \"short answer\"",
                "test.gift:36: question q-011: skipped: unsupported question type \"description\"",
                "test.gift:47: question colours-2: question id `colours` is already used in this file; this question was imported as `colours-2`",
            ]
        );
    }

    #[test]
    fn malformed_questions_are_errors_with_lines() {
        let text = "::a:: Open {=x ~y\n\nok {T}\n\n::unclosed Title {T}\n\nStray } brace\n\nTwo {T} blocks {F}\n\nNested {=a {~b}\n\n{=x ~y} here\n\nW {~%abc%x =y}\n\nE {= ~y}\n\nT {bad ~x =y}\n";
        assert_eq!(
            errors(text),
            [
                "bad.gift:1: question a: `{` is never closed with `}`; close the answer block or escape a literal brace as `\\{`",
                "bad.gift:5: question name `::…` is not closed with `::`",
                "bad.gift:7: question q-004: `}` without an opening `{`; escape a literal brace as `\\}`",
                "bad.gift:9: question q-005: a second answer block or a stray brace after the answer block; a question has one `{…}` (escape literal braces as `\\{` `\\}`)",
                "bad.gift:11: question q-006: `{` inside an answer block; escape a literal brace as `\\{`",
                "bad.gift:15: question q-008: answer weight `%abc%` is not a percentage between -100 and 100",
                "bad.gift:17: question q-009: an answer is empty; write its text after `=` or `~` (escape a literal `=`, `~` or `#` with `\\`)",
                "bad.gift:19: question q-010: text before the first answer; start each answer with `=` (right) or `~` (wrong)",
            ]
        );
    }

    #[test]
    fn unusable_choice_questions_are_skipped_with_warnings() {
        let import = import(
            "Two right {=a =b ~c}\n\nNo right {~%-50%a ~b}\n\nSame {=a ~a}\n\nOne {=a}\n\nHalf {=a ~%50%b ~c}\n\nOdd {~%40%a ~%40%b ~c}\n",
        );
        let warnings: Vec<String> = import
            .warnings
            .iter()
            .map(|w| format!("{}: {}", w.line, w.message))
            .collect();
        assert_eq!(
            warnings,
            [
                "3: skipped: no answer is right; mark one with `=` or give right answers a positive weight like `~%50%`",
                "5: skipped: two answers have the same text \"a\"",
                "7: skipped: unsupported question type \"short answer\"",
                "9: partial weight 50% on \"b\" is not supported in a single-answer question; it scores 0",
                "11: the positive weights add up to 80%, not 100%; every positively weighted answer counts as right",
            ]
        );
        assert_eq!(import.questions.len(), 3);
        // Two `=` answers: one question, either answer accepted (Moodle's rule).
        assert_eq!(import.questions[0].kind, QuestionKind::Single);
        assert_eq!(import.questions[0].correct_count(), 2);
        assert_eq!(import.questions[1].kind, QuestionKind::Single);
        assert_eq!(import.questions[1].correct_count(), 1);
        assert_eq!(import.questions[2].correct_count(), 2);
        assert!(import.questions[2].partial_credit);
    }

    proptest::proptest! {
        #[test]
        fn any_input_yields_valid_questions_or_located_errors(text in "[=~#{}:%\\\\ \nTFab>/$-]{0,200}") {
            let line_count = text.lines().count().max(1);
            match parse_gift("fuzz.gift", &text) {
                Ok(import) => {
                    let mut ids = HashSet::new();
                    for question in &import.questions {
                        proptest::prop_assert!(crate::exams::model::is_valid_id(&question.id), "{}", question.id);
                        proptest::prop_assert!(ids.insert(question.id.clone()), "duplicate {}", question.id);
                        proptest::prop_assert!(question.choices.len() >= 2);
                        proptest::prop_assert!(import.domains.iter().any(|d| d.id == question.domain));
                        let correct = question.correct_count();
                        match question.kind {
                            QuestionKind::TrueFalse => proptest::prop_assert_eq!(correct, 1),
                            _ => proptest::prop_assert!(correct >= 1),
                        }
                    }
                    for warning in &import.warnings {
                        proptest::prop_assert!((1..=line_count).contains(&warning.line), "{}", warning);
                    }
                }
                Err(errors) => {
                    proptest::prop_assert!(!errors.errors.is_empty());
                    for error in &errors.errors {
                        proptest::prop_assert!((1..=line_count).contains(&error.line), "{}", error);
                    }
                }
            }
        }
    }

    fn fixture(name: &str) -> ImportedQuestions {
        let path = format!("{}/tests/fixtures/gift/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        import(&text)
    }

    fn texts(question: &Question) -> Vec<(&str, bool, Option<&str>)> {
        question
            .choices
            .iter()
            .map(|c| (c.text.as_str(), c.correct, c.feedback.as_deref()))
            .collect()
    }

    #[test]
    fn backslash_escapes_read_as_moodle_reads_them() {
        let import = fixture("escapes.gift");
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
        let [separator, tricky, literals] = &import.questions[..] else {
            panic!("{:?}", import.questions)
        };
        assert_eq!(
            texts(separator),
            [("\\", true, None), ("/", false, None), (":", false, None)]
        );
        assert_eq!(tricky.kind, QuestionKind::Single);
        assert_eq!(texts(tricky), [("a\\", true, None), ("b", false, None)]);
        assert_eq!(literals.stem, "Is {x} = 1 # 2 ~ 3: true?");
        assert_eq!(literals.kind, QuestionKind::TrueFalse);
    }

    #[test]
    fn format_markers_on_answers_and_feedback_set_their_format() {
        let import = fixture("formats.gift");
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
        let same = &import.questions[0];
        assert_eq!(same.stem_format, TextFormat::Html);
        assert_eq!(
            texts(same),
            [
                ("<b>b</b>", true, Some("<i>Right</i>")),
                ("<u>u</u>", false, Some("<i>That underlines</i>"))
            ]
        );
        assert_eq!(
            same.explanation.as_deref(),
            Some("<p>See the HTML spec.</p>")
        );

        // Markdown question with HTML, plain and Markdown texts: all become HTML.
        let mixed = &import.questions[1];
        assert_eq!(mixed.stem_format, TextFormat::Html);
        assert_eq!(mixed.stem, "<p>Pick the <strong>right</strong> one</p>");
        assert_eq!(
            texts(mixed),
            [
                ("yes", true, Some("<b>Right</b>, well done")),
                (
                    "no &lt;way&gt;",
                    false,
                    Some("<p><em>Not</em> this one</p>")
                )
            ]
        );
        assert_eq!(
            mixed.explanation.as_deref(),
            Some("<p>General feedback</p>")
        );
    }

    #[test]
    fn missing_word_questions_get_a_blank() {
        let import = fixture("missing-word.gift");
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
        let stems: Vec<&str> = import.questions.iter().map(|q| q.stem.as_str()).collect();
        assert_eq!(
            stems,
            [
                "Grant is _____ in Grant's tomb.",
                "The moon is _____ of the Earth.",
                "The sun is a star."
            ]
        );
        assert_eq!(
            texts(&import.questions[0]),
            [
                ("buried", false, None),
                ("entombed", true, None),
                ("living", false, None)
            ]
        );
    }

    #[test]
    fn several_equals_answers_are_several_accepted_answers() {
        let import = fixture("several-equals.gift");
        let primes = &import.questions[0];
        assert_eq!(primes.kind, QuestionKind::Single);
        assert_eq!(primes.correct_count(), 2);
        let warnings: Vec<String> = import.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(
            warnings,
            ["test.gift:6: question grants-tomb: skipped: unsupported question type \"short answer\""]
        );
    }

    #[test]
    fn slugs_and_categories() {
        assert_eq!(slug("  Capital of France?! "), "capital-of-france");
        assert_eq!(slug("日本"), "");
        let import = import("$CATEGORY: $course$/top/Big Things\n\n::Q::Big? {T}\n\n$CATEGORY: other/big-things\nSame domain? {F}\n");
        assert_eq!(import.domains.len(), 1);
        assert_eq!(import.domains[0].id, "big-things");
        assert_eq!(import.domains[0].title, "Big Things");
        assert_eq!(import.domains[0].questions_per_form, 2);
        assert_eq!(import.questions[1].domain, "big-things");
        assert_eq!(import.questions[1].id, "q-002");
    }

    #[test]
    fn imported_html_renders_safely() {
        let import = import("[html]<p onclick=\"x()\">Hi<script>alert(1)</script></p> {=<b>yes</b> ~<img src\\=javascript:alert(1)>no}\n");
        let question = &import.questions[0];
        let html = crate::exams::markdown::render_text(&question.stem, question.stem_format);
        assert_eq!(html, "<p>Hi</p>");
        let choice = crate::exams::markdown::render_text_inline(
            &question.choices[1].text,
            question.stem_format,
        );
        assert!(!choice.contains("javascript"), "{choice}");
    }
}
