//! Grading in integers: item points in thousandths, scores in basis points (1/100 of a percent), so a stored
//! result never depends on floating-point rounding. The rules are documented in docs/exam-banks.md.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::form::Form;
use super::model::{Bank, Question, QuestionKind};
use super::{AnswerError, FormError};

/// Full points of one item.
pub const ITEM_POINTS_MILLI: u32 = 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GradeResult {
    /// 0..=10000, floor of earned × 10000 / maximum.
    pub score_basis_points: u32,
    pub passed: bool,
    pub pass_percent: u8,
    pub points_milli: u64,
    pub max_points_milli: u64,
    /// Domains present on the form, in blueprint order.
    pub domains: Vec<DomainScore>,
    /// In form order.
    pub items: Vec<ItemScore>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainScore {
    pub id: String,
    pub title: String,
    /// Items with full points.
    pub correct: u32,
    pub total: u32,
    /// Partial credit counts here too.
    pub score_basis_points: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemScore {
    pub question_id: String,
    pub domain: String,
    /// 0..=1000.
    pub points_milli: u32,
    /// Full points.
    pub correct: bool,
}

/// Grades an attempt. `answers` maps question id → chosen choice ids; choices that are not the question's and
/// questions not on the form are ignored (answers are checked with [`validate_answer`] when saved).
pub fn grade(
    bank: &Bank,
    form: &Form,
    answers: &HashMap<String, Vec<String>>,
    pass_percent: u8,
) -> Result<GradeResult, FormError> {
    let mut items = Vec::with_capacity(form.items.len());
    for (item, question) in form.questions(bank)? {
        let chosen = answers
            .get(&item.question_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let points_milli = item_points(question, chosen);
        items.push(ItemScore {
            question_id: question.id.clone(),
            domain: question.domain.clone(),
            points_milli,
            correct: points_milli == ITEM_POINTS_MILLI,
        });
    }

    let points_milli: u64 = items.iter().map(|item| u64::from(item.points_milli)).sum();
    let max_points_milli = items.len() as u64 * u64::from(ITEM_POINTS_MILLI);
    let score_basis_points = basis_points(points_milli, max_points_milli);

    let domains = bank
        .domains
        .iter()
        .filter_map(|domain| {
            let in_domain: Vec<&ItemScore> = items
                .iter()
                .filter(|item| item.domain == domain.id)
                .collect();
            if in_domain.is_empty() {
                return None;
            }
            let earned: u64 = in_domain
                .iter()
                .map(|item| u64::from(item.points_milli))
                .sum();
            let total = in_domain.len() as u32;
            Some(DomainScore {
                id: domain.id.clone(),
                title: domain.title.clone(),
                correct: in_domain.iter().filter(|item| item.correct).count() as u32,
                total,
                score_basis_points: basis_points(
                    earned,
                    u64::from(total) * u64::from(ITEM_POINTS_MILLI),
                ),
            })
        })
        .collect();

    Ok(GradeResult {
        score_basis_points,
        passed: score_basis_points >= u32::from(pass_percent) * 100,
        pass_percent,
        points_milli,
        max_points_milli,
        domains,
        items,
    })
}

fn basis_points(earned_milli: u64, max_milli: u64) -> u32 {
    if max_milli == 0 {
        return 0;
    }
    // earned ≤ max, so the quotient is ≤ 10000.
    u32::try_from(earned_milli.min(max_milli) * 10_000 / max_milli).unwrap_or(10_000)
}

/// Points for one item (see docs/exam-banks.md, "Grading").
fn item_points(question: &Question, chosen: &[String]) -> u32 {
    let chosen: HashSet<&str> = chosen
        .iter()
        .map(String::as_str)
        .filter(|id| question.choice(id).is_some())
        .collect();
    let correct: HashSet<&str> = question
        .choices
        .iter()
        .filter(|choice| choice.correct)
        .map(|choice| choice.id.as_str())
        .collect();
    match question.kind {
        QuestionKind::Single | QuestionKind::TrueFalse => {
            if chosen.len() == 1 && chosen.is_subset(&correct) {
                ITEM_POINTS_MILLI
            } else {
                0
            }
        }
        QuestionKind::Multiple if question.partial_credit => {
            if correct.is_empty() {
                return 0;
            }
            let right = chosen.intersection(&correct).count();
            let wrong = chosen.len() - right;
            let net = right.saturating_sub(wrong) as u64;
            u32::try_from(net * u64::from(ITEM_POINTS_MILLI) / correct.len() as u64).unwrap_or(0)
        }
        QuestionKind::Multiple => {
            if chosen == correct {
                ITEM_POINTS_MILLI
            } else {
                0
            }
        }
    }
}

/// Checks an answer before it is saved: the question is on the form, every choice is one of its choices, no
/// choice twice, and at most one choice for `single` and `true_false`. An empty list clears the answer.
pub fn validate_answer(
    bank: &Bank,
    form: &Form,
    question_id: &str,
    choices: &[String],
) -> Result<(), AnswerError> {
    // Errors go to the candidate's client: they name the question and choices by this attempt's handles.
    let question_handle = || form.question_handle(question_id);
    let not_on_form = || AnswerError::NotOnForm(question_handle());
    let item = form.item(question_id).ok_or_else(not_on_form)?;
    let question = bank.question(question_id).ok_or_else(not_on_form)?;
    let mut seen = HashSet::new();
    for choice in choices {
        if !item.choice_order.contains(choice) || question.choice(choice).is_none() {
            return Err(AnswerError::UnknownChoice {
                question: question_handle(),
                choice: form.choice_handle(question_id, choice),
            });
        }
        if !seen.insert(choice.as_str()) {
            return Err(AnswerError::DuplicateChoice {
                question: question_handle(),
                choice: form.choice_handle(question_id, choice),
            });
        }
    }
    if question.kind != QuestionKind::Multiple && choices.len() > 1 {
        return Err(AnswerError::TooManyChoices {
            question: question_handle(),
            given: choices.len(),
        });
    }
    Ok(())
}

/// A score in basis points as the percent shown to people, rounded half up to one decimal and
/// without a trailing `.0`: `7142` (5 of 7) → `"71.4"`, `6665` → `"66.7"`, `10000` → `"100"` (the `%`
/// sign is the caller's). Basis points are truncated, so their hundredths digit is exact and
/// rounding them gives the rounded true score.
pub fn format_percent(basis_points: u32) -> String {
    let tenths = (basis_points + 5) / 10;
    match tenths % 10 {
        0 => format!("{}", tenths / 10),
        digit => format!("{}.{digit}", tenths / 10),
    }
}

/// A score in basis points as the API's `score_percent` JSON number (at most two decimals, e.g. `72.5`).
/// Only for output; stored results keep the integer basis points.
pub fn percent_json_number(basis_points: u32) -> serde_json::Number {
    serde_json::Number::from_f64(f64::from(basis_points) / 100.0)
        .unwrap_or_else(|| serde_json::Number::from(basis_points / 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exams::form::FormItem;
    use crate::exams::model::{Choice, Domain, ExamMeta, Price, RetakePolicy, TextFormat};

    fn choice(id: &str, correct: bool) -> Choice {
        Choice {
            id: id.into(),
            text: id.to_uppercase(),
            correct,
            feedback: None,
        }
    }

    fn question(
        id: &str,
        domain: &str,
        kind: QuestionKind,
        correct: &[&str],
        partial_credit: bool,
    ) -> Question {
        let choices = match kind {
            QuestionKind::TrueFalse => Choice::true_false(correct == ["true"]),
            _ => ["a", "b", "c", "d"]
                .iter()
                .map(|id| choice(id, correct.contains(id)))
                .collect(),
        };
        Question {
            id: id.into(),
            domain: domain.into(),
            kind,
            stem: format!("Stem {id}"),
            stem_format: TextFormat::Markdown,
            choices,
            explanation: None,
            references: vec![],
            partial_credit,
        }
    }

    fn bank() -> Bank {
        Bank {
            exam: ExamMeta {
                slug: "g".into(),
                title: "G".into(),
                version: "1".into(),
                description: None,
                duration_minutes: 10,
                pass_percent: 70,
                validity_months: 0,
                allow_review: false,
                renewal_exam: None,
                price: Price {
                    amount_minor: 0,
                    currency: "XXX".into(),
                },
                retake: RetakePolicy::default(),
            },
            domains: vec![
                Domain {
                    id: "one".into(),
                    title: "One".into(),
                    questions_per_form: 2,
                },
                Domain {
                    id: "two".into(),
                    title: "Two".into(),
                    questions_per_form: 2,
                },
            ],
            questions: vec![
                question("single", "two", QuestionKind::Single, &["b"], false),
                question("tf", "two", QuestionKind::TrueFalse, &["false"], false),
                question("all", "one", QuestionKind::Multiple, &["a", "c"], false),
                question(
                    "partial",
                    "one",
                    QuestionKind::Multiple,
                    &["a", "b", "c"],
                    true,
                ),
            ],
        }
    }

    fn form(bank: &Bank) -> Form {
        Form {
            items: bank
                .questions
                .iter()
                .map(|q| FormItem {
                    question_id: q.id.clone(),
                    choice_order: q.choices.iter().rev().map(|c| c.id.clone()).collect(),
                })
                .collect(),
            handle_key: None,
        }
    }

    fn points(question_id: &str, chosen: &[&str]) -> u32 {
        let bank = bank();
        let answers = HashMap::from([(
            question_id.to_owned(),
            chosen.iter().map(|s| s.to_string()).collect(),
        )]);
        let result = grade(&bank, &form(&bank), &answers, 70).unwrap();
        result
            .items
            .iter()
            .find(|item| item.question_id == question_id)
            .unwrap()
            .points_milli
    }

    #[test]
    fn item_points_table() {
        let cases: &[(&str, &[&str], u32)] = &[
            ("single", &["b"], 1000),
            ("single", &["a"], 0),
            ("single", &[], 0),
            ("single", &["b", "a"], 0),
            ("single", &["b", "zzz"], 1000),
            ("tf", &["false"], 1000),
            ("tf", &["true"], 0),
            ("all", &["a", "c"], 1000),
            ("all", &["c", "a", "a"], 1000),
            ("all", &["a"], 0),
            ("all", &["a", "c", "d"], 0),
            ("all", &[], 0),
            ("partial", &["a", "b", "c"], 1000),
            ("partial", &["a", "b"], 666),
            ("partial", &["a"], 333),
            ("partial", &["a", "b", "d"], 333),
            ("partial", &["a", "d"], 0),
            ("partial", &["d"], 0),
            ("partial", &["a", "b", "c", "d"], 666),
            ("partial", &["a", "nope"], 333),
        ];
        for (question_id, chosen, expected) in cases {
            assert_eq!(
                points(question_id, chosen),
                *expected,
                "{question_id} {chosen:?}"
            );
        }
    }

    #[test]
    fn overall_domain_and_pass_results() {
        let bank = bank();
        let answers = HashMap::from([
            ("single".to_owned(), vec!["b".to_owned()]),
            ("tf".to_owned(), vec!["true".to_owned()]),
            ("all".to_owned(), vec!["a".to_owned(), "c".to_owned()]),
            ("partial".to_owned(), vec!["a".to_owned(), "b".to_owned()]),
            ("not-on-form".to_owned(), vec!["a".to_owned()]),
        ]);
        let result = grade(&bank, &form(&bank), &answers, 66).unwrap();
        // 1000 + 0 + 1000 + 666 = 2666 of 4000 → 6665 bp.
        assert_eq!(result.points_milli, 2666);
        assert_eq!(result.max_points_milli, 4000);
        assert_eq!(result.score_basis_points, 6665);
        assert!(result.passed);
        assert!(!grade(&bank, &form(&bank), &answers, 67).unwrap().passed);
        assert_eq!(
            result.domains,
            vec![
                DomainScore {
                    id: "one".into(),
                    title: "One".into(),
                    correct: 1,
                    total: 2,
                    score_basis_points: 8330
                },
                DomainScore {
                    id: "two".into(),
                    title: "Two".into(),
                    correct: 1,
                    total: 2,
                    score_basis_points: 5000
                },
            ]
        );
        assert_eq!(
            result.items.iter().map(|i| i.correct).collect::<Vec<_>>(),
            [true, false, true, false]
        );
        assert_eq!(result.items[3].domain, "one");
    }

    #[test]
    fn pass_mark_is_inclusive_and_empty_answers_score_zero() {
        let bank = bank();
        let all_right = HashMap::from([
            ("single".to_owned(), vec!["b".to_owned()]),
            ("tf".to_owned(), vec!["false".to_owned()]),
            ("all".to_owned(), vec!["a".to_owned(), "c".to_owned()]),
        ]);
        let result = grade(&bank, &form(&bank), &all_right, 75).unwrap();
        assert_eq!(result.score_basis_points, 7500);
        assert!(result.passed);
        let nothing = grade(&bank, &form(&bank), &HashMap::new(), 1).unwrap();
        assert_eq!(nothing.score_basis_points, 0);
        assert!(!nothing.passed);
        let perfect = HashMap::from([
            ("single".to_owned(), vec!["b".to_owned()]),
            ("tf".to_owned(), vec!["false".to_owned()]),
            ("all".to_owned(), vec!["a".to_owned(), "c".to_owned()]),
            (
                "partial".to_owned(),
                vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            ),
        ]);
        let result = grade(&bank, &form(&bank), &perfect, 100).unwrap();
        assert_eq!(result.score_basis_points, 10_000);
        assert!(result.passed);
    }

    #[test]
    fn grading_a_form_of_another_bank_fails() {
        let bank = bank();
        let mut other = bank.clone();
        other.questions.remove(0);
        assert_eq!(
            grade(&other, &form(&bank), &HashMap::new(), 70),
            Err(FormError::UnknownQuestion("single".into()))
        );
    }

    #[test]
    fn answer_validation_table() {
        let bank = bank();
        let form = form(&bank);
        let check = |question: &str, choices: &[&str]| {
            validate_answer(
                &bank,
                &form,
                question,
                &choices.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(check("single", &["a"]), Ok(()));
        assert_eq!(check("single", &[]), Ok(()));
        assert_eq!(check("all", &["a", "b", "d"]), Ok(()));
        assert_eq!(check("tf", &["true"]), Ok(()));
        assert_eq!(
            check("ghost", &["a"]),
            Err(AnswerError::NotOnForm("ghost".into()))
        );
        assert_eq!(
            check("single", &["z"]),
            Err(AnswerError::UnknownChoice {
                question: "single".into(),
                choice: "z".into()
            })
        );
        assert_eq!(
            check("tf", &["a"]),
            Err(AnswerError::UnknownChoice {
                question: "tf".into(),
                choice: "a".into()
            })
        );
        assert_eq!(
            check("all", &["a", "a"]),
            Err(AnswerError::DuplicateChoice {
                question: "all".into(),
                choice: "a".into()
            })
        );
        assert_eq!(
            check("single", &["a", "b"]),
            Err(AnswerError::TooManyChoices {
                question: "single".into(),
                given: 2
            })
        );
        assert_eq!(
            check("tf", &["true", "false"]),
            Err(AnswerError::TooManyChoices {
                question: "tf".into(),
                given: 2
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn correct_answers_score_full_marks_and_none_score_zero(
            bank in crate::exams::form::tests::bank_strategy(),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let form = crate::exams::form::draw_form(&bank, &mut rng).unwrap();
            let key: HashMap<String, Vec<String>> = form
                .items
                .iter()
                .map(|item| {
                    let question = bank.question(&item.question_id).unwrap();
                    let right = question.choices.iter().filter(|c| c.correct).map(|c| c.id.clone()).collect();
                    (item.question_id.clone(), right)
                })
                .collect();
            for (question_id, choices) in &key {
                proptest::prop_assert_eq!(validate_answer(&bank, &form, question_id, choices), Ok(()));
            }
            let full = grade(&bank, &form, &key, 100).unwrap();
            proptest::prop_assert_eq!(full.score_basis_points, 10_000);
            proptest::prop_assert!(full.passed);
            proptest::prop_assert!(full.domains.iter().all(|d| d.correct == d.total && d.score_basis_points == 10_000));
            let empty = grade(&bank, &form, &HashMap::new(), 1).unwrap();
            proptest::prop_assert_eq!(empty.score_basis_points, 0);
            proptest::prop_assert_eq!(empty.items.len(), form.items.len());
        }
    }

    #[test]
    fn percent_display_helpers() {
        let cases = [
            (0, "0", "0.0"),
            (7250, "72.5", "72.5"),
            (6665, "66.7", "66.65"),
            (7142, "71.4", "71.42"),
            (7149, "71.5", "71.49"),
            (10_000, "100", "100.0"),
            (9_995, "100", "99.95"),
            (5, "0.1", "0.05"),
            (4, "0", "0.04"),
        ];
        for (bp, text, json) in cases {
            assert_eq!(format_percent(bp), text);
            assert_eq!(percent_json_number(bp).to_string(), json);
        }
    }
}
