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
pub mod schedtrace;
pub mod style;
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
    /// Draws the figure; returns the hover boxes whose exact values the
    /// SVG shows as tooltips.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>)
    -> anyhow::Result<Vec<Hover>>;
}

/// A box of the picture (pixels) and the exact values to show when the
/// pointer rests on it: an SVG `<title>`, which browsers show as a
/// tooltip without any script.
#[derive(Debug, Clone, PartialEq)]
pub struct Hover {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
    pub text: String,
}

impl Hover {
    /// A square of side `2r` centred on a pixel.
    pub fn around((x, y): (i32, i32), r: i32, text: String) -> Hover {
        Hover {
            x: x - r,
            y: y - r,
            w: 2 * r,
            h: 2 * r,
            text,
        }
    }
}

/// Escapes text for an XML text node or attribute.
fn xml(s: &str) -> String {
    crate::text::html(s)
}

/// Adds invisible boxes with `<title>`s at the end of an SVG document, on
/// top of the picture, so hovering shows the exact values.
pub fn add_tooltips(svg: &str, hovers: &[Hover]) -> String {
    let Some(end) = svg.rfind("</svg>") else {
        return svg.to_string();
    };
    let mut g = String::from("<g class=\"tips\" fill=\"#000\" fill-opacity=\"0\">\n");
    for h in hovers.iter().filter(|h| h.w > 0 && h.h > 0) {
        g.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>\n",
            h.x,
            h.y,
            h.w,
            h.h,
            xml(&h.text)
        ));
    }
    g.push_str("</g>\n");
    format!("{}{g}{}", &svg[..end], &svg[end..])
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
    let svg_text = svg_string(fig)?;
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

/// The figure as an SVG document with its tooltips (no file written).
pub fn svg_string<F: Figure>(fig: &F) -> anyhow::Result<String> {
    ensure_fonts()?;
    guarded(|| {
        let mut s = String::new();
        let hovers;
        {
            let root = SVGBackend::with_string(&mut s, fig.size()).into_drawing_area();
            root.fill(&WHITE).map_err(pe)?;
            hovers = fig.draw(&root)?;
            root.present().map_err(pe)?;
        }
        Ok(add_tooltips(&s, &hovers))
    })
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

/// Title size, the same on every figure.
pub const TITLE_PX: u32 = 20;
const TITLE_LINE: u32 = 26;

/// Regular weight: the bitmap backend draws (and measures) titles in the
/// regular face whatever the style asks, while a browser draws the SVG's
/// `font-weight="bold"` about 15% wider, so a bold title measured to fit
/// ran off the right edge of the SVG. One weight keeps PNG and SVG alike.
fn title_font() -> FontDesc<'static> {
    (FONT, TITLE_PX).into_font()
}

/// The title's lines for a figure `width` wide: one line when it fits,
/// else wrapped (the size never changes, so every figure's title reads
/// alike).
pub fn title_lines(title: &str, width: u32) -> Vec<String> {
    let w = |s: &str| title_font().box_size(s).map(|(w, _)| w).unwrap_or(0);
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in title.split(' ') {
        let cand = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && w(&cand) > width {
            lines.push(std::mem::take(&mut cur));
            cur = word.to_string();
        } else {
            cur = cand;
        }
    }
    lines.push(cur);
    lines
}

/// Height of the title strip of a figure `width` wide.
pub fn title_height(title: &str, width: u32) -> u32 {
    12 + TITLE_LINE * title_lines(title, width - 40).len() as u32
}

/// The size of a figure `width` wide: its title strip, a body (panels or
/// chart beside the legend) `body` tall, and the notes footer.
pub fn figure_size(
    title: &str,
    width: u32,
    body: u32,
    notes: usize,
    max_notes: usize,
) -> (u32, u32) {
    (
        width,
        title_height(title, width) + body + notes_height(notes, max_notes),
    )
}

/// Draws the title at the top of `root`; returns the area under it.
pub fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    let (w, _) = root.dim_in_pixel();
    let h = title_height(title, w);
    let (top, rest) = root.split_vertically(h);
    let style = TextStyle::from(title_font()).color(&BLACK);
    for (i, l) in title_lines(title, w - 40).iter().enumerate() {
        top.draw(&Text::new(
            l.clone(),
            (20, 8 + (TITLE_LINE * i as u32) as i32),
            style.clone(),
        ))
        .map_err(pe)?;
    }
    Ok(rest)
}

/// The areas of a figure under its title: the chart (or the column of
/// panels, for timeseries and schedtrace), the legend column at its right,
/// and the notes footer under both.
pub fn one_chart_areas<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    notes: usize,
    max_notes: usize,
) -> anyhow::Result<[DrawingArea<DB, Shift>; 3]> {
    let (w, h) = root.dim_in_pixel();
    let (top, foot) = root.split_vertically(h - notes_height(notes, max_notes));
    let body = draw_title(&top, title)?;
    let (chart, legend) = body.split_horizontally(w - style::LEGEND_W);
    Ok([chart, legend, foot])
}

/// A one-chart figure's chart on `area`: margins and label areas.
pub fn one_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (x, y): (Scale, Scale),
) -> anyhow::Result<ChartContext<'a, DB, Cartesian2d<Scale, Scale>>> {
    ChartBuilder::on(area)
        .margin(14)
        .margin_top(6)
        .x_label_area_size(52)
        .y_label_area_size(80)
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
        .axis_desc_style((FONT, 16))
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
        (960, 140 + title_height(&self.title, 960))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<Vec<Hover>> {
        let body = draw_title(root, &self.title)?;
        let (w, h) = body.dim_in_pixel();
        body.draw(&Rectangle::new(
            [(20, 10), (w as i32 - 20, h as i32 - 20)],
            RGBColor(180, 180, 180).stroke_width(1),
        ))
        .map_err(pe)?;
        let style = TextStyle::from((FONT, 17).into_font()).color(&RGBColor(90, 90, 90));
        let (line, _) = text::cap(&self.reason, 110);
        body.draw(&Text::new(
            format!("no data: {line}"),
            (40, (h / 2) as i32 - 15),
            style,
        ))
        .map_err(pe)?;
        Ok(Vec::new())
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

/// A row's series identity from the `series` names: `runtime` when named,
/// the other names' values in words (`bug`, `cap=5`).
pub fn series_id(p: &PointResult, names: &[String]) -> style::SeriesId {
    use schedlab_protocol::metrics::Value;
    let runtime = names
        .iter()
        .any(|n| n == "runtime")
        .then(|| p.runtime.clone());
    let variant = names
        .iter()
        .filter(|n| *n != "runtime")
        .map(|n| match lookup(p, n) {
            Some(Value::Str(s)) => s,
            Some(v) => format!("{n}={v}"),
            None => format!("{n}=?"),
        })
        .collect::<Vec<_>>()
        .join(" · ");
    style::SeriesId { runtime, variant }
}

/// Any figure this crate draws.
pub enum AnyFigure {
    Sweep(sweep::SweepFig),
    Timeseries(timeseries::TimeseriesFig),
    Cdf(cdf::CdfFig),
    NoData(NoData),
    Sched(schedtrace::SchedFig),
}

impl AnyFigure {
    /// The notes drawn under the chart (also printed in the report).
    pub fn notes(&self) -> &[String] {
        match self {
            AnyFigure::Sweep(f) => &f.notes,
            AnyFigure::Timeseries(f) => &f.notes,
            AnyFigure::Cdf(f) => &f.notes,
            AnyFigure::NoData(f) => &f.notes,
            AnyFigure::Sched(f) => &f.notes,
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
            AnyFigure::Sched(f) => f.size(),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<Vec<Hover>> {
        match self {
            AnyFigure::Sweep(f) => f.draw(root),
            AnyFigure::Timeseries(f) => f.draw(root),
            AnyFigure::Cdf(f) => f.draw(root),
            AnyFigure::NoData(f) => f.draw(root),
            AnyFigure::Sched(f) => f.draw(root),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_title_wraps_at_one_size() {
        ensure_fonts().unwrap();
        assert_eq!(title_lines("Threads", 600), vec!["Threads"]);
        let long = "Threads against connections: Go's bug makes one thread per \
                    connection, tokio's stays flat";
        let lines = title_lines(long, 500);
        assert!(lines.len() >= 2, "{lines:?}");
        for l in &lines {
            assert!(title_font().box_size(l).unwrap().0 <= 500, "{l}");
        }
        assert_eq!(lines.join(" "), long);
    }

    #[test]
    fn tooltips_are_titles_on_invisible_boxes() {
        let svg = "<svg width=\"10\"><rect/></svg>\n";
        let out = add_tooltips(svg, &[Hover::around((5, 5), 3, "a < b".into())]);
        assert!(out.contains("<title>a &lt; b</title>"), "{out}");
        assert!(out.trim_end().ends_with("</svg>"));
        assert!(out.contains("fill-opacity=\"0\""));
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
