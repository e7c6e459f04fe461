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

/// Every scenario section that ran, on its own page in the browser: each of
/// its figures shows series pixels (no empty panel for a point that ran),
/// and no legend or axis label in any inline SVG was cut short.
#[test]
fn every_scenario_section_shows_each_figure_with_whole_legends() {
    let dir = TempDir::new("browser-sections");
    build_run(&dir.0, RunStatus::Complete);
    let r = schedlab_report::render(&dir.0).expect("render");
    let html = std::fs::read_to_string(&r.html).expect("report.html");

    // Cut labels: the SVG text of a legend or label never ends in an
    // ellipsis (legends wrap instead).
    for t in html.split("<text").skip(1) {
        let body = t.split_once('>').map_or("", |(_, b)| b);
        let text = body.split("</text>").next().unwrap_or("").trim();
        assert!(
            !text.ends_with('…') && !text.ends_with("..."),
            "a cut label in the report: {text:?}"
        );
    }

    let head = &html[..html.find("<body").expect("a body")];
    let sections: Vec<&str> = html.split("<section id=\"sc-").skip(1).collect();
    assert!(!sections.is_empty(), "no scenario section");
    let mut looked = 0;
    for sec in sections {
        let name = sec.split('"').next().unwrap_or("?").to_string();
        let sec = sec.split("</section>").next().unwrap_or(sec);
        let figures = sec.matches("<figure>").count();
        // A section none of whose points ran (all skipped: its figures are
        // "no data" cards by design) is not what this test looks at.
        if figures == 0 || !sec.contains("class=\"ok\"") {
            continue;
        }
        let page = dir.0.join(format!("section-{name}.html"));
        std::fs::write(
            &page,
            format!("{head}<body><section>{sec}</section></body></html>"),
        )
        .expect("write section page");
        if !Path::new(CHROMIUM).exists() {
            continue;
        }
        let shot = dir.0.join(format!("section-{name}.png"));
        let profile = dir.0.join(format!("profile-{name}"));
        std::fs::create_dir_all(&profile).expect("profile dir");
        screenshot_sized(&page, &profile, &shot, (1280, 700 * figures as u32 + 1400));
        let img = decode_png(&shot);
        // Bands of 100 px down the page holding a runtime colour: each
        // figure (about 560 px tall) must bring at least one.
        let bands = (img.height / 100) as usize;
        let coloured = (0..bands)
            .filter(|&b| {
                let (y0, y1) = (b as f64 / bands as f64, (b + 1) as f64 / bands as f64);
                [GMP_BLUE, TOKIO_ORANGE, GO_GREEN]
                    .iter()
                    .any(|c| img.count_in(0.0, 1.0, y0, y1, near(*c, 30)) > 40)
            })
            .count();
        assert!(
            coloured >= figures,
            "{name}: {figures} figures but only {coloured} 100-px bands with series colours"
        );
        looked += 1;
    }
    if Path::new(CHROMIUM).exists() {
        assert!(looked >= 1, "no scenario section was looked at");
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
