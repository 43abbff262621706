//! GIFT text as blocks of lines and characters marked escaped or not, with the searches the parser needs.

/// Blank-line separated groups of (line number, line) with comment lines (`//…`) removed.
pub(super) fn blocks(text: &str) -> Vec<Vec<(usize, &str)>> {
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
pub(super) struct Tok {
    pub(super) c: char,
    pub(super) escaped: bool,
    pub(super) line: usize,
}

pub(super) fn tokenize(lines: &[(usize, &str)]) -> Vec<Tok> {
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

pub(super) fn is(tok: &Tok, c: char) -> bool {
    !tok.escaped && tok.c == c
}

/// Position of the first unescaped `c` at or after `from`.
pub(super) fn find(toks: &[Tok], from: usize, c: char) -> Option<usize> {
    (from..toks.len()).find(|&i| is(&toks[i], c))
}

/// Whether the unescaped characters of `pattern` start at `at`.
pub(super) fn starts_with(toks: &[Tok], at: usize, pattern: &str) -> bool {
    let mut rest = toks.get(at..).unwrap_or_default().iter();
    pattern
        .chars()
        .all(|c| rest.next().is_some_and(|tok| is(tok, c)))
}

/// Position of the first unescaped occurrence of `pattern` at or after `from`.
pub(super) fn find_seq(toks: &[Tok], from: usize, pattern: &str) -> Option<usize> {
    (from..toks.len()).find(|&i| starts_with(toks, i, pattern))
}

pub(super) fn text_of(toks: &[Tok]) -> String {
    toks.iter()
        .map(|tok| tok.c)
        .collect::<String>()
        .trim()
        .to_owned()
}

pub(super) fn is_blank(toks: &[Tok]) -> bool {
    toks.iter().all(|tok| tok.c.is_whitespace())
}
