//! The vendor console's item statistics page.

use std::collections::BTreeMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::page_error;
use crate::accounts::{Vendor, VendorRole};
use crate::app::AppState;
use crate::charts::{bar_chart, Bar, ChartOptions};
use crate::exams::service::{self, StatisticsReport};
use crate::exams::store::ExamRow;
use crate::exams::ExamError;
use crate::http::extract::whole_number;
use crate::http::pages::{render, vendor_with_role, PageContext, PageError, PageUser};

struct ItemRow {
    question_id: String,
    domain: String,
    responses: usize,
    p: String,
    r_pb: String,
    flags: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "exams/vendor_statistics.html")]
struct StatisticsPage {
    ctx: PageContext,
    vendor: Vendor,
    exam: ExamRow,
    report: StatisticsReport,
    pass_rate: String,
    kr20: String,
    sem: String,
    chart: String,
    items: Vec<ItemRow>,
    versions: Vec<i32>,
}

fn decimal(value: Option<f64>, places: usize) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| format!("{v:.places$}"))
        .unwrap_or_else(|| "—".into())
}

/// The histogram of a report as an accessible SVG bar chart.
pub fn histogram_chart(report: &StatisticsReport) -> String {
    let bars: Vec<Bar> = report
        .histogram
        .iter()
        .enumerate()
        .map(|(band, count)| Bar {
            label: format!("{}–{}", band * 10, band * 10 + 10),
            value: u64::from(*count),
        })
        .collect();
    bar_chart(
        "Attempts by score (%)",
        &bars,
        ChartOptions {
            // Narrow enough that its labels stay readable when scaled down to a phone's width.
            width: 480,
            height: 260,
            horizontal: false,
            value_suffix: None,
        },
    )
}

#[get("/vendor/{vendor}/exams/{exam}/statistics")]
pub(super) async fn vendor_statistics_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam_slug) = path.into_inner();
    let query: BTreeMap<String, String> =
        serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let version = whole_number("version", query.get("version").map(String::as_str))?;
    let vendor = vendor_with_role(&state, &user, vendor, VendorRole::Examiner).await?;
    let vendor_id = vendor.id.clone();
    let min_attempts = state.config.stats_min_attempts;
    let (exam, report, versions) = state
        .db(move |conn| {
            let exam = service::vendor_exam(conn, &vendor_id, &exam_slug)?;
            let report = service::statistics(conn, &exam, version, min_attempts)?;
            let versions = service::versions(conn, &exam)?;
            Ok::<_, ExamError>((exam, report, versions))
        })
        .await
        .map_err(page_error)?;
    let flag = |f: &crate::exams::ItemFlag| match f {
        crate::exams::ItemFlag::TooHard => ("warn", "too hard (p < 0.2)"),
        crate::exams::ItemFlag::TooEasy => ("warn", "too easy (p > 0.9)"),
        crate::exams::ItemFlag::LowDiscrimination => ("warn", "low discrimination (r < 0.2)"),
        crate::exams::ItemFlag::LikelyMiskeyed => ("bad", "likely miskeyed (r < 0)"),
    };
    let items = report
        .items
        .iter()
        .map(|item| ItemRow {
            question_id: item.question_id.clone(),
            domain: item.domain.clone(),
            responses: item.responses,
            p: decimal(item.p, 2),
            r_pb: decimal(item.r_pb, 2),
            flags: item.flags.iter().map(flag).collect(),
        })
        .collect();
    Ok(render(&StatisticsPage {
        ctx: PageContext::new(&req, Some(user)),
        pass_rate: report
            .pass_rate
            .map(|r| format!("{:.0} %", r * 100.0))
            .unwrap_or_else(|| "—".into()),
        kr20: decimal(report.kr20, 2),
        sem: decimal(report.sem, 2),
        chart: histogram_chart(&report),
        items,
        versions: versions.iter().map(|v| v.number).collect(),
        vendor,
        exam,
        report,
    }))
}
