//! Plots: one [`Figure`] drawn twice, to PNG (BitMapBackend) and to SVG
//! (SVGBackend), under `<run>/plots/<scenario>/<plot-id>.{png,svg}`.
//!
//! Design:
//! * A figure is plain data (points already grouped, values already
//!   scaled) plus a `draw` generic over the plotters backend, so the PNG
//!   and the SVG are the same picture.
//! * Text uses the DejaVu Sans font compiled into the binary
//!   (`report/assets/`) and registered with plotters' ab_glyph font table
//!   under the family name `sans-serif`: no fontconfig, no system fonts.
//! * Axes use [`Scale`], our own `Ranged` coordinate: linear, log10 or
//!   categorical (words on the x axis), so one generic drawing routine
//!   serves every combination instead of one plotters type per case.
//!
//! Invariants:
//! * Non-finite values never reach plotters (the builders drop them; a log
//!   axis also drops values <= 0 and says so in the figure's notes).
//! * Missing data draws nothing: no zeros are invented. A figure without
//!   any drawable value is drawn as a titled "no data" card saying why.
//! * Drawing is wrapped in `catch_unwind`: a plotters panic on odd data
//!   becomes an error for that one plot, never a panic of `render`.

pub mod cdf;
pub mod sweep;
pub mod timeseries;

use crate::text;
use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use schedlab_protocol::predicate::{Context, Predicate, Val};
use schedlab_protocol::results::PointResult;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The font family every plot uses (registered from the vendored file).
pub const FONT: &str = "sans-serif";

static REGULAR: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../../assets/DejaVuSans-Bold.ttf");

/// Registers the vendored fonts once; later calls return the first result.
pub fn ensure_fonts() -> anyhow::Result<()> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let r = DONE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, REGULAR)
            .map_err(|_| "DejaVuSans.ttf is not a valid font".to_string())?;
        plotters::style::register_font(FONT, FontStyle::Bold, BOLD)
            .map_err(|_| "DejaVuSans-Bold.ttf is not a valid font".to_string())
    });
    r.clone().map_err(|e| anyhow!(e))
}

/// A picture that can be drawn on any backend.
pub trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// Turns a plotters error (generic over the backend) into anyhow.
pub fn pe<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting: {e}")
}

/// Files written for one figure.
#[derive(Debug, Clone)]
pub struct Written {
    pub png: PathBuf,
    pub svg: PathBuf,
    /// The SVG document, for inlining in report.html.
    pub svg_text: String,
}

/// Draws `fig` to `<dir>/<id>.png` and `<dir>/<id>.svg`, each atomically.
pub fn write_figure<F: Figure>(fig: &F, dir: &Path, id: &str) -> anyhow::Result<Written> {
    ensure_fonts()?;
    std::fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create {}: {e}", dir.display()))?;
    let size = fig.size();
    let svg_text = guarded(|| {
        let mut s = String::new();
        {
            let root = SVGBackend::with_string(&mut s, size).into_drawing_area();
            root.fill(&WHITE).map_err(pe)?;
            fig.draw(&root)?;
            root.present().map_err(pe)?;
        }
        Ok(s)
    })?;
    let svg = dir.join(format!("{id}.svg"));
    schedlab_protocol::atomic::write_atomic(&svg, svg_text.as_bytes())?;
    let png = dir.join(format!("{id}.png"));
    // The image encoder picks the format from the extension: keep `.png`.
    let tmp = dir.join(format!(".{id}.{}.tmp.png", std::process::id()));
    let drawn = guarded(|| {
        let root = BitMapBackend::new(&tmp, size).into_drawing_area();
        root.fill(&WHITE).map_err(pe)?;
        fig.draw(&root)?;
        root.present().map_err(pe)
    });
    if let Err(e) = drawn {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, &png)
        .map_err(|e| anyhow!("cannot rename {} to {}: {e}", tmp.display(), png.display()))?;
    Ok(Written { png, svg, svg_text })
}

/// Runs `f`, turning a panic into an error.
fn guarded<T>(f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(anyhow!("plotting panicked: {msg}"))
        }
    }
}

/// The bold title font at the largest size, from 24 px down to 12 px, at
/// which `title` fits in `width` pixels (measured with the vendored font):
/// a long title shrinks instead of running off both sides of the image.
pub fn title_font(title: &str, width: u32) -> FontDesc<'static> {
    let mut size = 24.0;
    loop {
        let font = (FONT, size).into_font().style(FontStyle::Bold);
        match font.box_size(title) {
            Ok((w, _)) if w > width && size > 12.0 => size -= 1.0,
            _ => return font,
        }
    }
}

/// The areas of a one-chart figure (cdf, sweep): the chart, the legend
/// column at its right, and the notes footer under both.
pub fn one_chart_areas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (w, h): (u32, u32),
    notes: usize,
    max_notes: usize,
) -> (
    DrawingArea<DB, Shift>,
    DrawingArea<DB, Shift>,
    DrawingArea<DB, Shift>,
) {
    let (top, foot) = root.split_vertically(h - notes_height(notes, max_notes));
    let (chart, legend) = top.split_horizontally(w - LEGEND_W);
    (chart, legend, foot)
}

/// A one-chart figure's chart on `area` (of a figure `w` wide): the title
/// sized to fit, the margins and label areas, and the axes' descriptions
/// and mesh style, which the caller may amend before drawing the mesh.
pub fn one_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    w: u32,
    (x, y): (Scale, Scale),
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<Scale, Scale>>> {
    ChartBuilder::on(area)
        .caption(title, title_font(title, w - LEGEND_W - 28))
        .margin(14)
        .x_label_area_size(52)
        .y_label_area_size(76)
        .build_cartesian_2d(x, y)
        .map_err(pe)
}

/// The mesh style of a one-chart figure, with its axis descriptions.
pub fn one_chart_mesh<'a, 'b, DB: DrawingBackend>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<Scale, Scale>>,
    x_desc: &str,
    y_desc: &str,
) -> plotters::chart::MeshStyle<'a, 'b, Scale, Scale, DB> {
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style((FONT, 17))
        .label_style((FONT, 14))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215));
    mesh
}

/// A titled card saying there is nothing to draw, and why.
pub struct NoData {
    pub title: String,
    pub reason: String,
    /// What else was found on the way (not drawn; printed in the report).
    pub notes: Vec<String>,
}

impl Figure for NoData {
    fn size(&self) -> (u32, u32) {
        (960, 240)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = root
            .titled(&self.title, title_font(&self.title, self.size().0 - 40))
            .map_err(pe)?;
        let (w, h) = title.dim_in_pixel();
        title
            .draw(&Rectangle::new(
                [(20, 10), (w as i32 - 20, h as i32 - 20)],
                RGBColor(180, 180, 180).stroke_width(1),
            ))
            .map_err(pe)?;
        let style = TextStyle::from((FONT, 18).into_font()).color(&RGBColor(90, 90, 90));
        title
            .draw(&Text::new(
                format!("no data: {}", self.reason),
                (40, (h / 2) as i32 - 15),
                style,
            ))
            .map_err(pe)?;
        Ok(())
    }
}

/// A coordinate on one axis: linear, log10, or categories at 0, 1, 2, ...
#[derive(Debug, Clone)]
pub enum Scale {
    Lin {
        lo: f64,
        hi: f64,
    },
    Log {
        lo: f64,
        hi: f64,
    },
    Cat {
        names: Vec<String>,
    },
    /// `inner` with ticks exactly at `ticks` (a sweep's few x values).
    Fixed {
        inner: Box<Scale>,
        ticks: Vec<f64>,
    },
}

impl Scale {
    /// A linear scale covering `vals` (and 0 when `from_zero` and all
    /// values are non-negative), with 5% headroom.
    pub fn linear(vals: impl Iterator<Item = f64>, from_zero: bool) -> Scale {
        let (mut lo, hi) = min_max(vals).unwrap_or((0.0, 1.0));
        if from_zero && lo >= 0.0 {
            lo = 0.0;
        }
        if hi - lo < 1e-12 {
            let pad = if hi.abs() > 1e-12 {
                hi.abs() * 0.1
            } else {
                1.0
            };
            return Scale::Lin {
                lo: if from_zero && lo >= 0.0 {
                    0.0
                } else {
                    lo - pad
                },
                hi: hi + pad,
            };
        }
        let pad = (hi - lo) * 0.05;
        Scale::Lin {
            lo: if from_zero && lo >= 0.0 { lo } else { lo - pad },
            hi: hi + pad,
        }
    }

    /// A log scale covering the positive `vals`, or None if there are none.
    pub fn log(vals: impl Iterator<Item = f64>) -> Option<Scale> {
        let (lo, hi) = min_max(vals.filter(|v| *v > 0.0))?;
        let (llo, lhi) = (lo.log10(), hi.log10());
        let pad = ((lhi - llo) * 0.05).max(0.05);
        Some(Scale::Log {
            lo: 10f64.powf(llo - pad),
            hi: 10f64.powf(lhi + pad),
        })
    }

    /// Whether `v` can be placed on this scale.
    pub fn accepts(&self, v: f64) -> bool {
        match self {
            Scale::Fixed { inner, .. } => inner.accepts(v),
            Scale::Log { .. } => v.is_finite() && v > 0.0,
            _ => v.is_finite(),
        }
    }

    /// The value range shown (categories span -0.5 .. n-0.5).
    pub fn bounds(&self) -> (f64, f64) {
        let r = self.range();
        (r.start, r.end)
    }

    fn unit(&self, v: f64) -> f64 {
        match self {
            Scale::Lin { lo, hi } => (v - lo) / (hi - lo),
            Scale::Log { lo, hi } => {
                (v.max(f64::MIN_POSITIVE).log10() - lo.log10()) / (hi.log10() - lo.log10())
            }
            Scale::Cat { names } => (v + 0.5) / names.len().max(1) as f64,
            Scale::Fixed { inner, .. } => inner.unit(v),
        }
    }
}

/// The smallest and largest finite value.
pub fn min_max(vals: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    vals.filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

/// "Nice" tick positions (1, 2, 5 × 10^k steps) covering [lo, hi].
fn nice_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let max = max.clamp(2, 12) as f64;
    let raw = (hi - lo) / max;
    if raw <= 0.0 || !raw.is_finite() {
        return vec![lo];
    }
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 50 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades = (b - a).max(1) as usize;
    let every = decades.div_ceil(max.max(1)).max(1);
    let within = |mults: &[f64]| -> Vec<f64> {
        (a..=b)
            .step_by(every)
            .flat_map(|k| mults.iter().map(move |m| m * 10f64.powi(k)))
            .filter(|v| *v >= lo && *v <= hi)
            .collect()
    };
    let mut out = within(&[1.0]);
    for mults in [
        &[1.0, 2.0, 5.0][..],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..],
    ] {
        if out.len() >= 4 {
            break;
        }
        let finer = within(mults);
        if finer.len() <= max.max(2) {
            out = finer;
        }
    }
    if out.len() < 2 {
        nice_ticks(lo, hi, max)
    } else {
        out
    }
}

impl Ranged for Scale {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let u = self.unit(*value);
        let u = if u.is_finite() {
            u.clamp(-10.0, 10.0)
        } else {
            0.0
        };
        (f64::from(limit.0) + u * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let max = hint.max_num_points();
        match self {
            Scale::Lin { lo, hi } => nice_ticks(*lo, *hi, max),
            Scale::Log { lo, hi } => log_ticks(*lo, *hi, max),
            Scale::Cat { names } => (0..names.len()).map(|i| i as f64).collect(),
            Scale::Fixed { inner, ticks } => {
                let (lo, hi) = inner.bounds();
                ticks
                    .iter()
                    .copied()
                    .filter(|t| *t >= lo && *t <= hi)
                    .collect()
            }
        }
    }

    fn range(&self) -> Range<f64> {
        match self {
            Scale::Lin { lo, hi } | Scale::Log { lo, hi } => *lo..*hi,
            Scale::Cat { names } => -0.5..(names.len() as f64 - 0.5),
            Scale::Fixed { inner, .. } => inner.range(),
        }
    }
}

impl ValueFormatter<f64> for Scale {
    fn format(v: &f64) -> String {
        text::num(*v)
    }

    fn format_ext(&self, v: &f64) -> String {
        match self {
            Scale::Cat { names } => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            }
            _ => text::num(*v),
        }
    }
}

/// Series colors: fixed per runtime name, then a qualitative palette.
pub fn runtime_color(name: &str) -> Option<RGBColor> {
    match name {
        "gmp" => Some(RGBColor(31, 119, 180)),
        "go" => Some(RGBColor(0, 158, 115)),
        "tokio" => Some(RGBColor(230, 120, 20)),
        "threads" => Some(RGBColor(120, 120, 120)),
        _ => None,
    }
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(204, 51, 102),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
    RGBColor(188, 189, 34),
    RGBColor(214, 39, 40),
    RGBColor(90, 90, 200),
    RGBColor(60, 140, 60),
];

/// One color per label: a label that is a runtime name gets that runtime's
/// color, the others take palette colors in order.
pub fn colors_for(labels: &[String]) -> Vec<RGBColor> {
    let mut next = 0;
    labels
        .iter()
        .map(|l| {
            runtime_color(l).unwrap_or_else(|| {
                let c = PALETTE[next % PALETTE.len()];
                next += 1;
                c
            })
        })
        .collect()
}

/// Median of the finite values of `vals` (None if there are none); the
/// median itself is `schedlab_protocol::util::median`, the runner's.
pub fn median(vals: &[f64]) -> Option<f64> {
    let finite: Vec<f64> = vals.iter().copied().filter(|x| x.is_finite()).collect();
    schedlab_protocol::util::median(&finite)
}

/// Draws up to `max` footnote lines in `area` (the strip under a chart).
pub fn draw_notes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    notes: &[String],
    max: usize,
) -> anyhow::Result<()> {
    let style = TextStyle::from((FONT, 14).into_font()).color(&RGBColor(70, 70, 70));
    let mut lines: Vec<String> = notes.iter().take(max).cloned().collect();
    if notes.len() > max {
        lines.push(format!(
            "… and {} more (see the outcome table)",
            notes.len() - max
        ));
    }
    for (i, l) in lines.iter().enumerate() {
        let (shown, cut) = text::cap(l, 150);
        let s = if cut > 0 {
            format!("{shown}…")
        } else {
            shown.to_string()
        };
        area.draw(&Text::new(s, (20, 4 + 18 * i as i32), style.clone()))
            .map_err(pe)?;
    }
    Ok(())
}

/// Height of the footnote strip for `n` notes shown at most `max`.
pub fn notes_height(n: usize, max: usize) -> u32 {
    if n == 0 {
        0
    } else {
        8 + 18 * (n.min(max) as u32 + u32::from(n > max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_title_shrinks_to_fit_and_a_short_one_keeps_24px() {
        ensure_fonts().unwrap();
        let short = title_font("Threads", 600);
        assert_eq!(short.get_size(), 24.0);
        let long = "Threads against connections (log x): Go's bug makes one thread per \
                    connection, tokio's stays flat";
        let at24 = (FONT, 24).into_font().style(FontStyle::Bold);
        assert!(
            at24.box_size(long).unwrap().0 > 700,
            "the case must overflow at 24 px"
        );
        let f = title_font(long, 700);
        assert!(f.get_size() < 24.0);
        assert!(f.box_size(long).unwrap().0 <= 700);
    }

    #[test]
    fn ticks_cover_the_range() {
        let t = nice_ticks(0.0, 10.0, 6);
        assert_eq!(t, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let l = log_ticks(1.0, 1000.0, 10);
        assert!(
            l.contains(&1.0) && l.contains(&100.0) && l.contains(&1000.0),
            "{l:?}"
        );
    }

    #[test]
    fn scales_map_into_the_pixel_range() {
        let s = Scale::Log { lo: 1.0, hi: 100.0 };
        assert_eq!(s.map(&10.0, (0, 100)), 50);
        let c = Scale::Cat {
            names: vec!["a".into(), "b".into()],
        };
        assert_eq!(c.map(&0.0, (0, 100)), 25);
        assert_eq!(c.format_ext(&1.0), "b");
        let l = Scale::linear([3.0, 3.0].into_iter(), true);
        assert!(matches!(l, Scale::Lin { lo, hi } if lo == 0.0 && hi > 3.0));
    }

    #[test]
    fn median_ignores_non_finite() {
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[f64::NAN]), None);
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mark {
    /// A line with a filled dot: a series.
    LineDot,
    /// A line only (time series).
    Line,
    /// A hollow circle: a point whose process timed out, crashed or hit a
    /// limit.
    Hollow,
    /// A shaded box: a phase.
    Shade,
}

/// One legend entry.
#[derive(Debug, Clone)]
pub struct LegendEntry {
    pub label: String,
    pub color: RGBColor,
    pub mark: Mark,
}

/// Width of the legend strip at the right of every chart.
pub const LEGEND_W: u32 = 270;

/// Draws the legend in its own strip (never over the data).
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    top: i32,
) -> anyhow::Result<()> {
    let style = TextStyle::from((FONT, 15).into_font()).color(&BLACK);
    for (i, e) in entries.iter().enumerate().take(24) {
        let y = top + 22 * i as i32;
        let c = e.color;
        match e.mark {
            Mark::LineDot | Mark::Line => {
                area.draw(&PathElement::new(vec![(8, y), (36, y)], c.stroke_width(2)))
                    .map_err(pe)?;
                if e.mark == Mark::LineDot {
                    area.draw(&Circle::new((22, y), 4, c.filled()))
                        .map_err(pe)?;
                }
            }
            Mark::Hollow => area
                .draw(&Circle::new((22, y), 6, c.stroke_width(2)))
                .map_err(pe)?,
            Mark::Shade => area
                .draw(&Rectangle::new([(8, y - 7), (36, y + 7)], c.filled()))
                .map_err(pe)?,
        }
        let (shown, cut) = text::cap(&e.label, 30);
        let label = if cut > 0 {
            format!("{shown}…")
        } else {
            shown.to_string()
        };
        area.draw(&Text::new(label, (44, y - 8), style.clone()))
            .map_err(pe)?;
    }
    Ok(())
}

/// A name of a row for `where` filters and series: `runtime`, `point_id`,
/// `repeat`, a param, or a metric.
pub fn lookup(
    p: &schedlab_protocol::results::PointResult,
    name: &str,
) -> Option<schedlab_protocol::metrics::Value> {
    use schedlab_protocol::metrics::Value;
    match name {
        "runtime" => Some(Value::Str(p.runtime.clone())),
        "point_id" => Some(Value::Str(p.point_id.clone())),
        "repeat" => Some(Value::Num(f64::from(p.repeat))),
        _ => p
            .params
            .get(name)
            .cloned()
            .or_else(|| p.metrics.get(name).map(|v| Value::Num(*v))),
    }
}

/// A row as the predicate language sees it (same names as [`lookup`]).
struct Row<'a>(&'a PointResult);

impl Context for Row<'_> {
    fn get(&self, name: &str) -> Option<Val> {
        lookup(self.0, name).map(|v| Val::from(&v))
    }
}

/// The rows a plot draws: not skipped, and matching its `where` (rows the
/// filter cannot judge are left out with a note).
pub fn select_rows<'a>(
    rows: &'a [PointResult],
    filter: Option<&str>,
    notes: &mut Vec<String>,
) -> Vec<&'a PointResult> {
    use schedlab_protocol::metrics::Outcome;
    let parsed = match filter.map(Predicate::parse) {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            notes.push(format!("where \"{}\": {e}", filter.unwrap_or_default()));
            return Vec::new();
        }
    };
    let mut unjudged = 0;
    let mut first_err = String::new();
    let matching: Vec<&PointResult> = rows
        .iter()
        .filter(|p| schedlab_protocol::knobs::in_view(filter, &p.params))
        .filter(|p| match &parsed {
            None => true,
            Some(f) => match f.eval(&Row(p)) {
                Ok(b) => b,
                Err(e) => {
                    unjudged += 1;
                    if first_err.is_empty() {
                        first_err = e.to_string();
                    }
                    false
                }
            },
        })
        .collect();
    if unjudged > 0 {
        notes.push(format!(
            "{unjudged} run(s) left out: where \"{}\": {first_err}",
            filter.unwrap_or_default()
        ));
    }
    let (skipped, out): (Vec<&PointResult>, Vec<&PointResult>) = matching
        .into_iter()
        .partition(|p| p.outcome == Outcome::Skipped);
    if let Some(first) = skipped.first() {
        let why = if first.outcome_detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", first.outcome_detail)
        };
        notes.push(format!(
            "{} of {} run(s) were skipped, not run{why}",
            skipped.len(),
            skipped.len() + out.len()
        ));
    }
    out
}

/// A row's series name: the values of `names` joined by " · ".
pub fn series_key(
    p: &schedlab_protocol::results::PointResult,
    names: &[String],
    default: &str,
) -> String {
    if names.is_empty() {
        return default.to_string();
    }
    names
        .iter()
        .map(|n| lookup(p, n).map_or_else(|| format!("{n}=?"), |v| v.to_string()))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Any figure this crate draws.
pub enum AnyFigure {
    Sweep(sweep::SweepFig),
    Timeseries(timeseries::TimeseriesFig),
    Cdf(cdf::CdfFig),
    NoData(NoData),
}

impl AnyFigure {
    /// The notes drawn under the chart (also printed in the report).
    pub fn notes(&self) -> &[String] {
        match self {
            AnyFigure::Sweep(f) => &f.notes,
            AnyFigure::Timeseries(f) => &f.notes,
            AnyFigure::Cdf(f) => &f.notes,
            AnyFigure::NoData(f) => &f.notes,
        }
    }
}

impl Figure for AnyFigure {
    fn size(&self) -> (u32, u32) {
        match self {
            AnyFigure::Sweep(f) => f.size(),
            AnyFigure::Timeseries(f) => f.size(),
            AnyFigure::Cdf(f) => f.size(),
            AnyFigure::NoData(f) => f.size(),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        match self {
            AnyFigure::Sweep(f) => f.draw(root),
            AnyFigure::Timeseries(f) => f.draw(root),
            AnyFigure::Cdf(f) => f.draw(root),
            AnyFigure::NoData(f) => f.draw(root),
        }
    }
}
