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

/// Runs Chromium in its own process group; kills that group if it hangs.
fn screenshot(html: &Path, profile: &Path, out: &Path) {
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
        .arg("--window-size=1280,2000")
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
