//! What the vendor console lists: the vendor's exams, an exam's versions and its graded results.

use chrono::NaiveDateTime;

use crate::db::DbConn;
use crate::exams::store::{self, ExamRow};
use crate::exams::{AttemptStatus, ExamError, ExamVersionState};

/// One exam on the vendor's exam list.
#[derive(Debug, Clone)]
pub struct VendorExamSummary {
    pub exam: ExamRow,
    pub version: i32,
    pub version_label: String,
    /// The latest version's state; none when the exam has no version.
    pub version_state: Option<ExamVersionState>,
    pub graded: usize,
    pub passed: usize,
    pub open: usize,
}

pub fn vendor_exams(
    conn: &mut DbConn,
    vendor_id: &str,
) -> Result<Vec<VendorExamSummary>, ExamError> {
    let counts = store::attempt_counts_of_vendor(conn, vendor_id)?;
    let mut out = Vec::new();
    for exam in store::list_vendor_exams(conn, vendor_id)? {
        let latest = store::latest_version(conn, &exam.id)?;
        let mine = counts.iter().filter(|tally| tally.exam_id == exam.id);
        let (mut graded, mut passed, mut open) = (0, 0, 0);
        for tally in mine {
            if tally.status == AttemptStatus::Graded {
                graded += 1;
                passed += usize::from(tally.passed == Some(true));
            } else {
                open += 1;
            }
        }
        out.push(VendorExamSummary {
            version: latest.as_ref().map_or(0, |v| v.number),
            version_state: latest.as_ref().map(|v| v.state),
            version_label: latest.map(|v| v.label).unwrap_or_default(),
            exam,
            graded,
            passed,
            open,
        });
    }
    Ok(out)
}

pub fn versions(conn: &mut DbConn, exam: &ExamRow) -> Result<Vec<store::VersionInfo>, ExamError> {
    Ok(store::list_versions(conn, &exam.id)?)
}

/// One graded attempt on the vendor's results table.
#[derive(Debug, Clone)]
pub struct ExamResultRow {
    pub attempt_id: String,
    pub candidate: String,
    pub email: String,
    pub graded_at: Option<NaiveDateTime>,
    pub graded_by: Option<String>,
    pub score_bp: i32,
    pub passed: bool,
}

pub fn exam_results(
    conn: &mut DbConn,
    exam: &ExamRow,
    limit: i64,
) -> Result<Vec<ExamResultRow>, ExamError> {
    Ok(store::graded_attempts_of_exam(conn, &exam.id, limit)?
        .into_iter()
        .map(|(a, candidate, email)| ExamResultRow {
            attempt_id: a.id,
            candidate,
            email,
            graded_at: a.graded_at,
            graded_by: a.graded_by,
            score_bp: a.score_bp.unwrap_or(0),
            passed: a.passed.unwrap_or(false),
        })
        .collect())
}
