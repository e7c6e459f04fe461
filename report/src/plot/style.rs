//! How a series looks, and the legend that says so.
//!
//! # One rule for every figure
//!
//! * **Colour is the runtime** (gmp blue, tokio orange, go green, threads
//!   grey; another runtime takes a palette colour), on every plot of the
//!   report, so "the orange line" means tokio everywhere.
//! * **Line style and marker are the variant**: the other words that name
//!   a series (`bug`, `fixed`, `cap=5`), numbered in the order they first
//!   appear: the first variant is a solid line with circles, the second a
//!   dashed line with triangles, then dotted with squares, long dashes with
//!   diamonds, ... So "gmp · bug" and "tokio · bug" share a line style and
//!   differ in colour; "gmp · bug" and "gmp · fixed" share a colour and
//!   differ in line style. When no series names a runtime, colour follows
//!   the variant instead (one cue is then enough; the style repeats it).
//! * **The legend is factored** when the series are runtimes × variants:
//!   one entry per runtime (its colour) and one per variant (its line and
//!   marker), instead of one per combination, so sixteen series need eight
//!   entries.
//! * **Legend labels are never cut**: a label wider than the legend strip
//!   wraps onto further lines (at ` · `, `, ` or a space), and the figure
//!   grows to hold the legend ([`legend_height`]).

use super::{FONT, pe};
use crate::text;
use plotters::coord::Shift;
use plotters::element::{DashedPathElement, PathElement};
use plotters::prelude::*;

/// A line's dash pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    LongDash,
}

/// A point's marker shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
    Cross,
    DownTriangle,
}

const DASHES: [Dash; 4] = [Dash::Solid, Dash::Dashed, Dash::Dotted, Dash::LongDash];
const MARKERS: [Marker; 6] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Diamond,
    Marker::DownTriangle,
    Marker::Cross,
];

/// How one series is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Style {
    pub color: RGBColor,
    pub dash: Dash,
    pub marker: Marker,
}

impl Style {
    /// The style of the `i`-th variant in `color`.
    pub fn nth(color: RGBColor, i: usize) -> Style {
        Style {
            color,
            dash: DASHES[i % DASHES.len()],
            marker: MARKERS[i % MARKERS.len()],
        }
    }
}

/// A series' identity: its runtime (when the series names one) and the
/// other words that name it, e.g. `bug` or `cap=5` (empty for none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesId {
    pub runtime: Option<String>,
    pub variant: String,
}

impl SeriesId {
    /// `gmp · bug`, `gmp`, `bug`.
    pub fn label(&self) -> String {
        match (&self.runtime, self.variant.is_empty()) {
            (Some(r), true) => r.clone(),
            (Some(r), false) => format!("{r} · {}", self.variant),
            (None, false) => self.variant.clone(),
            (None, true) => String::new(),
        }
    }
}

/// Series colours: fixed per runtime name.
pub fn runtime_color(name: &str) -> Option<RGBColor> {
    match name {
        "gmp" => Some(RGBColor(31, 119, 180)),
        "go" => Some(RGBColor(0, 158, 115)),
        "tokio" => Some(RGBColor(230, 120, 20)),
        "threads" => Some(RGBColor(110, 110, 110)),
        _ => None,
    }
}

/// Colours for anything that is not one of the four runtimes; none of
/// them is close to a runtime's colour.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(204, 51, 102),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(90, 90, 200),
];

/// Distinct values in first-seen order.
fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for s in items {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The style of every series, by the rule at the top of this file.
pub fn assign(ids: &[SeriesId]) -> Vec<Style> {
    let variants = first_seen(ids.iter().map(|i| i.variant.as_str()));
    let by_runtime = ids.iter().any(|i| i.runtime.is_some());
    let runtimes = first_seen(ids.iter().filter_map(|i| i.runtime.as_deref()));
    let others: Vec<&str> = runtimes
        .iter()
        .copied()
        .filter(|r| runtime_color(r).is_none())
        .collect();
    ids.iter()
        .map(|id| {
            let v = variants.iter().position(|x| *x == id.variant).unwrap_or(0);
            let color = if by_runtime {
                let r = id.runtime.as_deref().unwrap_or("");
                runtime_color(r).unwrap_or_else(|| {
                    PALETTE[others.iter().position(|o| *o == r).unwrap_or(0) % PALETTE.len()]
                })
            } else {
                PALETTE[v % PALETTE.len()]
            };
            Style::nth(color, v)
        })
        .collect()
}

/// What a legend entry shows at its left.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// A line with a marker: one series.
    Series(Style),
    /// A colour only (a runtime in a factored legend).
    Color(RGBColor),
    /// A grey line and marker (a variant in a factored legend).
    Variant(Dash, Marker),
    /// A marker only, filled (e.g. "median of ok repeats").
    Dot(Marker),
    /// A hollow marker: a run that timed out, crashed or hit a limit.
    Hollow,
    /// A filled box (a shaded phase).
    Shade(RGBColor),
    /// A hatched box (no samples).
    Hatch,
    /// A thin grey line (a secondary measure of the same series).
    Thin,
    /// No key: the entry is a heading for the entries under it.
    Heading,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub label: String,
    pub key: Key,
}

impl Entry {
    pub fn new(label: impl Into<String>, key: Key) -> Entry {
        Entry {
            label: label.into(),
            key,
        }
    }
}

/// The legend for series: factored into runtimes and variants when that
/// is shorter, else one entry per series.
pub fn series_legend(ids: &[SeriesId], styles: &[Style]) -> Vec<Entry> {
    let runtimes = first_seen(ids.iter().filter_map(|i| i.runtime.as_deref()));
    let variants = first_seen(ids.iter().map(|i| i.variant.as_str()));
    let factored = !runtimes.is_empty()
        && variants.len() >= 2
        && runtimes.len() + variants.len() + 2 < ids.len();
    if !factored {
        return ids
            .iter()
            .zip(styles)
            .map(|(id, s)| Entry::new(id.label(), Key::Series(*s)))
            .collect();
    }
    let mut out = vec![Entry::new("colour: runtime", Key::Heading)];
    for r in &runtimes {
        let i = ids
            .iter()
            .position(|id| id.runtime.as_deref() == Some(r))
            .unwrap_or(0);
        out.push(Entry::new(*r, Key::Color(styles[i].color)));
    }
    out.push(Entry::new("line, marker: variant", Key::Heading));
    for v in &variants {
        let i = ids.iter().position(|id| id.variant == *v).unwrap_or(0);
        out.push(Entry::new(
            *v,
            Key::Variant(styles[i].dash, styles[i].marker),
        ));
    }
    out
}

/// Width of the legend strip at the right of every chart.
pub const LEGEND_W: u32 = 280;
const LEGEND_FONT: u32 = 15;
const LINE_H: i32 = 19;
const TEXT_X: i32 = 46;

fn legend_font() -> FontDesc<'static> {
    (FONT, LEGEND_FONT).into_font()
}

/// Pixel width of `s` in the legend font.
pub fn text_width(s: &str) -> u32 {
    legend_font().box_size(s).map(|(w, _)| w).unwrap_or(0)
}

/// `label` broken into lines no wider than `width` pixels, at ` · `, `, `
/// or a space; a single word wider than the strip is broken by characters.
pub fn wrap(label: &str, width: u32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in split_keep(label) {
        let candidate = format!("{cur}{word}");
        if cur.is_empty() || text_width(candidate.trim_end()) <= width {
            cur = candidate;
        } else {
            lines.push(cur.trim_end().to_string());
            cur = word.trim_start().to_string();
        }
        while text_width(cur.trim_end()) > width && cur.chars().count() > 1 {
            let mut head = String::new();
            for c in cur.chars() {
                if text_width(&format!("{head}{c}")) > width && !head.is_empty() {
                    break;
                }
                head.push(c);
            }
            let rest = cur[head.len()..].to_string();
            lines.push(head);
            cur = rest;
        }
    }
    if !cur.trim().is_empty() || lines.is_empty() {
        lines.push(cur.trim_end().to_string());
    }
    lines
}

/// Splits after separators, keeping them with the word before.
fn split_keep(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == ' ' {
            out.push(&s[start..=i]);
            start = i + 1;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// Width available to a label's text.
pub fn label_width() -> u32 {
    LEGEND_W - TEXT_X as u32 - 10
}

/// Pixels the legend needs, from its top.
pub fn legend_height(entries: &[Entry]) -> u32 {
    let lines: usize = entries
        .iter()
        .map(|e| wrap(&e.label, label_width()).len())
        .sum();
    (lines as u32) * LINE_H as u32 + entries.len() as u32 * 5 + 10
}

/// Draws the legend in its own strip (never over the data), starting `top`
/// pixels down.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    top: i32,
) -> anyhow::Result<()> {
    let plain = TextStyle::from(legend_font()).color(&BLACK);
    let bold = TextStyle::from(legend_font().style(FontStyle::Bold)).color(&RGBColor(60, 60, 60));
    let mut y = top;
    for e in entries {
        let lines = wrap(&e.label, label_width());
        let mid = y + 8;
        draw_key(area, &e.key, (8, 38), mid)?;
        let (x, style) = if e.key == Key::Heading {
            (8, &bold)
        } else {
            (TEXT_X, &plain)
        };
        for (i, l) in lines.iter().enumerate() {
            area.draw(&Text::new(
                l.clone(),
                (x, y + LINE_H * i as i32),
                style.clone(),
            ))
            .map_err(pe)?;
        }
        y += LINE_H * lines.len() as i32 + 5;
    }
    Ok(())
}

const GREY: RGBColor = RGBColor(70, 70, 70);

fn draw_key<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    key: &Key,
    (x0, x1): (i32, i32),
    y: i32,
) -> anyhow::Result<()> {
    let xm = (x0 + x1) / 2;
    match key {
        Key::Series(s) => {
            draw_path_px(area, vec![(x0, y), (x1, y)], s.color, s.dash)?;
            draw_marker_px(area, (xm, y), s.marker, s.color, 5, true)
        }
        Key::Color(c) => area
            .draw(&Rectangle::new([(x0, y - 5), (x1, y + 5)], c.filled()))
            .map(|_| ())
            .map_err(pe),
        Key::Variant(d, m) => {
            draw_path_px(area, vec![(x0, y), (x1, y)], GREY, *d)?;
            draw_marker_px(area, (xm, y), *m, GREY, 5, true)
        }
        Key::Dot(m) => draw_marker_px(area, (xm, y), *m, GREY, 5, true),
        Key::Hollow => draw_marker_px(area, (xm, y), Marker::Circle, GREY, 7, false),
        Key::Shade(c) => area
            .draw(&Rectangle::new([(x0, y - 7), (x1, y + 7)], c.filled()))
            .map(|_| ())
            .map_err(pe),
        Key::Hatch => {
            area.draw(&Rectangle::new(
                [(x0, y - 7), (x1, y + 7)],
                HATCH.stroke_width(1),
            ))
            .map_err(pe)?;
            for (a, b) in hatch_lines((x0, y - 7), (x1, y + 7), 6) {
                area.draw(&PathElement::new(vec![a, b], HATCH.stroke_width(1)))
                    .map_err(pe)?;
            }
            Ok(())
        }
        Key::Thin => area
            .draw(&PathElement::new(
                vec![(x0, y), (x1, y)],
                GREY.stroke_width(1),
            ))
            .map_err(pe),
        Key::Heading => Ok(()),
    }
}

/// The hatch colour (gaps: no samples).
pub const HATCH: RGBColor = RGBColor(150, 150, 150);

/// Diagonal hatch segments (45°, every `step` px) clipped to a pixel box.
pub fn hatch_lines(
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    step: i32,
) -> Vec<((i32, i32), (i32, i32))> {
    let (w, h) = (x1 - x0, y1 - y0);
    let mut out = Vec::new();
    if w <= 0 || h <= 0 {
        return out;
    }
    let mut k = step;
    while k < w + h {
        // the line x + y = k (box coords), clipped to the box
        let a = (k.min(w), k - k.min(w));
        let b = (k - k.min(h), k.min(h));
        out.push(((x0 + a.0, y0 + a.1), (x0 + b.0, y0 + b.1)));
        k += step;
    }
    out
}

/// A path in pixel coordinates with a dash pattern.
pub fn draw_path_px<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: Vec<(i32, i32)>,
    color: RGBColor,
    dash: Dash,
) -> anyhow::Result<()> {
    let st = color.stroke_width(2);
    match dash_pattern(dash) {
        None => area.draw(&PathElement::new(pts, st)),
        Some((size, gap)) => area.draw(&DashedPathElement::new(pts, size, gap, st)),
    }
    .map_err(pe)
}

/// (dash, gap) in pixels, None for a solid line.
pub fn dash_pattern(d: Dash) -> Option<(u32, u32)> {
    match d {
        Dash::Solid => None,
        Dash::Dashed => Some((8, 5)),
        Dash::Dotted => Some((2, 4)),
        Dash::LongDash => Some((16, 5)),
    }
}

/// A marker centred on a pixel.
pub fn draw_marker_px<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: (i32, i32),
    m: Marker,
    color: RGBColor,
    r: i32,
    filled: bool,
) -> anyhow::Result<()> {
    let style = if filled {
        color.filled()
    } else {
        color.stroke_width(2)
    };
    let (x, y) = c;
    let poly = |pts: Vec<(i32, i32)>| -> anyhow::Result<()> {
        if filled {
            area.draw(&Polygon::new(pts, style)).map_err(pe)
        } else {
            let mut closed = pts.clone();
            closed.push(pts[0]);
            area.draw(&PathElement::new(closed, style)).map_err(pe)
        }
    };
    match m {
        Marker::Circle => area.draw(&Circle::new(c, r, style)).map_err(pe),
        Marker::Square => {
            let s = r * 9 / 10;
            poly(vec![
                (x - s, y - s),
                (x + s, y - s),
                (x + s, y + s),
                (x - s, y + s),
            ])
        }
        Marker::Triangle => poly(vec![(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)]),
        Marker::DownTriangle => poly(vec![(x, y + r + 1), (x + r + 1, y - r), (x - r - 1, y - r)]),
        Marker::Diamond => poly(vec![
            (x, y - r - 2),
            (x + r + 1, y),
            (x, y + r + 2),
            (x - r - 1, y),
        ]),
        Marker::Cross => {
            let st = color.stroke_width(if filled { 3 } else { 2 });
            area.draw(&PathElement::new(vec![(x - r, y - r), (x + r, y + r)], st))
                .map_err(pe)?;
            area.draw(&PathElement::new(vec![(x - r, y + r), (x + r, y - r)], st))
                .map_err(pe)
        }
    }
}

/// Words naming a point among others: the values of `names` that differ
/// between the points, a word value as itself (`bug`), a number as
/// `name=value` (`conns=100`).
pub fn param_words(params: &schedlab_protocol::metrics::Params, names: &[String]) -> String {
    use schedlab_protocol::metrics::Value;
    names
        .iter()
        .filter_map(|n| {
            params.get(n).map(|v| match v {
                Value::Str(s) => s.clone(),
                Value::Num(_) => format!("{n}={v}"),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value for a tooltip or a label: [`text::num`] with a unit.
pub fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        text::num(v)
    } else {
        format!("{} {unit}", text::num(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(rt: Option<&str>, v: &str) -> SeriesId {
        SeriesId {
            runtime: rt.map(String::from),
            variant: v.into(),
        }
    }

    #[test]
    fn colour_is_the_runtime_and_style_the_variant() {
        super::super::ensure_fonts().unwrap();
        let ids = vec![
            id(Some("gmp"), "bug"),
            id(Some("gmp"), "fixed"),
            id(Some("tokio"), "bug"),
            id(Some("tokio"), "fixed"),
            id(Some("go"), "bug"),
            id(Some("go"), "fixed"),
            id(Some("go"), "bug_50k"),
        ];
        let s = assign(&ids);
        assert_eq!(s[0].color, s[1].color, "one colour per runtime");
        assert_ne!(s[0].color, s[2].color);
        assert_eq!(s[0].dash, s[2].dash, "one style per variant");
        assert_ne!(s[0].dash, s[1].dash);
        assert_ne!(s[0].marker, s[1].marker);
        assert_ne!(s[6].marker, s[0].marker);
        // 7 series: one entry each (a factored legend would not be shorter).
        assert_eq!(series_legend(&ids, &s).len(), 7);
        // 4 runtimes x 3 variants: 12 series, factored into 2 headings,
        // 4 colours and 3 line styles.
        let mut grid = Vec::new();
        for rt in ["gmp", "tokio", "threads", "go"] {
            for v in ["leak", "fixed_flag", "pool"] {
                grid.push(id(Some(rt), v));
            }
        }
        let l = series_legend(&grid, &assign(&grid));
        assert_eq!(l.len(), 2 + 4 + 3, "{l:?}");
    }

    #[test]
    fn without_a_runtime_colour_follows_the_variant() {
        let s = assign(&[id(None, "leak"), id(None, "pool")]);
        assert_ne!(s[0].color, s[1].color);
    }

    #[test]
    fn long_labels_wrap_and_never_exceed_the_strip() {
        super::super::ensure_fonts().unwrap();
        let label = "gmp · conns=100, procs=2, variant=fixed_flag_and_some_more_words";
        let lines = wrap(label, label_width());
        assert!(lines.len() >= 2, "{lines:?}");
        for l in &lines {
            assert!(text_width(l) <= label_width(), "{l:?} is too wide");
        }
        let squeeze = |s: &str| s.replace(' ', "");
        assert_eq!(squeeze(&lines.concat()), squeeze(label), "nothing is lost");
        let unbroken = "x".repeat(80);
        for l in wrap(&unbroken, label_width()) {
            assert!(text_width(&l) <= label_width());
        }
    }

    #[test]
    fn hatch_lines_stay_in_the_box() {
        for ((ax, ay), (bx, by)) in hatch_lines((10, 20), (50, 30), 6) {
            for (x, y) in [(ax, ay), (bx, by)] {
                assert!((10..=50).contains(&x) && (20..=30).contains(&y));
            }
        }
    }
}
