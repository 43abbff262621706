//! Classical item statistics for vendor staff: difficulty, discrimination, reliability. Forms are drawn at
//! random, so an attempt only saw some items; every per-item number uses only the attempts that saw the item.
//! f64 is fine here: these are descriptive statistics, never money or a pass decision.

use serde::{Deserialize, Serialize};

use super::grading::GradeResult;
use super::model::Bank;

/// Rows are graded attempts, columns are items; `None` = the item was not on that attempt's form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMatrix {
    pub items: Vec<String>,
    pub attempts: Vec<AttemptResponses>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptResponses {
    /// The attempt's official score, for the histogram and pass rate.
    pub score_basis_points: u32,
    pub passed: bool,
    /// Parallel to [`ResponseMatrix::items`]: `Some(true)` = full points on the item.
    pub responses: Vec<Option<bool>>,
}

impl ResponseMatrix {
    /// Columns in the bank's question order; an item counts as correct when it earned full points.
    pub fn from_grades(bank: &Bank, results: &[GradeResult]) -> Self {
        let items: Vec<String> = bank.questions.iter().map(|q| q.id.clone()).collect();
        let attempts = results
            .iter()
            .map(|result| AttemptResponses {
                score_basis_points: result.score_basis_points,
                passed: result.passed,
                responses: items
                    .iter()
                    .map(|id| {
                        result
                            .items
                            .iter()
                            .find(|item| &item.question_id == id)
                            .map(|item| item.correct)
                    })
                    .collect(),
            })
            .collect();
        ResponseMatrix { items, attempts }
    }

    fn response(&self, attempt: usize, item: usize) -> Option<bool> {
        self.attempts
            .get(attempt)
            .and_then(|row| row.responses.get(item).copied().flatten())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemFlag {
    /// p < 0.2.
    TooHard,
    /// p > 0.9.
    TooEasy,
    /// r < 0.2.
    LowDiscrimination,
    /// r < 0: stronger candidates do worse on it; check the key.
    LikelyMiskeyed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStatistics {
    pub question_id: String,
    /// Attempts that saw the item.
    pub responses: usize,
    /// Proportion correct; `None` when no attempt saw the item.
    pub p: Option<f64>,
    /// Corrected point-biserial: correlation of the item with the rest score (number correct on the
    /// attempt's other items); `None` when undefined (fewer than two responses or no variance).
    pub r_pb: Option<f64>,
    pub flags: Vec<ItemFlag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExamStatistics {
    pub attempts: usize,
    pub pass_rate: Option<f64>,
    /// KR-20 reliability; see [`item_statistics`] for forms that differ.
    pub kr20: Option<f64>,
    /// Standard error of measurement, in number-correct score points: SD × √(1 − KR-20).
    pub sem: Option<f64>,
    pub items: Vec<ItemStatistics>,
    /// Attempts per score band 0–10 %, 10–20 %, …, 90–100 % (100 % falls in the last band).
    pub histogram: [u32; 10],
}

/// Item and exam statistics of a response matrix.
///
/// KR-20 when attempts saw different forms: every form has the same length `k` (the blueprint), so KR-20 is
/// `k/(k−1) · (1 − mean over attempts of Σ p_i·q_i over the items it saw / var(total))`, with `p_i` from all
/// attempts that saw item i and population variances. When every attempt saw the same items this is exactly
/// the textbook KR-20. `None` when fewer than two attempts, forms of different lengths, `k < 2`, or zero
/// variance of totals. With random forms and few attempts the estimate can pass 1, which no reliability
/// can; it is reported as 1 then (the textbook coefficient never exceeds 1).
pub fn item_statistics(matrix: &ResponseMatrix) -> ExamStatistics {
    let attempt_count = matrix.attempts.len();
    let seen = |attempt: usize| {
        (0..matrix.items.len()).filter_map(move |item| matrix.response(attempt, item))
    };
    let totals: Vec<f64> = (0..attempt_count)
        .map(|attempt| seen(attempt).filter(|&correct| correct).count() as f64)
        .collect();

    let items: Vec<ItemStatistics> = matrix
        .items
        .iter()
        .enumerate()
        .map(|(item, question_id)| {
            let (scores, rests): (Vec<f64>, Vec<f64>) = (0..attempt_count)
                .filter_map(|attempt| {
                    let x = f64::from(u8::from(matrix.response(attempt, item)?));
                    Some((x, totals[attempt] - x))
                })
                .unzip();
            let p = mean(&scores);
            let r_pb = pearson(&scores, &rests);
            let mut flags = Vec::new();
            if let Some(p) = p {
                if p < 0.2 {
                    flags.push(ItemFlag::TooHard);
                }
                if p > 0.9 {
                    flags.push(ItemFlag::TooEasy);
                }
            }
            if let Some(r) = r_pb {
                if r < 0.2 {
                    flags.push(ItemFlag::LowDiscrimination);
                }
                if r < 0.0 {
                    flags.push(ItemFlag::LikelyMiskeyed);
                }
            }
            ItemStatistics {
                question_id: question_id.clone(),
                responses: scores.len(),
                p,
                r_pb,
                flags,
            }
        })
        .collect();

    let kr20 = kr20(matrix, &items, &totals);
    let sem = kr20.and_then(|reliability| {
        let spread = 1.0 - reliability;
        let variance = population_variance(&totals)?;
        (spread >= 0.0).then(|| variance.sqrt() * spread.sqrt())
    });

    let mut histogram = [0u32; 10];
    for attempt in &matrix.attempts {
        let band = (attempt.score_basis_points / 1000).min(9) as usize;
        histogram[band] += 1;
    }
    let pass_rate = (attempt_count > 0).then(|| {
        matrix
            .attempts
            .iter()
            .filter(|attempt| attempt.passed)
            .count() as f64
            / attempt_count as f64
    });

    ExamStatistics {
        attempts: attempt_count,
        pass_rate,
        kr20,
        sem,
        items,
        histogram,
    }
}

fn kr20(matrix: &ResponseMatrix, items: &[ItemStatistics], totals: &[f64]) -> Option<f64> {
    let attempt_count = matrix.attempts.len();
    if attempt_count < 2 {
        return None;
    }
    let mut form_length = None;
    let mut sum_pq = 0.0;
    for attempt in 0..attempt_count {
        let seen: Vec<usize> = (0..matrix.items.len())
            .filter(|&item| matrix.response(attempt, item).is_some())
            .collect();
        match form_length {
            None => form_length = Some(seen.len()),
            Some(length) if length != seen.len() => return None,
            Some(_) => {}
        }
        sum_pq += seen
            .iter()
            .filter_map(|&item| items[item].p)
            .map(|p| p * (1.0 - p))
            .sum::<f64>();
    }
    let k = form_length? as f64;
    let variance = population_variance(totals)?;
    if k < 2.0 || variance <= 0.0 {
        return None;
    }
    let mean_pq = sum_pq / attempt_count as f64;
    Some((k / (k - 1.0) * (1.0 - mean_pq / variance)).min(1.0))
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn population_variance(values: &[f64]) -> Option<f64> {
    let m = mean(values)?;
    Some(values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64)
}

/// Pearson correlation; `None` with fewer than two pairs or a constant variable.
fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() < 2 || xs.len() != ys.len() {
        return None;
    }
    let (mx, my) = (mean(xs)?, mean(ys)?);
    let covariance: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>().sqrt();
    let sy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum::<f64>().sqrt();
    (sx > 0.0 && sy > 0.0).then(|| covariance / (sx * sy))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::exams::form::{draw_form, tests::build_bank};
    use crate::exams::grading::grade;
    use crate::exams::model::QuestionKind;

    fn matrix(rows: &[&[Option<bool>]]) -> ResponseMatrix {
        let width = rows.first().map_or(0, |row| row.len());
        ResponseMatrix {
            items: (1..=width).map(|i| format!("i{i}")).collect(),
            attempts: rows
                .iter()
                .map(|row| {
                    let correct = row.iter().filter(|r| **r == Some(true)).count();
                    let seen = row.iter().filter(|r| r.is_some()).count().max(1);
                    let score = (correct * 10_000 / seen) as u32;
                    AttemptResponses {
                        score_basis_points: score,
                        passed: score >= 6000,
                        responses: row.to_vec(),
                    }
                })
                .collect(),
        }
    }

    fn complete(rows: &[[u8; 5]]) -> ResponseMatrix {
        let rows: Vec<Vec<Option<bool>>> = rows
            .iter()
            .map(|row| row.iter().map(|&x| Some(x == 1)).collect())
            .collect();
        let refs: Vec<&[Option<bool>]> = rows.iter().map(Vec::as_slice).collect();
        matrix(&refs)
    }

    /// 10 attempts × 5 items. By hand: totals 5,4,3,3,2,2,2,1,1,0 (mean 2.3, population variance 2.01);
    /// p = .7 .6 .4 .4 .2, Σpq = .21+.24+.24+.24+.16 = 1.09; KR-20 = 5/4 · (1 − 1.09/2.01) = 115/201.
    const FIXED: [[u8; 5]; 10] = [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [1, 1, 0, 1, 0],
        [1, 0, 1, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 1, 0, 0, 1],
        [1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0],
    ];

    /// Textbook point-biserial, independent of the Pearson code: (M1 − M0) / s · √(p·q), with M1 and M0 the
    /// mean rest scores of those who got the item right and wrong, and s the population SD of rest scores.
    fn textbook_point_biserial(rows: &[[u8; 5]], item: usize) -> f64 {
        let rest: Vec<f64> = rows
            .iter()
            .map(|r| f64::from(r.iter().sum::<u8>() - r[item]))
            .collect();
        let n = rows.len() as f64;
        let right: Vec<f64> = rows
            .iter()
            .zip(&rest)
            .filter(|(r, _)| r[item] == 1)
            .map(|(_, s)| *s)
            .collect();
        let wrong: Vec<f64> = rows
            .iter()
            .zip(&rest)
            .filter(|(r, _)| r[item] == 0)
            .map(|(_, s)| *s)
            .collect();
        let p = right.len() as f64 / n;
        let m1 = right.iter().sum::<f64>() / right.len() as f64;
        let m0 = wrong.iter().sum::<f64>() / wrong.len() as f64;
        let mean_rest = rest.iter().sum::<f64>() / n;
        let s = (rest.iter().map(|x| (x - mean_rest).powi(2)).sum::<f64>() / n).sqrt();
        (m1 - m0) / s * (p * (1.0 - p)).sqrt()
    }

    fn close(actual: Option<f64>, expected: f64) {
        let actual = actual.unwrap_or(f64::NAN);
        assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
    }

    #[test]
    fn fixed_matrix_matches_hand_computation() {
        let stats = item_statistics(&complete(&FIXED));
        assert_eq!(stats.attempts, 10);
        for (item, expected_p) in [0.7, 0.6, 0.4, 0.4, 0.2].into_iter().enumerate() {
            close(stats.items[item].p, expected_p);
            close(
                stats.items[item].r_pb,
                textbook_point_biserial(&FIXED, item),
            );
            assert_eq!(stats.items[item].responses, 10);
        }
        // Item 5 by hand: rest scores of the two who got it right are 4 and 1 (mean 2.5), of the others
        // 4,3,3,2,2,1,1,0 (mean 2); rest mean 2.1, variance 1.69 (SD 1.3); r = 0.5/1.3 · √.16 = 2/13.
        close(stats.items[4].r_pb, 2.0 / 13.0);
        close(stats.kr20, 115.0 / 201.0);
        close(stats.sem, (2.01f64 * (1.0 - 115.0 / 201.0)).sqrt());
        assert_eq!(stats.items[4].flags, vec![ItemFlag::LowDiscrimination]);
        assert_eq!(stats.items[1].flags, vec![]);
        close(stats.pass_rate, 0.4);
        // Scores 100, 80, 60, 60, 40, 40, 40, 20, 20, 0 %.
        assert_eq!(stats.histogram, [1, 0, 2, 0, 3, 0, 2, 0, 1, 1]);
    }

    #[test]
    fn negative_discrimination_flags_a_likely_miskey() {
        let mut rows = FIXED;
        // Item 5 now right only for weak candidates.
        for (row, value) in rows.iter_mut().zip([0, 0, 0, 0, 0, 0, 1, 0, 1, 1]) {
            row[4] = value;
        }
        let stats = item_statistics(&complete(&rows));
        let r = stats.items[4].r_pb.unwrap_or(f64::NAN);
        assert!(r < 0.0, "{r}");
        close(Some(r), textbook_point_biserial(&rows, 4));
        assert_eq!(
            stats.items[4].flags,
            vec![ItemFlag::LowDiscrimination, ItemFlag::LikelyMiskeyed]
        );
        // Σpq = 1.14, variance of totals 1.04: KR-20 = 5/4 · (1 − 1.14/1.04) = −25/208.
        close(stats.kr20, -25.0 / 208.0);
    }

    #[test]
    fn difficulty_flags() {
        let mut rows = [[1u8, 0, 1, 0, 1]; 10];
        rows[0] = [0, 1, 0, 0, 1];
        rows[1] = [1, 0, 0, 1, 0];
        let stats = item_statistics(&complete(&rows));
        close(stats.items[1].p, 0.1);
        assert!(stats.items[1].flags.contains(&ItemFlag::TooHard));
        close(stats.items[0].p, 0.9);
        assert!(!stats.items[0].flags.contains(&ItemFlag::TooEasy));
        let easy_rows = [
            [1, 1, 1, 1, 1],
            [1, 1, 0, 1, 1],
            [1, 0, 1, 1, 1],
            [1, 0, 0, 1, 1],
        ]
        .repeat(3);
        let easy = item_statistics(&complete(&easy_rows));
        close(easy.items[0].p, 1.0);
        assert_eq!(easy.items[0].r_pb, None);
        assert_eq!(easy.items[0].flags, vec![ItemFlag::TooEasy]);
    }

    #[test]
    fn items_are_computed_over_attempts_that_saw_them() {
        let (y, n, u) = (Some(true), Some(false), None);
        let stats = item_statistics(&matrix(&[&[y, y, u], &[y, u, n], &[n, u, y], &[u, n, y]]));
        // Item 1 seen by three attempts: right, right, wrong. Rest scores: 1, 0, 1.
        assert_eq!(stats.items[0].responses, 3);
        close(stats.items[0].p, 2.0 / 3.0);
        // x = (1,1,0), rest = (1,0,1): mx = 2/3, my = 2/3; cov = Σ(dx·dy) = (1/3)(1/3) + (1/3)(−2/3) + (−2/3)(1/3)
        // = −1/3; Σdx² = Σdy² = 2/3; r = −1/3 / (2/3) = −0.5.
        close(stats.items[0].r_pb, -0.5);
        // Every attempt saw 2 items. Totals 2, 1, 1, 1: variance 0.1875. p = 2/3, 1/2, 2/3 → pq = 2/9, 1/4, 2/9.
        // Per attempt Σpq: 2/9+1/4, 2/9+2/9, 2/9+2/9, 1/4+2/9 → mean = (17/36·2 + 16/36·2)/4 = 33/72.
        // KR-20 = 2 · (1 − (33/72)/0.1875) = 2 · (1 − 22/9) = −26/9.
        close(stats.kr20, -26.0 / 9.0);
        close(stats.sem, (0.1875f64 * (1.0 + 26.0 / 9.0)).sqrt());
    }

    #[test]
    fn kr20_of_random_forms_never_passes_one() {
        let (y, n, u) = (Some(true), Some(false), None);
        // Totals 2, 0, 1 (variance 2/3); p = 1/2, 0, 1 → Σpq per attempt 1/4, 1/4, 0 (mean 1/6).
        // Raw estimate 2 · (1 − (1/6)/(2/3)) = 1.5: more than any reliability can be.
        let stats = item_statistics(&matrix(&[&[y, u, y], &[n, n, u], &[u, n, y]]));
        close(stats.kr20, 1.0);
        close(stats.sem, 0.0);
    }

    #[test]
    fn edge_cases() {
        let empty = item_statistics(&ResponseMatrix {
            items: vec!["a".into()],
            attempts: vec![],
        });
        assert_eq!(empty.attempts, 0);
        assert_eq!(empty.pass_rate, None);
        assert_eq!(empty.kr20, None);
        assert_eq!(empty.sem, None);
        assert_eq!(empty.items[0].p, None);
        assert_eq!(empty.items[0].r_pb, None);
        assert!(empty.items[0].flags.is_empty());
        assert_eq!(empty.histogram, [0; 10]);

        let one = item_statistics(&complete(&[[1, 0, 1, 1, 0]]));
        close(one.items[0].p, 1.0);
        assert_eq!(one.items[0].r_pb, None);
        assert_eq!(one.kr20, None);
        assert_eq!(one.histogram[6], 1);

        let flat = item_statistics(&complete(&[[1, 1, 0, 0, 1]; 4]));
        assert_eq!(flat.kr20, None, "no variance of totals");
        assert!(flat.items.iter().all(|item| item.r_pb.is_none()));

        let (y, n, u) = (Some(true), Some(false), None);
        let uneven = item_statistics(&matrix(&[&[y, n, u], &[y, n, y], &[n, y, n]]));
        assert_eq!(uneven.kr20, None, "forms of different lengths");
        assert_eq!(uneven.items[2].responses, 2);
    }

    #[test]
    fn matrix_from_grades_uses_full_points_and_bank_order() {
        let bank = build_bank(&[(
            vec![
                (QuestionKind::Single, 3, 0),
                (QuestionKind::TrueFalse, 2, 1),
                (QuestionKind::Single, 2, 1),
            ],
            2,
        )]);
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(5);
        let form = draw_form(&bank, &mut rng).unwrap();
        let answers: HashMap<String, Vec<String>> = bank
            .questions
            .iter()
            .map(|q| {
                (
                    q.id.clone(),
                    vec![q.choices.iter().find(|c| c.correct).unwrap().id.clone()],
                )
            })
            .collect();
        let result = grade(&bank, &form, &answers, 70).unwrap();
        let matrix = ResponseMatrix::from_grades(&bank, &[result]);
        assert_eq!(matrix.items, ["q-0-0", "q-0-1", "q-0-2"]);
        let row = &matrix.attempts[0];
        assert_eq!(row.score_basis_points, 10_000);
        assert_eq!(
            row.responses.iter().filter(|r| **r == Some(true)).count(),
            2
        );
        assert_eq!(row.responses.iter().filter(|r| r.is_none()).count(), 1);
        for item in &form.items {
            let column = matrix
                .items
                .iter()
                .position(|id| id == &item.question_id)
                .unwrap();
            assert_eq!(row.responses[column], Some(true));
        }
    }
}
