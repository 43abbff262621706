//! `/docs`: the repository's guides (`docs/*.md`), embedded at build time and rendered with the bank
//! text's Markdown renderer, so the product and the repository show one source; and the sample banks
//! (`docs/samples/`) to download and upload unchanged.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::{render, MaybeUser, PageContext, PageError};
use crate::exams::render_markdown;

/// One guide: its address under `/docs/`, its title in the index, and its Markdown.
struct Guide {
    slug: &'static str,
    title: &'static str,
    summary: &'static str,
    markdown: &'static str,
}

const GUIDES: &[Guide] = &[
    Guide {
        slug: "exam-banks",
        title: "The bank format (TOML and GIFT)",
        summary: "Every field of a bank file, the blueprint, versions, lint warnings, grading, Moodle GIFT and QTI.",
        markdown: include_str!("../../../docs/exam-banks.md"),
    },
    Guide {
        slug: "verify-api",
        title: "Verifying a credential",
        summary: "The verify page, `credo verify` and `POST /api/v1/verify`: what is checked and what the answer means.",
        markdown: include_str!("../../../docs/verify-api.md"),
    },
    Guide {
        slug: "events",
        title: "Sales events and webhooks",
        summary: "Binding customers to referrals and reporting paid invoices and refunds, by API or signed webhook.",
        markdown: include_str!("../../../docs/events.md"),
    },
    Guide {
        slug: "referrals",
        title: "The referral rules",
        summary: "Tiers, attribution, commissions, holds, refunds, clawbacks, payouts and disclosure.",
        markdown: include_str!("../../../docs/referrals.md"),
    },
];

/// A sample bank to download: (file name, content type, text).
const SAMPLES: &[(&str, &str, &str)] = &[
    (
        "sample-bank.toml",
        "application/toml; charset=utf-8",
        include_str!("../../../docs/samples/sample-bank.toml"),
    ),
    (
        "sample-bank.gift",
        "text/plain; charset=utf-8",
        include_str!("../../../docs/samples/sample-bank.gift"),
    ),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(docs_index)
        .service(docs_sample)
        .service(docs_guide);
}

struct GuideLink {
    href: String,
    title: &'static str,
    summary_html: String,
}

#[derive(Template)]
#[template(path = "docs/index.html")]
struct IndexPage {
    ctx: PageContext,
    guides: Vec<GuideLink>,
}

#[derive(Template)]
#[template(path = "docs/guide.html")]
struct GuidePage {
    ctx: PageContext,
    title: &'static str,
    html: String,
    samples: bool,
}

#[get("/docs")]
async fn docs_index(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    let guides = GUIDES
        .iter()
        .map(|guide| GuideLink {
            href: format!("/docs/{}", guide.slug),
            title: guide.title,
            summary_html: crate::exams::render_markdown_inline(guide.summary),
        })
        .collect();
    render(&IndexPage {
        ctx: PageContext::new(&req, user),
        guides,
    })
}

#[get("/docs/{guide}")]
async fn docs_guide(
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let guide = GUIDES
        .iter()
        .find(|guide| guide.slug == slug)
        .ok_or_else(|| PageError::NotFound("there is no such page in the docs".into()))?;
    Ok(render(&GuidePage {
        ctx: PageContext::new(&req, user),
        title: guide.title,
        html: guide_html(guide.markdown),
        samples: guide.slug == "exam-banks",
    }))
}

/// The guide's HTML, its tables in frames that scroll sideways on narrow screens.
fn guide_html(markdown: &str) -> String {
    render_markdown(markdown)
        .replace(
            "<table>",
            "<div class=\"table-wrap scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Table (scrolls sideways)\"><table>",
        )
        .replace("</table>", "</table></div>")
}

#[get("/docs/samples/{file}")]
async fn docs_sample(path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let file = path.into_inner();
    let (name, content_type, text) = SAMPLES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| PageError::NotFound("there is no such sample file".into()))?;
    Ok(crate::http::download(content_type, name, *text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exams::{lint_bank, parse_bank_located, parse_gift};

    #[test]
    fn the_sample_banks_import_and_lint_clean() {
        let (_, _, toml) = SAMPLES[0];
        let (bank, lines) = parse_bank_located("sample-bank.toml", toml).expect("the TOML sample");
        assert_eq!(lint_bank("sample-bank.toml", &bank, &lines), vec![]);
        let (_, _, gift) = SAMPLES[1];
        let import = parse_gift("sample-bank.gift", gift).expect("the GIFT sample");
        assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    }

    #[test]
    fn every_guide_renders_with_one_heading_and_framed_tables() {
        for guide in GUIDES {
            let html = guide_html(guide.markdown);
            assert_eq!(html.matches("<h1>").count(), 1, "{}", guide.slug);
            assert_eq!(
                html.matches("<table>").count(),
                html.matches("<div class=\"table-wrap scroll\"").count(),
                "{}",
                guide.slug
            );
        }
    }
}
