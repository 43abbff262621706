//! Vendor console: the referral funnel.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::dashboard::bar;
use super::{api_error, vendor_program_required};
use crate::accounts::Vendor;
use crate::app::AppState;
use crate::charts::funnel_chart;
use crate::http::pages::{render, PageContext, PageError, PageUser};
use crate::money::format_amount;
use crate::referrals::service::{self, FunnelView};

#[derive(Template)]
#[template(path = "referrals/vendor_funnel.html")]
struct FunnelPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    referral_chart: String,
    practitioner_chart: String,
    funnel: FunnelView,
    earned: Vec<String>,
}

#[get("/vendor/{vendor}/program/funnel")]
pub(super) async fn vendor_funnel(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let funnel = state
        .db(move |conn| service::funnel(conn, &program))
        .await
        .map_err(api_error)?;
    let referral_chart = funnel_chart(
        "Referrals: clicks to commissions",
        &[
            bar("Clicks (people)", funnel.clicks),
            bar("Customers", funnel.customers),
            bar("Invoices", funnel.invoices),
            bar("Commissions", funnel.commissions),
        ],
        420,
    );
    let p = &funnel.practitioners;
    let practitioner_chart = funnel_chart(
        "Practitioners: registered to earning",
        &[
            bar("Registered", p.registered),
            bar("Attempted an exam", p.attempted),
            bar("Certified", p.certified),
            bar("Enrolled", p.enrolled),
            bar("Earning", p.earning),
        ],
        420,
    );
    let earned = funnel
        .advocates
        .iter()
        .map(|a| format_amount(a.earned_minor, &funnel.currency))
        .collect();
    Ok(render(&FunnelPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "funnel",
        referral_chart,
        practitioner_chart,
        funnel,
        earned,
    }))
}
