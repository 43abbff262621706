//! Small hand-built SVG bar charts for server-rendered pages (score histograms, funnels).
//!
//! Output is a standalone, accessible `<svg role="img">` with a `<title>` and a `<desc>` that
//! lists every value, so screen readers get the data, not a picture. Geometry is integer-only
//! (no NaN or infinity, even when every value is zero) and the output is deterministic.
//!
//! Theming: everything is drawn in `currentColor`, so a page colours a chart with CSS `color`;
//! classes `chart-bar`, `chart-track`, `chart-label`, `chart-value`, `chart-title` and
//! `chart-axis` allow finer styling from the page's stylesheet. No inline `style` attributes or
//! `<style>` elements are emitted, so a strict Content-Security-Policy needs no exception.

/// One bar: its category label and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartOptions {
    /// Width of the `viewBox` in px (at least 160).
    pub width: u32,
    /// Height of the `viewBox` in px (at least 100).
    pub height: u32,
    /// Bars grow rightwards from labels on the left (funnels, long labels) instead of upwards.
    pub horizontal: bool,
    /// Appended to each printed value, e.g. `" %"` or `" pts"`.
    pub value_suffix: Option<String>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        Self {
            width: 640,
            height: 320,
            horizontal: false,
            value_suffix: None,
        }
    }
}

const MIN_WIDTH: u32 = 160;
const MIN_HEIGHT: u32 = 100;
const PADDING: u32 = 8;
const TITLE_BAND: u32 = 32;
/// Rough advance of one character at 12 px system-ui, used to reserve room for text.
const CHAR_WIDTH: u32 = 7;
const VALUE_BAND: u32 = 16;
const LABEL_BAND: u32 = 22;
const FUNNEL_ROW: u32 = 30;
const FONT_FAMILY: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/// A bar chart (vertical by default, horizontal with `opts.horizontal`).
pub fn bar_chart(title: &str, bars: &[Bar], opts: ChartOptions) -> String {
    let suffix = opts.value_suffix.as_deref().unwrap_or("");
    let value_texts: Vec<String> = bars
        .iter()
        .map(|bar| format!("{}{suffix}", bar.value))
        .collect();
    render(title, bars, &value_texts, &opts)
}

/// A funnel: horizontal bars in the given order, each value followed by its share of the first
/// step (e.g. `"120 (40%)"`), rounded half up to a whole percent.
pub fn funnel_chart(title: &str, steps: &[Bar], width: u32) -> String {
    let first = steps.first().map_or(0, |step| step.value);
    let value_texts: Vec<String> = steps
        .iter()
        // A share of the first step only means something when the step is part of it: customers
        // bound by referral code never clicked, so they can outnumber clicks.
        .map(|step| match percent_of(step.value, first) {
            Some(percent) if step.value <= first => format!("{} ({percent}%)", step.value),
            _ => step.value.to_string(),
        })
        .collect();
    let row_count = u32::try_from(steps.len()).unwrap_or(u32::MAX);
    let opts = ChartOptions {
        width,
        height: TITLE_BAND
            .saturating_add(row_count.saturating_mul(FUNNEL_ROW))
            .saturating_add(PADDING),
        horizontal: true,
        value_suffix: None,
    };
    render(title, steps, &value_texts, &opts)
}

fn percent_of(value: u64, whole: u64) -> Option<u128> {
    (whole > 0).then(|| (u128::from(value) * 200 + u128::from(whole)) / (2 * u128::from(whole)))
}

fn render(title: &str, bars: &[Bar], value_texts: &[String], opts: &ChartOptions) -> String {
    let width = opts.width.max(MIN_WIDTH);
    let height = opts.height.max(MIN_HEIGHT);
    let id = format!("chart-{:016x}", fingerprint(title, bars, opts));
    let title_text = xml_escape(title);

    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"credo-chart\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
         font-family=\"{FONT_FAMILY}\" font-size=\"12\" fill=\"currentColor\">\n"
    );
    svg.push_str(&format!("<title id=\"{id}-title\">{title_text}</title>\n"));
    svg.push_str(&format!(
        "<desc id=\"{id}-desc\">{}</desc>\n",
        xml_escape(&describe(bars, value_texts))
    ));
    svg.push_str(&format!(
        "<text class=\"chart-title\" x=\"{PADDING}\" y=\"20\" font-size=\"14\" font-weight=\"600\">{title_text}</text>\n"
    ));

    if bars.is_empty() {
        svg.push_str(&format!(
            "<text class=\"chart-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill-opacity=\"0.7\">No data</text>\n",
            width / 2,
            (height + TITLE_BAND) / 2
        ));
    } else if opts.horizontal {
        render_horizontal(&mut svg, bars, value_texts, width, height);
    } else {
        render_vertical(&mut svg, bars, value_texts, width, height);
    }
    svg.push_str("</svg>\n");
    svg
}

fn describe(bars: &[Bar], value_texts: &[String]) -> String {
    if bars.is_empty() {
        return "No data.".to_owned();
    }
    let items: Vec<String> = bars
        .iter()
        .zip(value_texts)
        .map(|(bar, value)| format!("{}: {value}", bar.label))
        .collect();
    format!("{} bars. {}.", bars.len(), items.join("; "))
}

fn render_horizontal(
    svg: &mut String,
    bars: &[Bar],
    value_texts: &[String],
    width: u32,
    height: u32,
) {
    let max_value = bars.iter().map(|bar| bar.value).max().unwrap_or(0);
    let count = u32::try_from(bars.len()).unwrap_or(u32::MAX);
    let top = TITLE_BAND;
    let bottom = height.saturating_sub(PADDING).max(top + 1);
    let band = ((bottom - top) / count).max(1);
    let thickness = (band * 13 / 20).max(1);

    let longest_label = bars
        .iter()
        .map(|bar| char_count(&bar.label))
        .max()
        .unwrap_or(0);
    let label_width = longest_label
        .saturating_mul(CHAR_WIDTH)
        .saturating_add(2 * PADDING)
        .min(width * 2 / 5);
    let label_chars = (label_width.saturating_sub(2 * PADDING) / CHAR_WIDTH) as usize;
    let longest_value = value_texts
        .iter()
        .map(|text| char_count(text))
        .max()
        .unwrap_or(0);
    let value_width = longest_value
        .saturating_mul(CHAR_WIDTH)
        .saturating_add(2 * PADDING)
        .min(width / 4);
    let x0 = label_width;
    let plot_len = width.saturating_sub(label_width + value_width).max(1);

    svg.push_str(&format!(
        "<line class=\"chart-axis\" x1=\"{x0}\" y1=\"{top}\" x2=\"{x0}\" y2=\"{bottom}\" stroke=\"currentColor\" stroke-opacity=\"0.35\"/>\n"
    ));
    for (index, (bar, value_text)) in bars.iter().zip(value_texts).enumerate() {
        let row = u32::try_from(index).unwrap_or(u32::MAX);
        let y = top
            .saturating_add(row.saturating_mul(band))
            .saturating_add((band - thickness) / 2);
        let length = scale(bar.value, max_value, plot_len);
        let middle = y + thickness / 2;
        svg.push_str(&format!(
            "<g>\n<title>{}</title>\n\
             <rect class=\"chart-track\" x=\"{x0}\" y=\"{y}\" width=\"{plot_len}\" height=\"{thickness}\" fill-opacity=\"0.08\"/>\n\
             <rect class=\"chart-bar\" x=\"{x0}\" y=\"{y}\" width=\"{length}\" height=\"{thickness}\" rx=\"2\" fill-opacity=\"0.85\"/>\n\
             <text class=\"chart-label\" x=\"{}\" y=\"{middle}\" text-anchor=\"end\" dominant-baseline=\"central\">{}</text>\n\
             <text class=\"chart-value\" x=\"{}\" y=\"{middle}\" dominant-baseline=\"central\" fill-opacity=\"0.8\">{}</text>\n</g>\n",
            xml_escape(&format!("{}: {value_text}", bar.label)),
            x0.saturating_sub(PADDING),
            xml_escape(&truncate(&bar.label, label_chars)),
            x0 + length + PADDING / 2,
            xml_escape(value_text),
        ));
    }
}

fn render_vertical(
    svg: &mut String,
    bars: &[Bar],
    value_texts: &[String],
    width: u32,
    height: u32,
) {
    let max_value = bars.iter().map(|bar| bar.value).max().unwrap_or(0);
    let count = u32::try_from(bars.len()).unwrap_or(u32::MAX);
    let top = TITLE_BAND + VALUE_BAND;
    let baseline = height.saturating_sub(LABEL_BAND).max(top + 1);
    let plot_height = baseline - top;
    let left = PADDING;
    let plot_width = width.saturating_sub(2 * PADDING).max(1);
    let band = (plot_width / count).max(1);
    let thickness = (band * 13 / 20).max(1);
    let label_chars = (band / CHAR_WIDTH) as usize;

    svg.push_str(&format!(
        "<line class=\"chart-axis\" x1=\"{left}\" y1=\"{baseline}\" x2=\"{}\" y2=\"{baseline}\" stroke=\"currentColor\" stroke-opacity=\"0.35\"/>\n",
        left + plot_width
    ));
    for (index, (bar, value_text)) in bars.iter().zip(value_texts).enumerate() {
        let column = u32::try_from(index).unwrap_or(u32::MAX);
        let x = left
            .saturating_add(column.saturating_mul(band))
            .saturating_add((band - thickness) / 2);
        let center = x + thickness / 2;
        let bar_height = scale(bar.value, max_value, plot_height);
        let bar_top = baseline - bar_height;
        svg.push_str(&format!(
            "<g>\n<title>{}</title>\n\
             <rect class=\"chart-track\" x=\"{x}\" y=\"{top}\" width=\"{thickness}\" height=\"{plot_height}\" fill-opacity=\"0.08\"/>\n\
             <rect class=\"chart-bar\" x=\"{x}\" y=\"{bar_top}\" width=\"{thickness}\" height=\"{bar_height}\" rx=\"2\" fill-opacity=\"0.85\"/>\n\
             <text class=\"chart-value\" x=\"{center}\" y=\"{}\" text-anchor=\"middle\" fill-opacity=\"0.8\">{}</text>\n\
             <text class=\"chart-label\" x=\"{center}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n</g>\n",
            xml_escape(&format!("{}: {value_text}", bar.label)),
            bar_top.saturating_sub(4),
            xml_escape(value_text),
            baseline + 15,
            xml_escape(&truncate(&bar.label, label_chars)),
        ));
    }
}

/// `value / max × length`, rounded down, on integers; 0 when `max` is 0.
fn scale(value: u64, max: u64, length: u32) -> u32 {
    if max == 0 {
        return 0;
    }
    let scaled = u128::from(value) * u128::from(length) / u128::from(max);
    u32::try_from(scaled).unwrap_or(length)
}

fn char_count(text: &str) -> u32 {
    u32::try_from(text.chars().count()).unwrap_or(u32::MAX)
}

/// Shortens `text` to `max_chars` characters, marking the cut with `…`; the full text stays in
/// the row's tooltip and in `<desc>`.
fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    if max_chars == 0 {
        return String::new();
    }
    let mut shortened: String = text.chars().take(max_chars - 1).collect();
    shortened.push('…');
    shortened
}

/// Escapes text for XML content and attribute values; drops control characters XML 1.0 forbids.
fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            '\t' | '\n' | '\r' => escaped.push(' '),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// FNV-1a over the chart's content: a stable id for `aria-labelledby`, distinct per chart.
fn fingerprint(title: &str, bars: &[Bar], opts: &ChartOptions) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    feed(title.as_bytes());
    for bar in bars {
        feed(&[0]);
        feed(bar.label.as_bytes());
        feed(&bar.value.to_le_bytes());
    }
    feed(&opts.width.to_le_bytes());
    feed(&opts.height.to_le_bytes());
    feed(&[u8::from(opts.horizontal)]);
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(items: &[(&str, u64)]) -> Vec<Bar> {
        items
            .iter()
            .map(|(label, value)| Bar {
                label: (*label).to_owned(),
                value: *value,
            })
            .collect()
    }

    fn horizontal() -> ChartOptions {
        ChartOptions {
            horizontal: true,
            ..ChartOptions::default()
        }
    }

    /// Minimal XML well-formedness check: balanced, properly nested tags, one root, quoted
    /// attributes, and every `&` starting a known entity. Returns the number of elements.
    fn check_well_formed(xml: &str) -> Result<usize, String> {
        fn check_entities(text: &str) -> Result<(), String> {
            for (position, _) in text.match_indices('&') {
                let rest = &text[position..];
                let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                    .iter()
                    .any(|entity| rest.starts_with(entity));
                if !known {
                    return Err(format!("bare & in {text:?}"));
                }
            }
            Ok(())
        }
        let mut stack: Vec<String> = Vec::new();
        let mut elements = 0;
        let mut roots = 0;
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            check_entities(&rest[..open])?;
            if stack.is_empty() && !rest[..open].trim().is_empty() {
                return Err("text outside the root".to_owned());
            }
            let after = &rest[open + 1..];
            let close = after.find('>').ok_or("unterminated tag")?;
            let tag = &after[..close];
            if tag.contains('<') {
                return Err(format!("< inside tag {tag:?}"));
            }
            if tag.matches('"').count() % 2 == 1 {
                return Err(format!("unbalanced quotes in {tag:?}"));
            }
            check_entities(tag)?;
            if let Some(name) = tag.strip_prefix('/') {
                let expected = stack.pop().ok_or("closing tag without opening")?;
                if expected != name.trim() {
                    return Err(format!("</{name}> closes <{expected}>"));
                }
            } else {
                let name: String = tag
                    .chars()
                    .take_while(|c| !c.is_whitespace() && *c != '/')
                    .collect();
                if name.is_empty() {
                    return Err("empty tag name".to_owned());
                }
                if stack.is_empty() {
                    roots += 1;
                }
                elements += 1;
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &after[close + 1..];
        }
        if !rest.trim().is_empty() {
            return Err("text after the root".to_owned());
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} root elements"));
        }
        Ok(elements)
    }

    /// Integer attribute `name` of every `<rect>` with class `class`.
    fn rect_attribute(svg: &str, class: &str, name: &str) -> Vec<u32> {
        let marker = format!("<rect class=\"{class}\"");
        svg.match_indices(&marker)
            .filter_map(|(position, _)| {
                let tag = &svg[position..];
                let tag = &tag[..tag.find('>')?];
                let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
                let end = start + tag[start..].find('"')?;
                tag[start..end].parse().ok()
            })
            .collect()
    }

    #[test]
    fn escapes_all_text() -> Result<(), String> {
        let svg = bar_chart(
            "Scores <script>alert(1)</script> & \"more\"",
            &bars(&[
                ("<script>x</script>", 3),
                ("R&D 'team'", 5),
                ("ctl\u{1}\u{7}char", 1),
            ]),
            ChartOptions {
                value_suffix: Some(" <b>&</b>".to_owned()),
                ..ChartOptions::default()
            },
        );
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("R&amp;D &apos;team&apos;"));
        assert!(svg.contains("ctlchar"));
        check_well_formed(&svg)?;
        let funnel = funnel_chart("a&b", &bars(&[("<i>", 1)]), 400);
        assert!(funnel.contains("&lt;i&gt;") && !funnel.contains("<i>"));
        check_well_formed(&funnel)?;
        Ok(())
    }

    #[test]
    fn accessible_structure() -> Result<(), String> {
        let svg = bar_chart(
            "Exam scores",
            &bars(&[("0–49", 4), ("50–100", 9)]),
            ChartOptions::default(),
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("role=\"img\""));
        let Some(id_start) = svg.find("aria-labelledby=\"") else {
            return Err("no aria-labelledby".to_owned());
        };
        let ids = &svg[id_start + 17..];
        let ids = &ids[..ids.find('"').ok_or("unterminated")?];
        for id in ids.split(' ') {
            assert!(svg.contains(&format!("id=\"{id}\"")), "missing target {id}");
        }
        assert!(svg.contains(">Exam scores</title>"));
        assert!(svg.contains("<desc") && svg.contains("2 bars. 0–49: 4; 50–100: 9.</desc>"));
        assert!(svg.contains("<title>50–100: 9</title>"));
        assert!(svg.contains("fill=\"currentColor\"") && svg.contains("font-family=\"system-ui"));
        assert!(!svg.contains("style"), "no inline styles (CSP)");
        check_well_formed(&svg)?;
        Ok(())
    }

    #[test]
    fn zero_and_empty_data_render_without_nan() -> Result<(), String> {
        for opts in [ChartOptions::default(), horizontal()] {
            let svg = bar_chart("Nothing yet", &bars(&[("a", 0), ("b", 0)]), opts.clone());
            assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
            let key = if opts.horizontal { "width" } else { "height" };
            assert_eq!(rect_attribute(&svg, "chart-bar", key), vec![0, 0]);
            check_well_formed(&svg)?;

            let empty = bar_chart("Empty", &[], opts);
            assert!(empty.contains(">No data</text>") && empty.contains("No data.</desc>"));
            assert_eq!(rect_attribute(&empty, "chart-bar", "width").len(), 0);
            check_well_formed(&empty)?;
        }
        let funnel = funnel_chart("Funnel", &bars(&[("clicks", 0), ("customers", 0)]), 400);
        assert!(funnel.contains(">0</text>") && !funnel.contains('%'));
        check_well_formed(&funnel)?;
        Ok(())
    }

    #[test]
    fn one_rect_per_bar() -> Result<(), String> {
        let data = bars(&[
            ("a", 1),
            ("b", 2),
            ("c", 3),
            ("d", 4),
            ("e", 5),
            ("f", 6),
            ("g", 7),
        ]);
        for opts in [ChartOptions::default(), horizontal()] {
            let svg = bar_chart("Seven", &data, opts);
            assert_eq!(svg.matches("<rect class=\"chart-bar\"").count(), 7);
            assert_eq!(svg.matches("<rect class=\"chart-track\"").count(), 7);
            assert_eq!(svg.matches("<g>").count(), 7);
            let elements = check_well_formed(&svg)?;
            // svg, title, desc, heading, axis + 6 per bar
            assert_eq!(elements, 5 + 7 * 6);
        }
        Ok(())
    }

    #[test]
    fn lengths_are_proportional_and_largest_is_full() {
        let data = bars(&[("half", 50), ("full", 100), ("quarter", 25), ("none", 0)]);
        let svg = bar_chart("Proportions", &data, horizontal());
        let widths = rect_attribute(&svg, "chart-bar", "width");
        let tracks = rect_attribute(&svg, "chart-track", "width");
        let full = tracks[0];
        assert!(full > 100);
        assert!(tracks.iter().all(|&t| t == full));
        assert_eq!(widths, vec![full / 2, full, full / 4, 0]);

        let svg = bar_chart("Proportions", &data, ChartOptions::default());
        let heights = rect_attribute(&svg, "chart-bar", "height");
        let full = rect_attribute(&svg, "chart-track", "height")[0];
        assert_eq!(heights, vec![full / 2, full, full / 4, 0]);
        // Bars stand on the baseline: y + height is the same for all.
        let ys = rect_attribute(&svg, "chart-bar", "y");
        let bottoms: Vec<u32> = ys.iter().zip(&heights).map(|(y, h)| y + h).collect();
        assert!(
            bottoms.windows(2).all(|pair| pair[0] == pair[1]),
            "{bottoms:?}"
        );
    }

    #[test]
    fn huge_values_do_not_overflow() -> Result<(), String> {
        let data = bars(&[("max", u64::MAX), ("half", u64::MAX / 2)]);
        let svg = bar_chart("Huge", &data, horizontal());
        let widths = rect_attribute(&svg, "chart-bar", "width");
        let tracks = rect_attribute(&svg, "chart-track", "width");
        assert_eq!(widths[0], tracks[0]);
        // (2⁶³−1)/(2⁶⁴−1) is just under ½, and lengths round down.
        assert!(widths[0] / 2 - widths[1] <= 1, "{widths:?}");
        check_well_formed(&svg)?;
        Ok(())
    }

    #[test]
    fn funnel_keeps_order_and_prints_share_of_first_step() -> Result<(), String> {
        let steps = bars(&[
            ("Clicks", 300),
            ("Customers", 120),
            ("Invoices", 1),
            ("Commissions", 0),
        ]);
        let svg = funnel_chart("Funnel", &steps, 480);
        let order: Vec<usize> = ["Clicks", "Customers", "Invoices", "Commissions"]
            .iter()
            .filter_map(|label| svg.find(&format!(">{label}</text>")))
            .collect();
        assert_eq!(order.len(), 4);
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]));
        for text in [">300 (100%)<", ">120 (40%)<", ">1 (0%)<", ">0 (0%)<"] {
            assert!(svg.contains(text), "missing {text}");
        }
        let widths = rect_attribute(&svg, "chart-bar", "width");
        assert!(widths[0] > widths[1] && widths[1] > widths[2]);
        assert!(svg.contains("viewBox=\"0 0 480 160\"")); // 32 + 4 × 30 + 8
        check_well_formed(&svg)?;
        Ok(())
    }

    #[test]
    fn funnel_steps_larger_than_the_first_show_no_share() {
        let svg = funnel_chart("Funnel", &bars(&[("Clicks", 1), ("Customers", 2)]), 480);
        assert!(svg.contains(">1 (100%)<"));
        assert!(svg.contains(">2<"), "{svg}");
        assert!(!svg.contains("200%"));
    }

    #[test]
    fn value_suffix_and_truncation() {
        let long = "A very long category label that cannot fit";
        let svg = bar_chart(
            "Suffix",
            &bars(&[(long, 80)]),
            ChartOptions {
                value_suffix: Some(" %".to_owned()),
                ..horizontal()
            },
        );
        assert!(svg.contains(">80 %</text>"));
        assert!(svg.contains('…'), "visible label is shortened");
        assert!(
            svg.contains(&format!("<title>{long}: 80 %</title>")),
            "tooltip keeps the full label"
        );
    }

    #[test]
    fn output_is_deterministic_and_ids_differ_per_chart() {
        let data = bars(&[("a", 1), ("b", 2)]);
        let first = bar_chart("Same", &data, ChartOptions::default());
        assert_eq!(first, bar_chart("Same", &data, ChartOptions::default()));
        let other = bar_chart("Other", &data, ChartOptions::default());
        let id = |svg: &str| svg.split("id=\"").nth(1).map(|rest| rest[..22].to_owned());
        assert_ne!(id(&first), id(&other));
    }

    #[test]
    fn tiny_sizes_are_clamped() -> Result<(), String> {
        let svg = bar_chart(
            "Tiny",
            &bars(&[("a", 1), ("b", 2)]),
            ChartOptions {
                width: 0,
                height: 0,
                ..ChartOptions::default()
            },
        );
        assert!(svg.contains("viewBox=\"0 0 160 100\""));
        check_well_formed(&svg)?;
        Ok(())
    }

    #[test]
    fn well_formedness_checker_catches_errors() {
        assert!(check_well_formed("<a><b></a></b>").is_err());
        assert!(check_well_formed("<a>x & y</a>").is_err());
        assert!(check_well_formed("<a><b/></a><c/>").is_err());
        assert!(check_well_formed("<a x=\"1></a>").is_err());
        assert_eq!(check_well_formed("<a><b/>&amp;</a>"), Ok(2));
    }
}
