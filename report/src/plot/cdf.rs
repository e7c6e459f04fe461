//! `kind: cdf` — the distribution of one metric over the runs (every
//! matching point × repeat), one step curve per series: at x, the curve's
//! height is the fraction of that series' runs whose value is <= x.
//!
//! The fraction is of *all* the series' runs. A run without the metric
//! (for `time_to_hang_s`: a run that did not hang) never reaches any x, so
//! the curve ends in a plateau at (runs with a value) / (all runs) rather
//! than at 1: "7 of 20 runs hung within 15 s" reads off the plateau. A
//! series none of whose runs has the metric is still drawn, as the flat
//! line at 0 ("0 of 20 runs"), so a point where nothing happened is seen
//! rather than missing.
//!
//! Only runs that ended `ok` make the curve; runs that timed out, crashed or
//! hit a limit but still carry the metric are drawn as hollow circles at
//! height 1.0 (above the curve they would distort), and the legend counts
//! them, so they are visible but do not bend the distribution.

use super::style::{self, Entry, Key, SeriesId, Style};
use super::{
    AnyFigure, Figure, Hover, NoData, Scale, draw_notes, notes_height, one_chart, one_chart_areas,
    one_chart_mesh, pe, select_rows, series_id,
};
use crate::load::Scenario;
use crate::text;
use plotters::coord::Shift;
use plotters::prelude::*;
use schedlab_protocol::metrics::Outcome;
use schedlab_protocol::sweep::PlotSpec;

const MAX_NOTES: usize = 4;

pub struct CdfSeries {
    pub label: String,
    pub style: Style,
    /// Sorted ok values.
    pub ok: Vec<f64>,
    pub bad: Vec<f64>,
    /// The series' runs, with and without a value: the curve's
    /// denominator.
    pub runs: usize,
}

pub struct CdfFig {
    pub title: String,
    pub x_label: String,
    pub x: Scale,
    pub series: Vec<CdfSeries>,
    pub notes: Vec<String>,
}

pub fn build(spec: &PlotSpec, sc: &Scenario) -> AnyFigure {
    let no_data = |reason: String, notes: Vec<String>| {
        AnyFigure::NoData(NoData {
            title: spec.title.clone(),
            reason,
            notes,
        })
    };
    let Some(metric) = spec.y.names().first().map(|s| s.to_string()) else {
        return no_data("the plot spec has no y".into(), Vec::new());
    };
    let mut notes = Vec::new();
    let rows = select_rows(&sc.points, spec.filter.as_deref(), &mut notes);
    let max = rows
        .iter()
        .filter_map(|p| p.metrics.get(&metric))
        .fold(
            0.0,
            |a: f64, b| if b.is_finite() { a.max(b.abs()) } else { a },
        );
    let (unit, factor) = text::display_unit(&metric, max);
    let label = text::axis_title(&text::metric_words(&metric), unit, spec.log_x);
    let mut keys: Vec<SeriesId> = Vec::new();
    let mut vals: Vec<(Vec<f64>, Vec<f64>, usize)> = Vec::new();
    let mut missing = 0;
    for p in rows {
        let key = series_id(p, &spec.series);
        let i = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            vals.push((Vec::new(), Vec::new(), 0));
            keys.len() - 1
        });
        vals[i].2 += 1;
        match p
            .metrics
            .get(&metric)
            .map(|v| v * factor)
            .filter(|v| v.is_finite())
        {
            Some(v) if p.outcome == Outcome::Ok => vals[i].0.push(v),
            Some(v) => vals[i].1.push(v),
            None => missing += 1,
        }
    }
    if missing > 0 {
        notes.push(format!(
            "{missing} run(s) have no value for {metric}: each counts in its curve's denominator, so the curve ends below 1"
        ));
    }
    let all = || {
        vals.iter()
            .flat_map(|(a, b, _)| a.iter().chain(b.iter()).copied())
    };
    let x = if spec.log_x { Scale::log(all()) } else { None }
        .unwrap_or_else(|| Scale::linear(all(), false));
    let styles = style::assign(&keys);
    let series: Vec<CdfSeries> = keys
        .into_iter()
        .zip(vals)
        .zip(styles)
        .map(|((id, (mut ok, bad, runs)), style)| {
            let label = match id.label() {
                l if l.is_empty() => text::metric_words(&metric),
                l => l,
            };
            ok.retain(|v| x.accepts(*v));
            ok.sort_by(f64::total_cmp);
            CdfSeries {
                label,
                style,
                ok,
                bad: bad.into_iter().filter(|v| x.accepts(*v)).collect(),
                runs,
            }
        })
        .collect();
    if series.iter().all(|s| s.ok.is_empty() && s.bad.is_empty()) {
        return no_data(
            notes
                .first()
                .cloned()
                .unwrap_or_else(|| format!("no run has a value for {metric}")),
            notes,
        );
    }
    AnyFigure::Cdf(CdfFig {
        title: spec.title.clone(),
        x_label: spec.x_label.clone().unwrap_or(label),
        x,
        series,
        notes,
    })
}

/// The step curve through sorted values, as fractions of `runs` runs,
/// carried on to `x_end` so the plateau is drawn; with no value at all, the
/// line at 0 across the axis (`x_start` to `x_end`).
fn steps(sorted: &[f64], runs: usize, (x_start, x_end): (f64, f64)) -> Vec<(f64, f64)> {
    if sorted.is_empty() {
        return vec![(x_start, 0.0), (x_end, 0.0)];
    }
    let n = runs.max(sorted.len()).max(1) as f64;
    let mut out = Vec::with_capacity(sorted.len() * 2 + 1);
    for (i, v) in sorted.iter().enumerate() {
        out.push((*v, i as f64 / n));
        out.push((*v, (i + 1) as f64 / n));
    }
    if let Some(&(x, y)) = out.last()
        && x < x_end
    {
        out.push((x_end, y));
    }
    out
}

impl Figure for CdfFig {
    fn size(&self) -> (u32, u32) {
        let h = 520 + super::title_height(&self.title, 1000) - 38;
        let legend = style::legend_height(&self.legend()) + 80;
        (
            1000,
            h.max(legend) + notes_height(self.notes.len(), MAX_NOTES),
        )
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> anyhow::Result<Vec<Hover>> {
        let [chart_area, legend_area, foot] =
            one_chart_areas(root, &self.title, self.notes.len(), MAX_NOTES)?;
        let axes = (self.x.clone(), Scale::Lin { lo: 0.0, hi: 1.05 });
        let mut chart = one_chart(&chart_area, axes)?;
        one_chart_mesh(&mut chart, &self.x_label, "fraction of runs <= x")
            .draw()
            .map_err(pe)?;
        let mut hovers = Vec::new();
        for s in &self.series {
            let st = s.style;
            let pts: Vec<(i32, i32)> = steps(&s.ok, s.runs, self.x.bounds())
                .into_iter()
                .map(|p| chart.backend_coord(&p))
                .collect();
            style::draw_path_px(root, pts, st.color, st.dash)?;
            let n = s.runs.max(s.ok.len()).max(1) as f64;
            for (i, v) in s.ok.iter().enumerate() {
                let c = chart.backend_coord(&(*v, (i + 1) as f64 / n));
                hovers.push(Hover::around(
                    c,
                    6,
                    format!(
                        "{}: {} of {} runs <= {}",
                        s.label,
                        i + 1,
                        s.runs,
                        text::num(*v)
                    ),
                ));
            }
            for v in &s.bad {
                let c = chart.backend_coord(&(*v, 1.0));
                style::draw_marker_px(root, c, st.marker, st.color, 7, false)?;
                hovers.push(Hover::around(
                    c,
                    8,
                    format!(
                        "{}: {} from a run that did not end ok",
                        s.label,
                        text::num(*v)
                    ),
                ));
            }
        }
        style::draw_legend(&legend_area, &self.legend(), 10)?;
        draw_notes(&foot, &self.notes, MAX_NOTES)?;
        Ok(hovers)
    }
}

impl CdfFig {
    fn legend(&self) -> Vec<Entry> {
        let mut legend: Vec<Entry> = self
            .series
            .iter()
            .map(|s| {
                let extra = if s.bad.is_empty() {
                    String::new()
                } else {
                    format!(", {} not ok", s.bad.len())
                };
                Entry::new(
                    format!("{} ({} of {} runs{extra})", s.label, s.ok.len(), s.runs),
                    Key::Series(s.style),
                )
            })
            .collect();
        if self.series.iter().any(|s| !s.bad.is_empty()) {
            legend.push(Entry::new("hollow: timeout / crash / limit", Key::Hollow));
        }
        legend
    }
}

#[cfg(test)]
mod tests {
    use super::steps;

    #[test]
    fn the_curve_is_a_fraction_of_all_runs() {
        // 2 of 4 runs have a value: the curve climbs to 0.5 and stays
        // there to the axis's end.
        let st = steps(&[1.0, 3.0], 4, (0.0, 5.0));
        assert_eq!(
            st,
            vec![(1.0, 0.0), (1.0, 0.25), (3.0, 0.25), (3.0, 0.5), (5.0, 0.5)]
        );
        // Every run has a value: the curve ends at 1.
        assert_eq!(steps(&[2.0], 1, (0.0, 2.0)).last(), Some(&(2.0, 1.0)));
        // No run has a value: the flat line at 0 across the axis.
        assert_eq!(steps(&[], 20, (-1.0, 5.0)), vec![(-1.0, 0.0), (5.0, 0.0)]);
    }
}
