//! IMS/1EdTech QTI import and export. Reads QTI 3.0 and 2.1/2.2 (a zip package with `imsmanifest.xml`, or
//! one item or test XML file) and QTI 1.2 `questestinterop` (Canvas Classic Quizzes exports): choice items
//! (`choiceInteraction`, single and multiple cardinality, `correctResponse`, `mapping` for partial credit),
//! true/false as a two-choice item, `assessmentSection`s as domains. Every other item is listed as a warning
//! with its file, line and reason; wrong namespaces and unreadable XML are errors. Writes a bank as a QTI 3.0
//! package (`export`) that reads back to the same bank. Rules are in docs/exam-banks.md ("QTI").

mod export;
mod v1;
mod v2;
mod xml;

use std::collections::HashSet;
use std::io::{Cursor, Read};

pub use export::export_package;

use super::model::{is_valid_id, Domain, Question};
use super::{BankError, BankErrors, ImportedQuestions, GENERAL_DOMAIN};

/// Whether `bytes` look like QTI: a zip archive, or XML.
pub fn looks_like_qti(bytes: &[u8]) -> bool {
    is_zip(bytes) || {
        let text = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]);
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('<')
    }
}

fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// A zip entry may unpack to at most this much, a whole package to `MAX_PACKAGE_BYTES` (a bank package is
/// far smaller; this stops zip bombs).
const MAX_ENTRY_BYTES: u64 = 16 * 1024 * 1024;
const MAX_PACKAGE_BYTES: usize = 64 * 1024 * 1024;

/// Reads a QTI upload: a zip package, or one XML file (an item, a test without item files, or a QTI 1.2
/// `questestinterop`). `Err` lists every error; skipped items are `warnings`.
pub fn parse_qti(file_name: &str, bytes: &[u8]) -> Result<ImportedQuestions, BankErrors> {
    let mut reader = Reader::new(file_name);
    if is_zip(bytes) {
        reader.package(bytes);
    } else {
        match std::str::from_utf8(bytes) {
            Ok(text) => reader.single_file(file_name, text),
            Err(_) => reader.error(
                file_name,
                1,
                "the file is neither a zip package nor UTF-8 XML; upload the QTI package (.zip) or an item/test XML file",
            ),
        }
    }
    reader.finish()
}

/// Where questions are put while reading.
struct Reader {
    file: String,
    questions: Vec<Question>,
    /// (source file, question index) to order questions by the manifest.
    sources: Vec<String>,
    domains: Vec<Domain>,
    warnings: Vec<BankError>,
    errors: Vec<BankError>,
    used_ids: HashSet<String>,
    title: Option<String>,
    duration_minutes: Option<u32>,
    blueprint_in_file: bool,
}

/// What kind of QTI document an XML root is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Item,
    Test,
    Manifest,
    V1,
}

/// QTI 2.x / 3.0 namespaces.
const QTI2_NAMESPACES: [&str; 5] = [
    "http://www.imsglobal.org/xsd/imsqti_v2p0",
    "http://www.imsglobal.org/xsd/imsqti_v2p1",
    "http://www.imsglobal.org/xsd/imsqti_v2p2",
    "http://www.imsglobal.org/xsd/imsqtiasi_v3p0",
    "http://www.imsglobal.org/xsd/qti/imsqtiasi_v3p0",
];
const QTI1_NAMESPACE: &str = "http://www.imsglobal.org/xsd/ims_qtiasiv1p2";

impl Reader {
    fn new(file: &str) -> Self {
        Reader {
            file: file.to_owned(),
            questions: Vec::new(),
            sources: Vec::new(),
            domains: Vec::new(),
            warnings: Vec::new(),
            errors: Vec::new(),
            used_ids: HashSet::new(),
            title: None,
            duration_minutes: None,
            blueprint_in_file: false,
        }
    }

    /// `file` inside a package is named `package.zip/path`.
    fn located(&self, file: &str) -> String {
        if file == self.file {
            file.to_owned()
        } else {
            format!("{}/{file}", self.file)
        }
    }

    fn problem(&self, file: &str, line: usize, id: Option<&str>, message: String) -> BankError {
        BankError {
            file: self.located(file),
            line: line.max(1),
            question_id: id.map(str::to_owned),
            message,
        }
    }

    fn error(&mut self, file: &str, line: usize, message: impl Into<String>) {
        let error = self.problem(file, line, None, message.into());
        self.errors.push(error);
    }

    fn warn(&mut self, file: &str, line: usize, id: Option<&str>, message: impl Into<String>) {
        let warning = self.problem(file, line, id, message.into());
        self.warnings.push(warning);
    }

    /// Parses XML and classifies its root, or records the error (with its line) and returns `None`.
    fn document<'i>(
        &mut self,
        file: &str,
        text: &'i str,
    ) -> Option<(roxmltree::Document<'i>, Root)> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        };
        let doc = match roxmltree::Document::parse_with_options(text, options) {
            Ok(doc) => doc,
            Err(e) => {
                let line = e.pos().row as usize;
                self.error(file, line, format!("not well-formed XML: {e}"));
                return None;
            }
        };
        let root = doc.root_element();
        let namespace = root.tag_name().namespace();
        let local = xml::name(root);
        let kind = match local.as_str() {
            "assessmentItem" => Root::Item,
            "assessmentTest" => Root::Test,
            "manifest" => Root::Manifest,
            "questestinterop" => Root::V1,
            other => {
                self.error(file, xml::line(root), format!("the root element `{other}` is not QTI; expected `assessmentItem` or `assessmentTest` (QTI 2.x/3.0), `questestinterop` (QTI 1.2) or an `imsmanifest.xml` package"));
                return None;
            }
        };
        let namespace_ok = match kind {
            Root::Item | Root::Test => namespace.is_some_and(|ns| QTI2_NAMESPACES.contains(&ns)),
            Root::V1 => namespace.is_none_or(|ns| ns == QTI1_NAMESPACE),
            Root::Manifest => true,
        };
        if !namespace_ok {
            let found =
                namespace.map_or("no namespace".to_owned(), |ns| format!("namespace `{ns}`"));
            let expected = if kind == Root::V1 {
                format!("`{QTI1_NAMESPACE}` or none")
            } else {
                "`http://www.imsglobal.org/xsd/imsqti_v2p1` (QTI 2.1), `…/imsqti_v2p2` (2.2) or `http://www.imsglobal.org/xsd/imsqtiasi_v3p0` (3.0)".to_owned()
            };
            self.error(
                file,
                xml::line(root),
                format!("`{local}` is in {found}; QTI expects {expected}"),
            );
            return None;
        }
        Some((doc, kind))
    }

    fn single_file(&mut self, file: &str, text: &str) {
        let Some((doc, kind)) = self.document(file, text) else {
            return;
        };
        match kind {
            Root::Item => {
                v2::item(self, file, &doc, GENERAL_DOMAIN);
            }
            Root::V1 => v1::questestinterop(self, file, &doc),
            Root::Test => {
                let refs: Vec<_> = xml::descendants(doc.root_element(), "assessmentItemRef")
                    .filter_map(|r| xml::attr(r, "href"))
                    .take(3)
                    .collect();
                self.error(
                    file,
                    xml::line(doc.root_element()),
                    format!("this test refers to its items in other files ({}…); upload the whole package as a zip", refs.join(", ")),
                );
            }
            Root::Manifest => self.error(
                file,
                1,
                "this is a package manifest; upload the whole package (the zip with imsmanifest.xml and its files)",
            ),
        }
    }

    fn package(&mut self, bytes: &[u8]) {
        let file = self.file.clone();
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(archive) => archive,
            Err(e) => {
                self.error(&file, 1, format!("the zip package cannot be read: {e}"));
                return;
            }
        };
        let mut files = Package::default();
        for index in 0..archive.len() {
            let Ok(entry) = archive.by_index(index) else {
                continue;
            };
            if entry.is_dir() {
                continue;
            }
            let name = entry.name().to_owned();
            let mut content = Vec::new();
            if entry
                .take(MAX_ENTRY_BYTES + 1)
                .read_to_end(&mut content)
                .is_err()
            {
                self.error(
                    &file,
                    1,
                    format!("`{name}` in the package cannot be unpacked"),
                );
                continue;
            }
            if content.len() as u64 > MAX_ENTRY_BYTES {
                self.error(
                    &file,
                    1,
                    format!("`{name}` in the package unpacks to more than 16 MiB"),
                );
                continue;
            }
            files.unpacked += content.len();
            if files.unpacked > MAX_PACKAGE_BYTES {
                self.error(&file, 1, "the package unpacks to more than 64 MiB");
                return;
            }
            files.entries.push((name, content));
        }
        let manifest = files.text("imsmanifest.xml").map(str::to_owned);
        let has_manifest = manifest.is_some();
        let (tests, items, v1_files) = match manifest {
            Some(text) => match self.document("imsmanifest.xml", &text) {
                Some((doc, Root::Manifest)) => manifest_resources(&doc),
                Some(_) => {
                    self.error(
                        "imsmanifest.xml",
                        1,
                        "imsmanifest.xml is not a content package manifest (root `manifest`)",
                    );
                    return;
                }
                None => return,
            },
            // No manifest: every XML file of the package, by its root element.
            None => self.classify_files(&files),
        };
        if !tests.is_empty() {
            for test in &tests {
                match files.text(test) {
                    Some(text) => {
                        let text = text.to_owned();
                        match self.document(test, &text) {
                            Some((doc, Root::Test)) => v2::test(self, test, &doc, &files),
                            Some(_) => self.error(test, 1, "listed as a test in the manifest but its root is not `assessmentTest`"),
                            None => {}
                        }
                    }
                    None => self.error(
                        "imsmanifest.xml",
                        1,
                        format!("the manifest lists `{test}` but the package has no such file"),
                    ),
                }
            }
            if has_manifest {
                self.order_by(&items);
            }
        } else {
            for item in &items {
                match files.text(item) {
                    Some(text) => {
                        let text = text.to_owned();
                        if let Some((doc, kind)) = self.document(item, &text) {
                            match kind {
                                Root::Item => v2::item(self, item, &doc, GENERAL_DOMAIN),
                                Root::V1 => v1::questestinterop(self, item, &doc),
                                _ => self.warn(item, 1, None, "skipped: not an item file"),
                            }
                        }
                    }
                    None => self.error(
                        "imsmanifest.xml",
                        1,
                        format!("the manifest lists `{item}` but the package has no such file"),
                    ),
                }
            }
        }
        for v1_file in &v1_files {
            if let Some(text) = files.text(v1_file).map(str::to_owned) {
                if let Some((doc, Root::V1)) = self.document(v1_file, &text) {
                    v1::questestinterop(self, v1_file, &doc);
                }
            }
        }
        if tests.is_empty() && items.is_empty() && v1_files.is_empty() && self.errors.is_empty() {
            self.error(&file, 1, "the package has no QTI test or item (no `imsqti_…` resource in imsmanifest.xml, no QTI XML file)");
        }
    }

    /// (tests, items, QTI 1.2 files) among the package's XML files when there is no manifest.
    fn classify_files(&mut self, files: &Package) -> (Vec<String>, Vec<String>, Vec<String>) {
        let mut sorted: Vec<&String> = files
            .entries
            .iter()
            .map(|(name, _)| name)
            .filter(|name| name.to_ascii_lowercase().ends_with(".xml"))
            .collect();
        sorted.sort();
        let (mut tests, mut items, mut v1_files) = (Vec::new(), Vec::new(), Vec::new());
        for name in sorted {
            let Some(text) = files.text(name) else {
                continue;
            };
            let Ok(doc) = roxmltree::Document::parse_with_options(
                text.strip_prefix('\u{feff}').unwrap_or(text),
                roxmltree::ParsingOptions {
                    allow_dtd: true,
                    ..Default::default()
                },
            ) else {
                continue;
            };
            match xml::name(doc.root_element()).as_str() {
                "assessmentTest" => tests.push(name.clone()),
                "assessmentItem" => items.push(name.clone()),
                "questestinterop" => v1_files.push(name.clone()),
                _ => {}
            }
        }
        (tests, items, v1_files)
    }

    /// Orders questions as their item files are listed in the manifest (the bank order of an exported
    /// package); questions from unlisted files keep their place after them.
    fn order_by(&mut self, items: &[String]) {
        if items.is_empty() {
            return;
        }
        let position = |source: &String| {
            items
                .iter()
                .position(|i| i == source)
                .unwrap_or(items.len())
        };
        let mut paired: Vec<(Question, String)> = std::mem::take(&mut self.questions)
            .into_iter()
            .zip(std::mem::take(&mut self.sources))
            .collect();
        paired.sort_by_key(|(_, source)| position(source));
        (self.questions, self.sources) = paired.into_iter().unzip();
    }

    /// A usable, unique question id from a QTI identifier: other characters become `-`, 64 at most; an id used
    /// before gets `-2`, `-3`, ….
    fn question_id(&mut self, file: &str, line: usize, identifier: &str) -> String {
        let mut id: String = identifier
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '-'
                }
            })
            .take(64)
            .collect();
        if !is_valid_id(&id) {
            id = format!("item-{}", self.questions.len() + 1);
        }
        let wanted = id.clone();
        let mut n = 2;
        while !self.used_ids.insert(id.clone()) {
            id = format!("{wanted}-{n}");
            n += 1;
        }
        if id != identifier {
            self.warn(file, line, Some(&id), format!("item identifier `{identifier}` was imported as `{id}` (ids are unique letters, digits, `-`, `_`, `.`, at most 64)"));
        }
        id
    }

    /// Adds an imported question to `domain` (created with `title` when new).
    fn push(&mut self, source: &str, question: Question, domain_title: &str) {
        match self.domains.iter_mut().find(|d| d.id == question.domain) {
            Some(domain) => domain.questions_per_form += 1,
            None => self.domains.push(Domain {
                id: question.domain.clone(),
                title: domain_title.to_owned(),
                questions_per_form: 1,
            }),
        }
        self.questions.push(question);
        self.sources.push(source.to_owned());
    }

    fn finish(mut self) -> Result<ImportedQuestions, BankErrors> {
        if !self.errors.is_empty() {
            self.errors
                .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            return Err(BankErrors {
                errors: self.errors,
            });
        }
        Ok(ImportedQuestions {
            questions: self.questions,
            domains: self.domains,
            warnings: self.warnings,
            question_lines: super::QuestionLines::new(),
            title: self.title,
            duration_minutes: self.duration_minutes,
            blueprint_in_file: self.blueprint_in_file,
        })
    }
}

/// The files of a zip package by path.
#[derive(Default)]
struct Package {
    entries: Vec<(String, Vec<u8>)>,
    unpacked: usize,
}

impl Package {
    /// A file's text by its path in the package (`./` and `a/../` resolved); `None` when absent or not UTF-8.
    fn text(&self, path: &str) -> Option<&str> {
        let wanted = normalize_path(path);
        self.entries
            .iter()
            .find(|(name, _)| normalize_path(name) == wanted)
            .and_then(|(_, bytes)| std::str::from_utf8(bytes).ok())
    }
}

fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    percent_encoding::percent_decode_str(&parts.join("/"))
        .decode_utf8_lossy()
        .into_owned()
}

/// `href` relative to the file `base` (both package paths).
fn resolve(base: &str, href: &str) -> String {
    match base.rfind('/') {
        Some(slash) => normalize_path(&format!("{}/{href}", &base[..slash])),
        None => normalize_path(href),
    }
}

/// (test files, item files, QTI 1.2 files) the manifest lists, in its order.
fn manifest_resources(doc: &roxmltree::Document<'_>) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut tests, mut items, mut v1_files) = (Vec::new(), Vec::new(), Vec::new());
    for resource in doc
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "resource")
    {
        let kind = resource
            .attribute("type")
            .unwrap_or("")
            .to_ascii_lowercase();
        let Some(href) = resource.attribute("href").or_else(|| {
            resource
                .children()
                .find(|c| c.tag_name().name() == "file")
                .and_then(|f| f.attribute("href"))
        }) else {
            continue;
        };
        let href = normalize_path(href);
        if kind.starts_with("imsqti_test_xmlv2") || kind.starts_with("imsqti_test_xmlv3") {
            tests.push(href);
        } else if kind.starts_with("imsqti_item_xmlv2") || kind.starts_with("imsqti_item_xmlv3") {
            items.push(href);
        } else if kind.starts_with("imsqti_xmlv1p2") || kind.contains("qti_xmlv1p2") {
            v1_files.push(href);
        }
    }
    (tests, items, v1_files)
}
