//! Opens the rendered report.html in headless Chromium and checks the
//! screenshot shows the inline SVG plots (their series colors), i.e. the
//! page renders offline without scripts, fonts or network.
//!
//! Without Chromium the test prints why and passes, unless `CI` is set
//! (CI installs Debian's `chromium`), in which case it fails.

mod common;

use common::*;
use schedlab_protocol::results::RunStatus;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
/// Generous: a cold Chromium start on a loaded 2-core box takes seconds.
const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn report_html_screenshot_shows_the_plots() {
    if !Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{CHROMIUM} is missing and CI is set: install the chromium package"
        );
        println!(
            "SKIPPED: {CHROMIUM} not found (install Debian's chromium package to run this test)"
        );
        return;
    }
    let dir = TempDir::new("browser");
    build_run(&dir.0, RunStatus::Complete);
    let r = schedlab_report::render(&dir.0).expect("render");
    let profile = dir.0.join("chromium-profile");
    std::fs::create_dir_all(&profile).expect("profile dir");
    let shot = dir.0.join("screenshot.png");
    screenshot(&r.html, &profile, &shot);

    let img = decode_png(&shot);
    assert_eq!((img.width, img.height), (1280, 2000));
    // The first plot (thread floor) is in view: its gmp-blue line, dots and
    // legend. Table cells use pale tints, never these saturated colors.
    let blue = img.count_in(0.0, 1.0, 0.0, 1.0, near(GMP_BLUE, 30));
    assert!(
        blue > 150,
        "only {blue} gmp-blue pixels: plots not rendered?"
    );
    let colors = img.distinct_colors(0.0, 1.0, 0.5, 1.0);
    assert!(
        colors >= 3,
        "only {colors} saturated colors in the lower half"
    );
}

/// Every scenario section that ran (two in the fixture: `baseline`, and
/// `leak` whose legend labels are wider than the legend strip), each of its
/// figures alone in a slot of known height, screenshotted in the browser:
///
/// * a figure that is a chart (it has y-axis labels) shows series colours
///   in the data area of each of its panels (no empty panel for a point that
///   ran); in `leak`, whose runtimes' values differ, every runtime's colour
///   in every panel; the only figure allowed to be a card is the fixture's
///   plot with a bad filter;
/// * no legend or label is cut: no SVG text ends in an ellipsis, every
///   variant word of `leak` is whole in its legend once the wrapped lines
///   are joined, and no dark (text) pixel touches a figure's right edge,
///   where the browser clips what overflows.
#[test]
fn every_scenario_section_shows_each_figure_with_whole_legends() {
    let dir = TempDir::new("browser-sections");
    build_run(&dir.0, RunStatus::Complete);
    add_leak_scenario(&dir.0);
    let r = schedlab_report::render(&dir.0).expect("render");
    let html = std::fs::read_to_string(&r.html).expect("report.html");

    // Cut labels: the SVG text of a legend or label never ends in an
    // ellipsis (legends wrap instead).
    for t in svg_texts(&html) {
        assert!(
            !t.text.ends_with('…') && !t.text.ends_with("..."),
            "a cut label in the report: {:?}",
            t.text
        );
    }

    let chromium = Path::new(CHROMIUM).exists();
    let mut looked = Vec::new();
    for sec in html.split("<section id=\"sc-").skip(1) {
        let name = sec.split('"').next().unwrap_or("?").to_string();
        let sec = sec.split("</section>").next().unwrap_or(sec);
        // A section none of whose points ran (all skipped: its figures are
        // "no data" cards by design) is not what this test looks at.
        if !sec.contains("<figure>") || !sec.contains("class=\"ok\"") {
            continue;
        }
        let figs: Vec<Figure> = sec
            .split("<figure>")
            .skip(1)
            .map(|f| Figure::parse(&name, f.split("</figure>").next().unwrap_or(f)))
            .collect();
        for f in &figs {
            let expect_card = f.title.starts_with("Bad filter");
            assert_eq!(
                f.panels.is_empty(),
                expect_card,
                "{}: {:?} is {} (y-axis labels: {})",
                name,
                f.title,
                if f.panels.is_empty() {
                    "a card, not a chart"
                } else {
                    "a chart"
                },
                f.panels.len()
            );
        }
        if name == "leak" {
            let sweep = figs
                .iter()
                .find(|f| f.title == "Goroutines by senders")
                .expect("leak's sweep plot");
            let legend: String = sweep
                .texts
                .iter()
                .filter(|t| t.x >= sweep.width - LEGEND_W)
                .map(|t| t.text.replace(' ', ""))
                .collect();
            for v in LEAK_VARIANTS {
                assert!(
                    legend.contains(v),
                    "leak: variant {v:?} is not whole in the legend {legend:?}"
                );
            }
        }
        if !chromium {
            continue;
        }
        look_at_figures(&dir.0, &name, &figs);
        looked.push(name);
    }
    if chromium {
        looked.sort();
        assert_eq!(
            looked,
            ["baseline", "leak"],
            "the scenario sections that ran, screenshotted"
        );
    }
}

/// Width of the legend strip at the right of a chart (plot::style::LEGEND_W).
const LEGEND_W: f64 = schedlab_report::plot::style::LEGEND_W as f64;
/// Left margin of a chart holding the y labels and ticks, not data.
const AXIS_W: f64 = 100.0;
/// Space between two figures' slots.
const GAP: u32 = 24;

/// One `<text>` element of an inline SVG.
struct SvgText {
    x: f64,
    /// The y of a `rotate(270, x, y)` transform: a y-axis label, at the
    /// middle of its panel.
    rotated_y: Option<f64>,
    text: String,
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[at..].split('"').next().map(String::from)
}

fn svg_texts(svg: &str) -> Vec<SvgText> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let (tag, body) = t.split_once('>')?;
            let text = body
                .split("</text>")
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            let rotated_y = attr(tag, "transform")
                .and_then(|tr| {
                    tr.strip_prefix("rotate(")?
                        .split(',')
                        .nth(2)
                        .map(String::from)
                })
                .and_then(|y| y.trim_end_matches(')').trim().parse().ok());
            Some(SvgText {
                x: attr(tag, "x").and_then(|x| x.parse().ok()).unwrap_or(0.0),
                rotated_y,
                text,
            })
        })
        .collect()
}

/// A figure of a section: its inline SVG and what the test reads from it.
struct Figure {
    title: String,
    svg: String,
    width: f64,
    height: f64,
    texts: Vec<SvgText>,
    /// (top, bottom) of each panel in SVG pixels; none for a card.
    panels: Vec<(f64, f64)>,
}

impl Figure {
    fn parse(section: &str, fig: &str) -> Figure {
        let at = fig
            .find("<svg")
            .unwrap_or_else(|| panic!("{section}: a figure without an inline SVG"));
        let svg = &fig[at..fig.find("</svg>").map_or(fig.len(), |e| e + 6)];
        let tag = svg.split('>').next().unwrap_or("");
        let num = |n: &str| -> f64 {
            attr(tag, n)
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{section}: svg without {n}: {tag}"))
        };
        let (width, height) = (num("width"), num("height"));
        let texts = svg_texts(svg);
        let mut mids: Vec<f64> = texts.iter().filter_map(|t| t.rotated_y).collect();
        mids.sort_by(f64::total_cmp);
        // Panels meet half-way between two y-axis labels' middles.
        let panels = (0..mids.len())
            .map(|i| {
                let top = if i == 0 {
                    0.0
                } else {
                    (mids[i - 1] + mids[i]) / 2.0
                };
                let bottom = mids.get(i + 1).map_or(height, |n| (mids[i] + n) / 2.0);
                (top, bottom)
            })
            .collect();
        Figure {
            title: attr(tag, "aria-label").unwrap_or_default(),
            svg: svg.to_string(),
            width,
            height,
            texts,
            panels,
        }
    }
}

/// Screenshots a section's figures stacked at known offsets and checks each
/// panel's series pixels and each figure's right edge.
fn look_at_figures(dir: &Path, name: &str, figs: &[Figure]) {
    let mut body = String::new();
    let mut tops = Vec::new();
    let mut y = 0;
    for f in figs {
        tops.push(y);
        let h = f.height.ceil() as u32 + GAP;
        body.push_str(&format!(
            "<div style=\"height:{h}px;overflow:hidden\">{}</div>",
            f.svg
        ));
        y += h;
    }
    let page = dir.join(format!("section-{name}.html"));
    std::fs::write(
        &page,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>body{{margin:0;background:#fff}} \
             svg{{display:block}}</style></head><body>{body}</body></html>"
        ),
    )
    .expect("write section page");
    let shot = dir.join(format!("section-{name}.png"));
    let profile = dir.join(format!("profile-{name}"));
    std::fs::create_dir_all(&profile).expect("profile dir");
    screenshot_sized(&page, &profile, &shot, (1280, y));
    let img = decode_png(&shot);
    assert_eq!(img.height, y, "{name}: screenshot height");
    let (iw, ih) = (f64::from(img.width), f64::from(img.height));
    let colours = [("gmp", GMP_BLUE), ("tokio", TOKIO_ORANGE), ("go", GO_GREEN)];
    for (f, top) in figs.iter().zip(tops) {
        let top = f64::from(top);
        for (i, (p0, p1)) in f.panels.iter().enumerate() {
            let (x0, x1) = (AXIS_W / iw, (f.width - LEGEND_W) / iw);
            let (y0, y1) = ((top + p0) / ih, (top + p1) / ih);
            let seen: Vec<&str> = colours
                .iter()
                .filter(|(_, c)| img.count_in(x0, x1, y0, y1, near(*c, 30)) > 20)
                .map(|(rt, _)| *rt)
                .collect();
            assert!(
                !seen.is_empty(),
                "{name}: {:?} panel {} of {} has no series pixels (empty panel)",
                f.title,
                i + 1,
                f.panels.len()
            );
            if name == "leak" {
                assert_eq!(
                    seen,
                    ["gmp", "tokio", "go"],
                    "{name}: {:?} panel {}: runtimes whose colour shows",
                    f.title,
                    i + 1
                );
            }
        }
        // The browser clips an SVG at its edge: a label that runs over
        // leaves dark pixels in the last columns.
        let (x0, x1) = ((f.width - 3.0) / iw, f.width / iw);
        let dark = img.count_in(x0, x1, top / ih, (top + f.height) / ih, |p| {
            p.iter().all(|c| *c < 120)
        });
        assert_eq!(
            dark, 0,
            "{name}: {:?} has text cut at its right edge",
            f.title
        );
    }
}

/// Runs Chromium in its own process group; kills that group if it hangs.
fn screenshot(html: &Path, profile: &Path, out: &Path) {
    screenshot_sized(html, profile, out, (1280, 2000));
}

fn screenshot_sized(html: &Path, profile: &Path, out: &Path, (w, h): (u32, u32)) {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg(format!("--window-size={w},{h}"))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait chromium") {
            break Some(s);
        }
        if start.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Chromium leaves helper processes in its group: end the group we made.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
    let status = status.unwrap_or_else(|| panic!("chromium did not finish within {LIMIT:?}"));
    assert!(status.success(), "chromium failed: {status}");
    assert!(out.is_file(), "chromium wrote no screenshot");
}
