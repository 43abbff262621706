//! A bank as a QTI 3.0 package: `imsmanifest.xml`, `test.xml` (one section per domain, `qti-selection` =
//! the blueprint, `qti-time-limits` = the duration) and `items/<id>.xml` (one choice item per question).
//! Texts are rendered to HTML for other tools and carry their Credo source, so the package reads back to the
//! same bank.

use std::io::{Cursor, Write};

use super::v2::{FORMAT_ATTR, REFERENCES_FEEDBACK, SOURCE_ATTR};
use super::xml::escape;
use crate::exams::markdown::{render_text, render_text_inline};
use crate::exams::model::{Bank, Question, QuestionKind, TextFormat};

const NS: &str = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0";
const SCHEMA: &str = "https://purl.imsglobal.org/spec/qti/v3p0/schema/xsd/imsqti_asiv3p0_v1p0.xsd";
const CP_NS: &str = "http://www.imsglobal.org/xsd/qti/qtiv3p0/imscp_v1p1";
const RP_MATCH: &str = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/match_correct";
const RP_MAP: &str = "https://purl.imsglobal.org/spec/qti/v3p0/rptemplates/map_response";

/// The zip package of `bank`.
pub fn export_package(bank: &Bank) -> std::io::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("imsmanifest.xml", options)?;
    zip.write_all(manifest(bank).as_bytes())?;
    zip.start_file("test.xml", options)?;
    zip.write_all(test(bank).as_bytes())?;
    for question in &bank.questions {
        zip.start_file(item_path(question), options)?;
        zip.write_all(item(question).as_bytes())?;
    }
    Ok(zip.finish()?.into_inner())
}

fn item_path(question: &Question) -> String {
    format!("items/{}.xml", question.id)
}

fn manifest(bank: &Bank) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest xmlns=\"{CP_NS}\" identifier=\"{}\">\n  <metadata>\n    <schema>QTI Package</schema>\n    <schemaversion>3.0.0</schemaversion>\n  </metadata>\n  <organizations/>\n  <resources>\n    <resource identifier=\"test\" type=\"imsqti_test_xmlv3p0\" href=\"test.xml\">\n      <file href=\"test.xml\"/>\n",
        escape(&format!("{}-{}", bank.exam.slug, bank.exam.version))
    );
    for question in &bank.questions {
        out.push_str(&format!(
            "      <dependency identifierref=\"item-{}\"/>\n",
            escape(&question.id)
        ));
    }
    out.push_str("    </resource>\n");
    for question in &bank.questions {
        let path = escape(&item_path(question));
        out.push_str(&format!(
            "    <resource identifier=\"item-{}\" type=\"imsqti_item_xmlv3p0\" href=\"{path}\">\n      <file href=\"{path}\"/>\n    </resource>\n",
            escape(&question.id)
        ));
    }
    out.push_str("  </resources>\n</manifest>\n");
    out
}

fn test(bank: &Bank) -> String {
    let exam = &bank.exam;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<qti-assessment-test xmlns=\"{NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{NS} {SCHEMA}\" identifier=\"{}\" title=\"{}\">\n  <qti-outcome-declaration identifier=\"SCORE\" cardinality=\"single\" base-type=\"float\"/>\n  <qti-time-limits max-time=\"{}\"/>\n  <qti-test-part identifier=\"part-1\" navigation-mode=\"nonlinear\" submission-mode=\"simultaneous\">\n",
        escape(&exam.slug),
        escape(&exam.title),
        u64::from(exam.duration_minutes) * 60
    );
    for domain in &bank.domains {
        out.push_str(&format!(
            "    <qti-assessment-section identifier=\"{}\" title=\"{}\" visible=\"true\">\n      <qti-selection select=\"{}\"/>\n      <qti-ordering shuffle=\"true\"/>\n",
            escape(&domain.id),
            escape(&domain.title),
            domain.questions_per_form
        ));
        for question in bank.questions.iter().filter(|q| q.domain == domain.id) {
            out.push_str(&format!(
                "      <qti-assessment-item-ref identifier=\"{}\" href=\"{}\"/>\n",
                escape(&question.id),
                escape(&item_path(question))
            ));
        }
        out.push_str("    </qti-assessment-section>\n");
    }
    out.push_str("  </qti-test-part>\n  <qti-outcome-processing>\n    <qti-set-outcome-value identifier=\"SCORE\">\n      <qti-sum>\n        <qti-test-variables variable-identifier=\"SCORE\"/>\n      </qti-sum>\n    </qti-set-outcome-value>\n  </qti-outcome-processing>\n</qti-assessment-test>\n");
    out
}

fn format_name(format: TextFormat) -> &'static str {
    match format {
        TextFormat::Markdown => "markdown",
        TextFormat::Html => "html",
        TextFormat::Plain => "plain",
    }
}

/// `<tag data-credo-source="…">rendered</tag>`: the rendered HTML when it is well-formed XML, else the text.
fn carried(tag: &str, source: &str, format: TextFormat, inline: bool, extra: &str) -> String {
    let rendered = if inline {
        render_text_inline(source, format)
    } else {
        render_text(source, format)
    };
    let wrapped = format!("<x>{rendered}</x>");
    let content = if roxmltree::Document::parse(&wrapped).is_ok() {
        rendered.trim().to_owned()
    } else {
        escape(source)
    };
    format!(
        "<{tag}{extra} {SOURCE_ATTR}=\"{}\">{content}</{tag}>",
        escape(source)
    )
}

fn item(question: &Question) -> String {
    let format = question.stem_format;
    let correct: Vec<&str> = question
        .choices
        .iter()
        .filter(|c| c.correct)
        .map(|c| c.id.as_str())
        .collect();
    let multiple = question.kind == QuestionKind::Multiple;
    // A mapping scores partial credit (`multiple`) or accepts several right answers (`single`).
    let mapped = (multiple && question.partial_credit) || (!multiple && correct.len() > 1);
    let has_feedback = question.choices.iter().any(|c| c.feedback.is_some())
        || question.explanation.is_some()
        || !question.references.is_empty();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<qti-assessment-item xmlns=\"{NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{NS} {SCHEMA}\" identifier=\"{}\" title=\"{}\" adaptive=\"false\" time-dependent=\"false\">\n  <qti-response-declaration identifier=\"RESPONSE\" cardinality=\"{}\" base-type=\"identifier\">\n    <qti-correct-response>\n",
        escape(&question.id),
        escape(&question.id),
        if multiple { "multiple" } else { "single" }
    );
    let listed = if multiple {
        &correct[..]
    } else {
        &correct[..correct.len().min(1)]
    };
    for id in listed {
        out.push_str(&format!("      <qti-value>{}</qti-value>\n", escape(id)));
    }
    out.push_str("    </qti-correct-response>\n");
    if mapped {
        out.push_str("    <qti-mapping lower-bound=\"0\" upper-bound=\"1\" default-value=\"0\">\n");
        let right = i64::try_from(correct.len()).unwrap_or(1).max(1);
        for choice in &question.choices {
            let value = match (choice.correct, multiple) {
                (true, true) => format!("{}", 1.0 / right as f64),
                (false, true) => format!("{}", -1.0 / right as f64),
                (true, false) => "1".to_owned(),
                (false, false) => "0".to_owned(),
            };
            out.push_str(&format!(
                "      <qti-map-entry map-key=\"{}\" mapped-value=\"{value}\"/>\n",
                escape(&choice.id)
            ));
        }
        out.push_str("    </qti-mapping>\n");
    }
    out.push_str("  </qti-response-declaration>\n  <qti-outcome-declaration identifier=\"SCORE\" cardinality=\"single\" base-type=\"float\"/>\n");
    if has_feedback {
        out.push_str("  <qti-outcome-declaration identifier=\"FEEDBACK\" cardinality=\"multiple\" base-type=\"identifier\"/>\n");
    }
    out.push_str("  <qti-item-body>\n    ");
    out.push_str(&carried(
        "div",
        &question.stem,
        format,
        false,
        &format!(" {FORMAT_ATTR}=\"{}\"", format_name(format)),
    ));
    out.push_str(&format!(
        "\n    <qti-choice-interaction response-identifier=\"RESPONSE\" shuffle=\"{}\" max-choices=\"{}\">\n",
        question.kind != QuestionKind::TrueFalse,
        if multiple { 0 } else { 1 }
    ));
    for choice in &question.choices {
        out.push_str(&format!(
            "      <qti-simple-choice identifier=\"{}\">{}",
            escape(&choice.id),
            carried("span", &choice.text, format, true, "")
        ));
        if let Some(feedback) = &choice.feedback {
            out.push_str(&format!(
                "<qti-feedback-inline outcome-identifier=\"FEEDBACK\" identifier=\"{}\" show-hide=\"show\">{}</qti-feedback-inline>",
                escape(&choice.id),
                carried("span", feedback, format, true, "")
            ));
        }
        out.push_str("</qti-simple-choice>\n");
    }
    out.push_str("    </qti-choice-interaction>\n  </qti-item-body>\n");
    out.push_str(&format!(
        "  <qti-response-processing template=\"{}\"/>\n",
        if mapped { RP_MAP } else { RP_MATCH }
    ));
    if let Some(explanation) = &question.explanation {
        out.push_str(&format!(
            "  <qti-modal-feedback outcome-identifier=\"FEEDBACK\" identifier=\"explanation\" show-hide=\"show\"><qti-content-body>{}</qti-content-body></qti-modal-feedback>\n",
            carried("div", explanation, format, false, "")
        ));
    }
    if !question.references.is_empty() {
        out.push_str(&format!("  <qti-modal-feedback outcome-identifier=\"FEEDBACK\" identifier=\"{REFERENCES_FEEDBACK}\" show-hide=\"show\"><qti-content-body><ul>"));
        for reference in &question.references {
            let href = escape(reference);
            out.push_str(&format!("<li><a href=\"{href}\">{href}</a></li>"));
        }
        out.push_str("</ul></qti-content-body></qti-modal-feedback>\n");
    }
    out.push_str("</qti-assessment-item>\n");
    out
}
