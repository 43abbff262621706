//! Form assembly: which questions an attempt gets, in which order, with which choice order. The form is
//! recorded with the attempt, so what the candidate saw can always be shown again and graded exactly.

use std::collections::{HashMap, HashSet};

use hmac::{Hmac, Mac};
use rand::seq::{index, SliceRandom};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::markdown::{render_text, render_text_inline};
use super::model::{Bank, Question, QuestionKind};
use super::{AnswerError, FormError};

/// The questions of one attempt in the order shown; stored as JSON with the attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub items: Vec<FormItem>,
    /// This attempt's secret (hex), from which the choice handles the candidate sees are derived; never sent
    /// to the client. Forms recorded before handles existed have none: their choices keep the bank's ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormItem {
    pub question_id: String,
    /// The question's choice ids in the order shown.
    pub choice_order: Vec<String>,
}

/// A form and its handles: [`Form::question_id_of`] and [`Form::choice_ids_of`] by lookup
/// instead of an HMAC per item and choice.
#[derive(Debug)]
pub struct IndexedForm {
    pub form: Form,
    /// Question handle → position in `form.items`.
    questions: HashMap<String, usize>,
    /// Per item: choice handle → bank choice id.
    choices: Vec<HashMap<String, String>>,
}

impl IndexedForm {
    /// As [`Form::question_id_of`].
    pub fn question_id_of(&self, handle: &str) -> Result<&str, AnswerError> {
        self.questions
            .get(handle)
            .map(|&at| self.form.items[at].question_id.as_str())
            .ok_or_else(|| AnswerError::NotOnForm(handle.to_owned()))
    }

    /// As [`Form::choice_ids_of`].
    pub fn choice_ids_of(
        &self,
        question_id: &str,
        handles: &[String],
    ) -> Result<Vec<String>, AnswerError> {
        let Some(at) = self
            .form
            .items
            .iter()
            .position(|item| item.question_id == question_id)
        else {
            return Ok(handles.to_vec());
        };
        handles
            .iter()
            .map(|handle| {
                self.choices[at]
                    .get(handle)
                    .cloned()
                    .ok_or_else(|| AnswerError::UnknownChoice {
                        question: self.form.question_handle(question_id),
                        choice: handle.clone(),
                    })
            })
            .collect()
    }
}

/// A question as the candidate's client receives it. It has no field for correctness, feedback or
/// explanations, so answer keys cannot leak through it. Serializes as the API's `{id, type, stem, choices}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresentedQuestion {
    /// This attempt's handle of the question (see [`Form::question_handle`]).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionKind,
    /// Safe HTML.
    #[serde(rename = "stem")]
    pub stem_html: String,
    pub choices: Vec<PresentedChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PresentedChoice {
    /// This attempt's handle of the choice (see [`Form::choice_handle`]).
    pub id: String,
    /// Safe inline HTML.
    #[serde(rename = "text")]
    pub text_html: String,
}

/// Draws a form from the bank's blueprint: exactly `questions_per_form` distinct questions from each domain,
/// all questions shuffled together, each question's choices shuffled (`true_false` keeps True, False).
pub fn draw_form(bank: &Bank, rng: &mut impl Rng) -> Result<Form, FormError> {
    let mut items = Vec::new();
    for domain in &bank.domains {
        let candidates: Vec<&Question> = bank
            .questions
            .iter()
            .filter(|question| question.domain == domain.id)
            .collect();
        let required = domain.questions_per_form as usize;
        if candidates.len() < required {
            return Err(FormError::NotEnoughQuestions {
                domain: domain.id.clone(),
                available: candidates.len(),
                required,
            });
        }
        for picked in index::sample(rng, candidates.len(), required) {
            let question = candidates[picked];
            let mut choice_order: Vec<String> = question
                .choices
                .iter()
                .map(|choice| choice.id.clone())
                .collect();
            if question.kind != QuestionKind::TrueFalse {
                choice_order.shuffle(rng);
            }
            items.push(FormItem {
                question_id: question.id.clone(),
                choice_order,
            });
        }
    }
    items.shuffle(rng);
    let handle_key: [u8; 16] = rng.gen();
    Ok(Form {
        items,
        handle_key: Some(hex::encode(handle_key)),
    })
}

impl Form {
    /// Hex of the first 8 bytes of an HMAC of `parts` under this attempt's key; `None` for forms recorded
    /// before handles existed.
    fn handle_of(&self, parts: &[&[u8]]) -> Option<String> {
        let key = self.handle_key.as_ref()?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .expect("HMAC takes a key of any length");
        for part in parts {
            mac.update(part);
        }
        Some(hex::encode(&mac.finalize().into_bytes()[..8]))
    }

    /// The handle the candidate's client uses for a choice: an HMAC of the bank ids under this attempt's key,
    /// so it tells nothing about the bank (not the id, not the file order, not correctness) and differs
    /// between attempts.
    pub fn choice_handle(&self, question_id: &str, choice_id: &str) -> String {
        self.handle_of(&[question_id.as_bytes(), &[0], choice_id.as_bytes()])
            .unwrap_or_else(|| choice_id.to_owned())
    }

    /// The handle the candidate's client uses for a question (in JSON, form field names, element ids and
    /// autosave URLs), made like choice handles. The leading 0x01 byte keeps question and choice handles
    /// apart: ids never contain it.
    pub fn question_handle(&self, question_id: &str) -> String {
        self.handle_of(&[&[1], question_id.as_bytes()])
            .unwrap_or_else(|| question_id.to_owned())
    }

    /// The bank id of the question a client's handle names; anything else, the bank id included, is no
    /// question of this attempt.
    pub fn question_id_of(&self, handle: &str) -> Result<&str, AnswerError> {
        self.items
            .iter()
            .map(|item| item.question_id.as_str())
            .find(|id| self.question_handle(id) == handle)
            .ok_or_else(|| AnswerError::NotOnForm(handle.to_owned()))
    }

    /// Handles from the client mapped back to the bank's choice ids of that question. A value that is no
    /// handle of it is refused, bank ids included (they could be guessed). A question not on the form keeps
    /// its handles, so validation reports the question.
    pub fn choice_ids_of(
        &self,
        question_id: &str,
        handles: &[String],
    ) -> Result<Vec<String>, AnswerError> {
        let Some(item) = self.item(question_id) else {
            return Ok(handles.to_vec());
        };
        handles
            .iter()
            .map(|handle| {
                item.choice_order
                    .iter()
                    .find(|id| &self.choice_handle(question_id, id) == handle)
                    .cloned()
                    .ok_or_else(|| AnswerError::UnknownChoice {
                        question: self.question_handle(question_id),
                        choice: handle.clone(),
                    })
            })
            .collect()
    }

    /// The handles of bank choice ids of a question (saved answers shown back to the client).
    pub fn choice_handles_of(&self, question_id: &str, ids: &[String]) -> Vec<String> {
        ids.iter()
            .map(|id| self.choice_handle(question_id, id))
            .collect()
    }

    /// This form with its handles computed once (an attempt's many saves map handles back).
    pub fn indexed(self) -> IndexedForm {
        let questions = self
            .items
            .iter()
            .enumerate()
            .map(|(at, item)| (self.question_handle(&item.question_id), at))
            .collect();
        let choices = self
            .items
            .iter()
            .map(|item| {
                item.choice_order
                    .iter()
                    .map(|id| (self.choice_handle(&item.question_id, id), id.clone()))
                    .collect()
            })
            .collect();
        IndexedForm {
            form: self,
            questions,
            choices,
        }
    }

    pub fn item(&self, question_id: &str) -> Option<&FormItem> {
        self.items
            .iter()
            .find(|item| item.question_id == question_id)
    }

    /// Each item with its question, checking that the form fits this bank version.
    pub fn questions<'b>(
        &self,
        bank: &'b Bank,
    ) -> Result<Vec<(&FormItem, &'b Question)>, FormError> {
        self.items
            .iter()
            .map(|item| {
                let question = bank
                    .question(&item.question_id)
                    .ok_or_else(|| FormError::UnknownQuestion(item.question_id.clone()))?;
                check_choice_order(item, question)?;
                Ok((item, question))
            })
            .collect()
    }

    /// What the candidate sees, in the recorded order, rendered to safe HTML.
    pub fn present(&self, bank: &Bank) -> Result<Vec<PresentedQuestion>, FormError> {
        self.questions(bank)?
            .into_iter()
            .map(|(item, question)| {
                let choices =
                    item.choice_order
                        .iter()
                        .map(|choice_id| {
                            let choice = question.choice(choice_id).ok_or_else(|| {
                                FormError::UnknownChoice {
                                    question: question.id.clone(),
                                    choice: choice_id.clone(),
                                }
                            })?;
                            Ok(PresentedChoice {
                                id: self.choice_handle(&question.id, &choice.id),
                                text_html: render_text_inline(&choice.text, question.stem_format),
                            })
                        })
                        .collect::<Result<Vec<_>, FormError>>()?;
                Ok(PresentedQuestion {
                    id: self.question_handle(&question.id),
                    kind: question.kind,
                    stem_html: render_text(&question.stem, question.stem_format),
                    choices,
                })
            })
            .collect()
    }
}

/// The recorded order must be a permutation of the question's choices.
fn check_choice_order(item: &FormItem, question: &Question) -> Result<(), FormError> {
    let mut seen = HashSet::new();
    for choice_id in &item.choice_order {
        if question.choice(choice_id).is_none() || !seen.insert(choice_id.as_str()) {
            return Err(FormError::UnknownChoice {
                question: question.id.clone(),
                choice: choice_id.clone(),
            });
        }
    }
    if seen.len() != question.choices.len() {
        return Err(FormError::ChoicesChanged(question.id.clone()));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::exams::model::{Choice, Domain, ExamMeta, Price, RetakePolicy, TextFormat};

    /// One generated question: kind, choice count, and a mask choosing the correct choices.
    pub(crate) type QuestionSpec = (QuestionKind, usize, u8);

    /// A valid bank: domains of question specs, each with its `questions_per_form`.
    pub(crate) fn build_bank(domains: &[(Vec<QuestionSpec>, u32)]) -> Bank {
        let mut bank = Bank {
            exam: ExamMeta {
                slug: "generated".into(),
                title: "Generated".into(),
                version: "1".into(),
                description: None,
                duration_minutes: 60,
                pass_percent: 70,
                validity_months: 0,
                allow_review: true,
                renewal_exam: None,
                price: Price {
                    amount_minor: 0,
                    currency: Price::NO_CURRENCY.into(),
                },
                retake: RetakePolicy::default(),
            },
            domains: Vec::new(),
            questions: Vec::new(),
        };
        for (d, (questions, draw)) in domains.iter().enumerate() {
            let domain_id = format!("d{d}");
            bank.domains.push(Domain {
                id: domain_id.clone(),
                title: format!("Domain {d} <b>"),
                questions_per_form: *draw,
            });
            for (q, (kind, choice_count, mask)) in questions.iter().enumerate() {
                let choices = match kind {
                    QuestionKind::TrueFalse => Choice::true_false(mask & 1 == 1),
                    _ => (0..*choice_count)
                        .map(|c| Choice {
                            id: format!("c{c}"),
                            text: format!("Choice *{c}* of {d}-{q}"),
                            correct: match kind {
                                QuestionKind::Single => c == usize::from(*mask) % choice_count,
                                _ => mask & (1 << c) != 0 || c == 0,
                            },
                            feedback: Some("secret feedback".into()),
                        })
                        .collect(),
                };
                bank.questions.push(Question {
                    id: format!("q-{d}-{q}"),
                    domain: domain_id.clone(),
                    kind: *kind,
                    stem: format!("Question {d}-{q} with `code` and <i>html</i>"),
                    stem_format: [TextFormat::Markdown, TextFormat::Html, TextFormat::Plain][q % 3],
                    choices,
                    explanation: Some("secret explanation".into()),
                    references: vec![],
                    partial_credit: *kind == QuestionKind::Multiple && mask & 0x80 != 0,
                });
            }
        }
        bank
    }

    pub(crate) fn bank_strategy() -> impl Strategy<Value = Bank> {
        let question = (
            prop_oneof![
                Just(QuestionKind::Single),
                Just(QuestionKind::Multiple),
                Just(QuestionKind::TrueFalse)
            ],
            2usize..6,
            any::<u8>(),
        );
        let domain = prop::collection::vec(question, 1..7).prop_flat_map(|questions| {
            let count = questions.len() as u32;
            (Just(questions), 1..=count)
        });
        prop::collection::vec(domain, 1..5).prop_map(|domains| build_bank(&domains))
    }

    proptest! {
        #[test]
        fn drawn_forms_follow_the_blueprint_and_replay_exactly(bank in bank_strategy(), seed in any::<u64>()) {
            let mut rng = StdRng::seed_from_u64(seed);
            let form = draw_form(&bank, &mut rng).unwrap();

            let mut per_domain: HashMap<&str, u32> = HashMap::new();
            let mut seen = HashSet::new();
            for item in &form.items {
                let question = bank.question(&item.question_id).unwrap();
                *per_domain.entry(question.domain.as_str()).or_default() += 1;
                prop_assert!(seen.insert(item.question_id.clone()), "duplicate {}", item.question_id);
                let mut order = item.choice_order.clone();
                let mut ids: Vec<String> = question.choices.iter().map(|c| c.id.clone()).collect();
                if question.kind == QuestionKind::TrueFalse {
                    prop_assert_eq!(&order, &ids);
                }
                order.sort();
                ids.sort();
                prop_assert_eq!(order, ids);
            }
            for domain in &bank.domains {
                prop_assert_eq!(per_domain.get(domain.id.as_str()).copied().unwrap_or(0), domain.questions_per_form);
            }

            let shown = form.present(&bank).unwrap();
            let stored = serde_json::to_string(&form).unwrap();
            let restored: Form = serde_json::from_str(&stored).unwrap();
            prop_assert_eq!(&restored, &form);
            prop_assert_eq!(&restored.present(&bank).unwrap(), &shown);
            prop_assert_eq!(
                shown.iter().map(|q| q.id.clone()).collect::<Vec<_>>(),
                form.items.iter().map(|i| form.question_handle(&i.question_id)).collect::<Vec<_>>()
            );
            for item in &form.items {
                let handle = form.question_handle(&item.question_id);
                prop_assert_ne!(&handle, &item.question_id);
                prop_assert_eq!(form.question_id_of(&handle), Ok(item.question_id.as_str()));
                prop_assert!(form.question_id_of(&item.question_id).is_err());
            }
            let json = serde_json::to_string(&shown).unwrap();
            prop_assert!(!json.contains("correct") && !json.contains("secret"), "{}", json);
        }
    }

    #[test]
    fn presented_json_matches_the_api_shape() {
        let bank = build_bank(&[(vec![(QuestionKind::TrueFalse, 2, 1)], 1)]);
        let form = draw_form(&bank, &mut StdRng::seed_from_u64(7)).unwrap();
        let json = serde_json::to_value(form.present(&bank).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "id": form.question_handle("q-0-0"),
                "type": "true_false",
                "stem": "<p>Question 0-0 with <code>code</code> and &lt;i&gt;html&lt;/i&gt;</p>\n",
                "choices": [
                    {"id": form.choice_handle("q-0-0", "true"), "text": "True"},
                    {"id": form.choice_handle("q-0-0", "false"), "text": "False"}
                ]
            }])
        );
    }

    #[test]
    fn handles_map_back_refuse_bank_ids_and_old_forms_keep_bank_ids() {
        let bank = build_bank(&[(vec![(QuestionKind::Single, 4, 1)], 1)]);
        let form = draw_form(&bank, &mut StdRng::seed_from_u64(3)).unwrap();
        let item = &form.items[0];
        let question = item.question_id.as_str();
        let handles = form.choice_handles_of(question, &item.choice_order);
        assert_eq!(
            form.choice_ids_of(question, &handles),
            Ok(item.choice_order.clone())
        );
        for (handle, id) in handles.iter().zip(&item.choice_order) {
            assert_ne!(handle, id);
            assert_eq!(handle.len(), 16);
        }
        let guessed = vec![item.choice_order[0].clone()];
        assert!(matches!(
            form.choice_ids_of(question, &guessed),
            Err(AnswerError::UnknownChoice { .. })
        ));
        // Another attempt's form names the same choices differently.
        let other = draw_form(&bank, &mut StdRng::seed_from_u64(4)).unwrap();
        assert_ne!(
            other.choice_handles_of(question, &item.choice_order),
            handles
        );
        // A form recorded before handles existed keeps the bank's ids.
        let old = Form {
            handle_key: None,
            ..form.clone()
        };
        assert_eq!(
            old.choice_handles_of(question, &item.choice_order),
            item.choice_order
        );
        assert_eq!(
            old.choice_ids_of(question, &item.choice_order),
            Ok(item.choice_order.clone())
        );
        assert_eq!(old.question_handle(question), question);
        assert_eq!(old.question_id_of(question), Ok(question));
        // The indexed form answers exactly as the form does, errors included.
        for form in [form.clone(), old.clone()] {
            let indexed = form.clone().indexed();
            let question_handle = form.question_handle(question);
            for probe in [question_handle.as_str(), question, "nope"] {
                assert_eq!(indexed.question_id_of(probe), form.question_id_of(probe));
            }
            for probe in [
                form.choice_handles_of(question, &item.choice_order),
                item.choice_order.clone(),
                guessed.clone(),
                vec!["nope".to_string()],
            ] {
                assert_eq!(
                    indexed.choice_ids_of(question, &probe),
                    form.choice_ids_of(question, &probe)
                );
                assert_eq!(
                    indexed.choice_ids_of("not-on-form", &probe),
                    form.choice_ids_of("not-on-form", &probe)
                );
            }
        }
        // Question handles differ from choice handles and between attempts.
        assert!(!handles.contains(&form.question_handle(question)));
        assert_ne!(
            other.question_handle(question),
            form.question_handle(question)
        );
    }

    #[test]
    fn blueprint_larger_than_domain_is_an_error() {
        let mut bank = build_bank(&[(vec![(QuestionKind::Single, 3, 0)], 1)]);
        bank.domains[0].questions_per_form = 2;
        assert_eq!(
            draw_form(&bank, &mut StdRng::seed_from_u64(1)),
            Err(FormError::NotEnoughQuestions {
                domain: "d0".into(),
                available: 1,
                required: 2
            })
        );
    }

    #[test]
    fn form_from_another_bank_version_is_refused() {
        let bank = build_bank(&[(
            vec![(QuestionKind::Single, 3, 0), (QuestionKind::Multiple, 3, 3)],
            2,
        )]);
        let form = draw_form(&bank, &mut StdRng::seed_from_u64(3)).unwrap();

        let mut renamed = bank.clone();
        renamed.questions[0].id = "other".into();
        assert_eq!(
            form.present(&renamed),
            Err(FormError::UnknownQuestion("q-0-0".into()))
        );

        let mut fewer = bank.clone();
        fewer.questions[1].choices.pop();
        assert_eq!(
            form.present(&fewer),
            Err(FormError::UnknownChoice {
                question: "q-0-1".into(),
                choice: "c2".into()
            })
        );

        let mut more = bank.clone();
        more.questions[1].choices.push(Choice {
            id: "c9".into(),
            text: "new".into(),
            correct: false,
            feedback: None,
        });
        assert_eq!(
            form.present(&more),
            Err(FormError::ChoicesChanged("q-0-1".into()))
        );
    }

    #[test]
    fn draws_vary_with_the_seed() {
        let questions: Vec<_> = (0..10).map(|_| (QuestionKind::Single, 4, 0)).collect();
        let bank = build_bank(&[(questions, 5)]);
        let forms: HashSet<Vec<String>> = (0..20)
            .map(|seed| {
                let form = draw_form(&bank, &mut StdRng::seed_from_u64(seed)).unwrap();
                form.items
                    .iter()
                    .map(|i| format!("{}:{}", i.question_id, i.choice_order.join(",")))
                    .collect()
            })
            .collect();
        assert!(
            forms.len() > 15,
            "only {} distinct forms in 20 draws",
            forms.len()
        );
    }
}
