//! Renders the synthetic run of `common` and checks the files: PNGs decode
//! and have drawn, colored pixels where the data is; SVGs have paths; the
//! HTML has the verdict and fidelity tables with the constructed miss, the
//! interrupted banner, and no unescaped markup from the run directory.

mod common;

use common::*;
use schedlab_protocol::results::RunStatus;
use std::path::Path;

fn render_fixture(tag: &str, status: RunStatus) -> (TempDir, schedlab_report::Rendered) {
    let dir = TempDir::new(tag);
    build_run(&dir.0, status);
    let r = schedlab_report::render(&dir.0).unwrap_or_else(|e| panic!("render failed: {e:#}"));
    (dir, r)
}

fn plot(dir: &Path, scenario: &str, id: &str, ext: &str) -> std::path::PathBuf {
    dir.join("plots").join(scenario).join(format!("{id}.{ext}"))
}

fn writes_every_plot_as_png_and_svg(dir: &TempDir, r: &schedlab_report::Rendered) {
    assert!(r.html.is_file() && r.md.is_file());
    // baseline and all_skipped have 6 plots each (the never-started
    // scenario has a sweep too, so its "no data" cards are drawn as well).
    for sc in ["baseline", "all_skipped", "never_started"] {
        for id in [
            "01-thread-floor-by-gomaxprocs",
            "02-threads-over-time-at-procs-2",
            "03-probe-p99-over-runs",
            "04-peak-rss-log-axes",
        ] {
            for ext in ["png", "svg"] {
                let p = plot(&dir.0, sc, id, ext);
                assert!(p.is_file(), "missing {}", p.display());
                assert!(
                    r.plots.contains(&p),
                    "{} not in Rendered.plots",
                    p.display()
                );
            }
        }
    }
    assert_eq!(r.plots.len(), 3 * 6 * 2);
    // No temp file is left behind by the atomic writes.
    let leftovers: Vec<_> = std::fs::read_dir(dir.0.join("plots/baseline"))
        .expect("plots dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

fn sweep_png_has_a_colored_line_per_runtime(dir: &TempDir, _r: &schedlab_report::Rendered) {
    let img = decode_png(&plot(
        &dir.0,
        "baseline",
        "01-thread-floor-by-gomaxprocs",
        "png",
    ));
    // 560 px plus a notes strip naming the crashed run without a value.
    assert_eq!((img.width, img.height), (1000, 560 + 8 + 18));
    // The plotting area: right of the y labels, left of the legend strip.
    let area = (0.1, 0.7, 0.1, 0.8);
    let drawn = img.count_in(area.0, area.1, area.2, area.3, non_white);
    assert!(
        drawn > 2_000,
        "only {drawn} non-white pixels in the plotting area"
    );
    for (name, c) in [("gmp", GMP_BLUE), ("tokio", TOKIO_ORANGE), ("go", GO_GREEN)] {
        let n = img.count_in(area.0, area.1, area.2, area.3, near(c, 25));
        // A 2-px line across half the width plus dots: hundreds of pixels.
        assert!(
            n > 150,
            "{name}: only {n} pixels of its color in the plotting area"
        );
    }
    assert!(img.distinct_colors(area.0, area.1, area.2, area.3) >= 3);
}

fn timeseries_png_has_a_line_in_every_panel(dir: &TempDir, _r: &schedlab_report::Rendered) {
    let img = decode_png(&plot(
        &dir.0,
        "baseline",
        "02-threads-over-time-at-procs-2",
        "png",
    ));
    // 5 panels of 210 px under a title; check each panel's band has the
    // runtimes' colors (tokio's trace ends in a truncated line, still drawn).
    let h = f64::from(img.height);
    for k in 0..5 {
        let (y0, y1) = (
            (60.0 + 210.0 * k as f64) / h,
            (60.0 + 210.0 * (k + 1) as f64) / h,
        );
        for (name, c) in [("gmp", GMP_BLUE), ("tokio", TOKIO_ORANGE), ("go", GO_GREEN)] {
            let n = img.count_in(0.08, 0.74, y0, y1, near(c, 25));
            assert!(n > 100, "panel {k}: {name} has only {n} pixels");
        }
    }
    // The load phase is shaded (a pale orange band).
    let shade = img.count_in(0.08, 0.74, 0.05, 0.95, near([255, 243, 220], 6));
    assert!(shade > 5_000, "phase shading: {shade} pixels");
}

fn cdf_and_log_plots_draw_and_bad_input_gives_no_data_cards(
    dir: &TempDir,
    r: &schedlab_report::Rendered,
) {
    for id in ["03-probe-p99-over-runs", "04-peak-rss-log-axes"] {
        let img = decode_png(&plot(&dir.0, "baseline", id, "png"));
        let colored = img.count_in(0.1, 0.7, 0.1, 0.8, saturated);
        assert!(colored > 300, "{id}: {colored} colored pixels");
        assert!(img.distinct_colors(0.1, 0.7, 0.1, 0.8) >= 2, "{id}");
    }
    // The all-skipped scenario draws "no data" cards, not empty axes.
    let card = decode_png(&plot(
        &dir.0,
        "all_skipped",
        "01-thread-floor-by-gomaxprocs",
        "png",
    ));
    assert_eq!(card.width, 960);
    assert!(
        card.count_in(0.0, 1.0, 0.0, 1.0, non_white) > 500,
        "the card has text"
    );
    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(
        html.contains("no data: 27 of 27 run(s) were skipped, not run (cut by Ctrl-C"),
        "skipped reason in the caption"
    );
    assert!(
        html.contains("no data: no run has a value for threads_median"),
        "never-started reason in the caption"
    );
    assert!(
        html.contains("expected a number"),
        "bad `where` is reported"
    );
}

fn several_points_get_distinct_colors(dir: &TempDir, r: &schedlab_report::Rendered) {
    // 9 traces (3 runtimes x 3 points) match; 8 are drawn, each its own color.
    let img = decode_png(&plot(&dir.0, "baseline", "05-all-traces", "png"));
    let colors = img.distinct_colors(0.08, 0.74, 0.1, 0.8);
    assert!(
        colors >= 6,
        "only {colors} distinct line colors for 8 traces"
    );
    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(html.contains("9 traces match; the first 8 are drawn"));
}

fn svg_files_contain_drawn_paths(dir: &TempDir, _r: &schedlab_report::Rendered) {
    let svg = std::fs::read_to_string(plot(
        &dir.0,
        "baseline",
        "01-thread-floor-by-gomaxprocs",
        "svg",
    ))
    .expect("svg");
    assert!(
        svg.contains("<polyline") || svg.contains("<path"),
        "no line element in the SVG"
    );
    assert!(svg.contains("<circle"), "no markers in the SVG");
    assert!(!svg.contains("<script"), "SVG text must be escaped");
}

/// One render of the complete fixture, checked from several angles (a
/// render takes seconds in a debug build).
#[test]
fn complete_run_renders_files_plots_and_documents() {
    let (dir, r) = render_fixture("complete", RunStatus::Complete);
    writes_every_plot_as_png_and_svg(&dir, &r);
    sweep_png_has_a_colored_line_per_runtime(&dir, &r);
    timeseries_png_has_a_line_in_every_panel(&dir, &r);
    cdf_and_log_plots_draw_and_bad_input_gives_no_data_cards(&dir, &r);
    svg_files_contain_drawn_paths(&dir, &r);
    several_points_get_distinct_colors(&dir, &r);
    markdown_links_pngs_and_escapes_cells(&dir, &r);
}

#[test]
fn html_has_tables_marks_the_miss_and_escapes_text() {
    let (_dir, r) = render_fixture("html", RunStatus::Interrupted);
    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(
        !html.to_lowercase().contains("<script"),
        "unescaped <script in report.html"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile text is shown escaped"
    );
    // Interrupted is said before anything else.
    let banner = html.find("INTERRUPTED").expect("interrupted banner");
    assert!(
        banner < html.find("<h2>").expect("a section"),
        "banner must come first"
    );
    // Verdict table: claim row, runtime columns, status with N/M.
    assert!(html.contains("<table class=\"verdicts\">"));
    assert!(html.contains("<td class=\"v-reproduced\">reproduced (1/1 points)"));
    assert!(html.contains("<td class=\"v-not-reproduced\">not reproduced (0/1 points)"));
    assert!(html.contains("<td class=\"v-no-data\">no data (0/0 points)"));
    // Fidelity: the constructed miss (9 vs 4, tolerance 1) is a red miss;
    // the missing gmp side prints a dash, not 0.
    assert!(html.contains("<table class=\"fidelity\">"));
    let row = html
        .split("<tr>")
        .find(|r| r.contains("procs=2") && r.contains("threads_median"))
        .expect("procs=2 fidelity row");
    assert!(
        row.contains(
            "<td>9</td><td>4</td><td>5</td><td>±1 (absolute)</td><td class=\"miss\">miss</td>"
        ),
        "{row}"
    );
    let row = html
        .split("<tr>")
        .find(|r| r.contains("procs=4") && r.contains("threads_median"))
        .expect("procs=4 row");
    assert!(
        row.contains("<td>—</td><td>4</td>") && row.contains("no gmp value"),
        "{row}"
    );
    // Outcomes: the timeout and the crash with their details.
    assert!(html.contains("ok ×2, timeout ×1"));
    assert!(html.contains("killed after 7 s"));
    assert!(html.contains("exit status 101"));
    // Skipped runtime line, host facts, inline plots, capped event text.
    assert!(
        html.contains("threads column skipped</b>: no Go toolchain found; install golang-1.19-go")
    );
    assert!(html.contains("Linux 6.1 &lt;b&gt;"));
    assert!(
        html.matches("<svg role=\"img\"").count() >= 10,
        "plots are inline SVG"
    );
    assert!(
        html.contains("more bytes not shown"),
        "long event text is capped"
    );
    assert!(html.contains("M3 spins in checkTimers on gmp"));
    // Self-contained: nothing is fetched (the SVG namespace URI is not a fetch).
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http") && !html.contains("@import"),
        "no network"
    );
}

fn markdown_links_pngs_and_escapes_cells(_dir: &TempDir, r: &schedlab_report::Rendered) {
    let md = std::fs::read_to_string(&r.md).expect("md");
    assert!(md.contains("](plots/baseline/01-thread-floor-by-gomaxprocs.png)"));
    assert!(md.contains("| **miss** |"), "miss is marked in markdown");
    // Outside fenced blocks (event texts, shown verbatim as code) no markup
    // from the run directory survives.
    let outside: String = md.split("```").step_by(2).collect();
    assert!(
        !outside.replace("\\<", "").contains("<script"),
        "markup escaped in markdown"
    );
    assert!(
        md.contains("\\<script>"),
        "escaped with a backslash, not an entity"
    );
    assert!(
        !outside.contains("&lt;") && !outside.contains("&amp;"),
        "no HTML entities"
    );
}

#[test]
fn missing_run_json_is_an_error_and_odd_runs_do_not_panic() {
    let dir = TempDir::new("odd");
    let err = schedlab_report::render(&dir.0).expect_err("no run.json");
    assert!(format!("{err:#}").contains("run.json"), "{err:#}");
    // A run.json with no sweeps and nothing else renders an almost empty report.
    std::fs::write(
        dir.0.join("run.json"),
        r#"{"run_id":"empty","status":"running","started_unix":0,"quick":false,"host":{},"sweeps":[]}"#,
    )
    .expect("write");
    let r = schedlab_report::render(&dir.0).expect("empty run renders");
    let html = std::fs::read_to_string(&r.html).expect("html");
    assert!(html.contains("This run has no scenario results"));
    assert!(html.contains("had not finished"));
    assert!(r.plots.is_empty());
    // A garbage points.json is a warning, not a failure.
    std::fs::create_dir_all(dir.0.join("junk")).expect("mkdir");
    std::fs::write(dir.0.join("junk/points.json"), "[{\"not\": 1}").expect("write");
    let r = schedlab_report::render(&dir.0).expect("garbage points renders");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("points.json is unreadable")),
        "{:?}",
        r.warnings
    );
    // A row of the wrong shape is left out, the others kept.
    std::fs::write(dir.0.join("junk/points.json"), "[{\"not\": 1}]").expect("write");
    let r = schedlab_report::render(&dir.0).expect("bad row renders");
    assert!(
        r.warnings.iter().any(|w| w.contains("1 row(s) unreadable")),
        "{:?}",
        r.warnings
    );
}
