//! A synthetic run directory built from the protocol types, and PNG pixel
//! helpers, shared by the report's integration tests.
//!
//! The fixture is small but covers every branch the report must survive:
//! three runtimes over a numeric axis with 3 repeats, a timeout that still
//! has a value (drawn hollow), a crash without metrics (named in the notes),
//! a NaN metric, a constructed fidelity miss, a missing fidelity side, a
//! scenario whose points were all skipped, a scenario that never started,
//! a truncated `.jsonl` line, and markup in texts that must be escaped.
#![allow(dead_code)]

use schedlab_protocol::metrics::{
    ExitLine, MergedLine, Outcome, Params, ProbeStats, ProcSample, Value,
};
use schedlab_protocol::results::{
    FidelityRow, POINTS, PointResult, RunMeta, RunStatus, VerdictRow, VerdictStatus,
};
use schedlab_protocol::sweep::{
    FidelitySpec, Holds, OneOrMany, PlotKind, PlotSpec, Sweep, VerdictSpec,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A temp directory removed on drop (kept when SCHEDLAB_KEEP_TEST_DIR is set).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("schedlab-report-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("SCHEDLAB_KEEP_TEST_DIR").is_some() {
            eprintln!("kept test directory {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub const XSS: &str = "<script>alert(1)</script>";

fn plot(
    kind: PlotKind,
    title: &str,
    x: Option<&str>,
    y: OneOrMany,
    series: &[&str],
    filter: Option<&str>,
) -> PlotSpec {
    PlotSpec {
        kind,
        title: title.into(),
        caption: None,
        x: x.map(String::from),
        y,
        series: series.iter().map(|s| s.to_string()).collect(),
        filter: filter.map(String::from),
        log_x: false,
        log_y: false,
        x_label: None,
        y_label: None,
    }
}

fn sweep(name: &str, plots: Vec<PlotSpec>) -> Sweep {
    Sweep {
        scenario: name.into(),
        incident: format!("hello world has 3+ threads {XSS}"),
        runtimes: vec!["gmp".into(), "tokio".into(), "go".into()],
        duration: "2s".into(),
        grace: None,
        repeats: 3,
        sample_ms: None,
        grid: vec![(
            "procs".into(),
            vec![Value::Num(1.0), Value::Num(2.0), Value::Num(4.0)],
        )],
        per_runtime: Vec::new(),
        skip: Vec::new(),
        default: None,
        quick: None,
        plots,
        verdicts: vec![VerdictSpec {
            id: "go_floor".into(),
            claim: "real Go starts 3 threads at GOMAXPROCS=1".into(),
            filter: Some("runtime == 'go' && procs == 1".into()),
            expect: "threads_median == 3".into(),
            holds: Holds::Reproduced,
        }],
        fidelity: vec![FidelitySpec {
            metric: "threads_median".into(),
            tolerance: Value::Num(1.0),
            filter: None,
        }],
        notes: BTreeMap::from([(
            "tokio".to_string(),
            "tokio has no sysmon & no P handoff".to_string(),
        )]),
        go_schedtrace: true,
    }
}

pub fn baseline_plots() -> Vec<PlotSpec> {
    let mut log = plot(
        PlotKind::Sweep,
        "Peak RSS (log axes)",
        Some("procs"),
        OneOrMany::One("rss_peak_bytes".into()),
        &["runtime"],
        None,
    );
    log.log_x = true;
    log.log_y = true;
    vec![
        plot(
            PlotKind::Sweep,
            "Thread floor by GOMAXPROCS",
            Some("procs"),
            OneOrMany::One("threads_median".into()),
            &["runtime"],
            None,
        ),
        plot(
            PlotKind::Timeseries,
            "Threads over time at procs=2",
            None,
            OneOrMany::Many(
                [
                    "threads",
                    "r_threads",
                    "cores",
                    "probe_p99_us",
                    "goroutines",
                ]
                .map(String::from)
                .to_vec(),
            ),
            &[],
            Some("procs == 2"),
        ),
        plot(
            PlotKind::Cdf,
            "Probe p99 over runs",
            None,
            OneOrMany::One("probe_p99_us".into()),
            &["runtime"],
            None,
        ),
        log,
        plot(
            PlotKind::Timeseries,
            "All traces",
            None,
            OneOrMany::One("threads".into()),
            &[],
            None,
        ),
        plot(
            PlotKind::Sweep,
            &format!("Bad filter {XSS}"),
            Some("procs"),
            OneOrMany::One("threads_median".into()),
            &[],
            Some("procs =="),
        ),
    ]
}

/// Threads a runtime shows at `procs` (made up, distinct per runtime).
fn threads(rt: &str, procs: f64) -> f64 {
    match rt {
        "gmp" => 3.0 + procs,
        "tokio" => 1.0 + procs,
        _ => 2.0 + procs.min(2.0),
    }
}

fn outcome_of(rt: &str, procs: f64, rep: u32) -> Outcome {
    match (rt, procs as u32, rep) {
        ("gmp", 4, 1) => Outcome::Timeout,
        ("go", 4, 2) => Outcome::Crash,
        _ => Outcome::Ok,
    }
}

fn point(rt: &str, procs: f64, rep: u32) -> PointResult {
    let outcome = outcome_of(rt, procs, rep);
    let pid = format!("procs-{procs}");
    let mut metrics = BTreeMap::new();
    if outcome != Outcome::Crash {
        let t = threads(rt, procs) + f64::from(rep % 2);
        metrics.insert("threads_median".into(), t);
        metrics.insert("threads_peak".into(), t + 1.0);
        metrics.insert(
            "rss_peak_bytes".into(),
            (4.0 + procs) * 1_048_576.0 * if rt == "go" { 2.0 } else { 1.0 },
        );
        metrics.insert(
            "probe_p99_us".into(),
            80.0 + 40.0 * procs + 15.0 * f64::from(rep),
        );
        metrics.insert("cores_mean".into(), f64::NAN);
    }
    PointResult {
        scenario: "baseline".into(),
        point_id: pid.clone(),
        runtime: rt.into(),
        repeat: rep,
        params: Params::from([("procs".to_string(), Value::Num(procs))]),
        outcome,
        outcome_detail: match outcome {
            Outcome::Timeout => "killed after 7 s (duration 2 s + grace 5 s)".into(),
            Outcome::Crash => format!("exit status 101; stderr: panicked {XSS}"),
            _ => String::new(),
        },
        jsonl: format!("{pid}.{rt}.r{rep}.jsonl"),
        metrics,
    }
}

/// The merged lines of one process: phases, /proc samples every 10 ms,
/// scenario samples every 100 ms, an event, and the exit line.
fn trace(rt: &str, procs: f64, outcome: Outcome) -> Vec<MergedLine> {
    let mut v = vec![MergedLine::Hello {
        v: 1,
        scenario: "baseline".into(),
        runtime: rt.into(),
        params: Params::from([("procs".to_string(), Value::Num(procs))]),
        pid: 4242,
    }];
    v.push(MergedLine::Phase {
        t_ms: 300.0,
        src_t_ms: Some(290.0),
        name: "load_start".into(),
    });
    let base = threads(rt, procs);
    // Offsets keep the three runtimes' lines apart in every panel.
    let k = match rt {
        "gmp" => 0.0,
        "tokio" => 1.0,
        _ => 2.0,
    };
    for i in 0..=200 {
        let t = f64::from(i) * 10.0;
        let loaded = (300.0..1500.0).contains(&t);
        v.push(MergedLine::Proc(ProcSample {
            t_ms: t,
            threads: (base + if loaded { 2.0 } else { 0.0 }) as u64,
            r_threads: (i % 3 == 0).then_some(if loaded { 2 + k as u64 } else { k as u64 }),
            cores: if loaded {
                0.9 + 0.3 * k
            } else {
                0.05 + 0.1 * k
            },
            rss_bytes: 5 << 20,
        }));
        if i % 10 == 0 {
            v.push(MergedLine::Sample {
                t_ms: t + 1.0,
                src_t_ms: Some(t),
                probe: Some(ProbeStats {
                    n: 100,
                    p50_us: 40.0,
                    p99_us: if loaded { 400.0 } else { 90.0 } + 60.0 * k,
                    max_us: 900.0,
                }),
                counters: BTreeMap::from([(
                    "goroutines".to_string(),
                    if loaded { 50.0 } else { 2.0 } + 12.0 * k,
                )]),
            });
        }
        if i == 150 {
            v.push(MergedLine::Phase {
                t_ms: t,
                src_t_ms: None,
                name: "load_stop".into(),
            });
        }
    }
    v.push(MergedLine::Event {
        t_ms: 1600.0,
        src_t_ms: None,
        kind: "diagnosis".into(),
        text: format!(
            "M3 spins in checkTimers on {rt}; {XSS}\n{}",
            "x".repeat(10_000)
        ),
    });
    v.push(MergedLine::Exit(ExitLine {
        t_ms: 2005.0,
        outcome,
        code: Some(0),
        signal: None,
        stderr_tail: String::new(),
    }));
    v
}

fn write_json<T: serde::Serialize>(path: &Path, v: &T) {
    std::fs::write(path, serde_json::to_vec_pretty(v).expect("serialize")).expect("write json");
}

fn write_jsonl(path: &Path, lines: &[MergedLine], truncated_tail: bool) {
    let mut s = String::new();
    for l in lines {
        s.push_str(&serde_json::to_string(l).expect("serialize line"));
        s.push('\n');
    }
    if truncated_tail {
        s.push_str("{\"type\":\"proc\",\"t_ms\":20");
    }
    std::fs::write(path, s).expect("write jsonl");
}

/// Builds the whole run directory in `dir`.
pub fn build_run(dir: &Path, status: RunStatus) {
    let all_skipped = "all_skipped";
    let never = "never_started";
    let mut sk = sweep(all_skipped, baseline_plots());
    sk.incident = "every point skipped".into();
    let meta = RunMeta {
        run_id: "2026-11-23T16-00-00Z-test".into(),
        status,
        started_unix: 1_795_000_000.0,
        finished_unix: Some(1_795_000_060.0),
        quick: true,
        host: BTreeMap::from([
            ("cores".to_string(), "2".to_string()),
            ("kernel".to_string(), "Linux 6.1 <b>".to_string()),
            ("go".to_string(), "go1.19.8".to_string()),
        ]),
        sweeps: vec![
            sweep("baseline", baseline_plots()),
            sk,
            sweep(never, baseline_plots()),
        ],
        skipped_runtimes: BTreeMap::from([(
            "threads".to_string(),
            "no Go toolchain found; install golang-1.19-go".to_string(),
        )]),
        sampler_cpu_s: 0.42,
        sampler_cpu_frac: 0.011,
        ..Default::default()
    };
    write_json(&dir.join("run.json"), &meta);

    let sdir = dir.join("baseline");
    std::fs::create_dir_all(&sdir).expect("mkdir");
    let mut points = Vec::new();
    for procs in [1.0, 2.0, 4.0] {
        for rt in ["gmp", "tokio", "go"] {
            for rep in 0..3 {
                let p = point(rt, procs, rep);
                write_jsonl(
                    &sdir.join(&p.jsonl),
                    &trace(rt, procs, p.outcome),
                    rt == "tokio" && rep == 0,
                );
                points.push(p);
            }
        }
    }
    write_json(&sdir.join(POINTS), &points);

    let kdir = dir.join(all_skipped);
    std::fs::create_dir_all(&kdir).expect("mkdir");
    let skipped: Vec<PointResult> = points
        .iter()
        .map(|p| PointResult {
            scenario: all_skipped.into(),
            outcome: Outcome::Skipped,
            outcome_detail: "cut by Ctrl-C before it started".into(),
            metrics: BTreeMap::new(),
            ..p.clone()
        })
        .collect();
    write_json(&kdir.join(POINTS), &skipped);

    let verdict = |rt: &str, status, held, matched| VerdictRow {
        scenario: "baseline".into(),
        id: "go_floor".into(),
        claim: format!("real Go starts 3 threads at GOMAXPROCS=1 {XSS}"),
        runtime: rt.into(),
        status,
        points_matched: matched,
        points_held: held,
        details: vec!["procs-1: threads_median = 4, expected 3".into()],
    };
    let verdicts = vec![
        verdict("go", VerdictStatus::Reproduced, 1, 1),
        verdict("gmp", VerdictStatus::NotReproduced, 0, 1),
        verdict("tokio", VerdictStatus::NoData, 0, 0),
    ];
    write_json(&dir.join("verdicts.json"), &verdicts);

    let fid = |pid: &str, gmp: Option<f64>, go: Option<f64>, within| FidelityRow {
        scenario: "baseline".into(),
        point_id: pid.into(),
        metric: "threads_median".into(),
        gmp,
        go,
        tolerance: "1".into(),
        within,
    };
    let fidelity = vec![
        fid("procs-1", Some(4.0), Some(3.0), Some(true)),
        fid("procs-2", Some(9.0), Some(4.0), Some(false)),
        fid("procs-4", None, Some(4.0), None),
    ];
    write_json(&dir.join("fidelity.json"), &fidelity);
}

/// Decoded PNG as RGB rows.
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<[u8; 3]>,
}

pub fn decode_png(path: &Path) -> Image {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    let bytes = &buf[..info.buffer_size()];
    let rgb = match info.color_type {
        png::ColorType::Rgb => bytes.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
        png::ColorType::Rgba => bytes.chunks_exact(4).map(|c| [c[0], c[1], c[2]]).collect(),
        other => panic!(
            "unexpected PNG color type {other:?} (bit depth {:?})",
            info.bit_depth
        ),
    };
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "8-bit PNG expected");
    Image {
        width: info.width,
        height: info.height,
        rgb,
    }
}

impl Image {
    /// Pixels in the box (fractions of width/height) for which `f` holds.
    pub fn count_in(
        &self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        f: impl Fn([u8; 3]) -> bool,
    ) -> usize {
        let (w, h) = (self.width as usize, self.height as usize);
        let (xa, xb) = ((x0 * w as f64) as usize, ((x1 * w as f64) as usize).min(w));
        let (ya, yb) = ((y0 * h as f64) as usize, ((y1 * h as f64) as usize).min(h));
        (ya..yb)
            .flat_map(|y| (xa..xb).map(move |x| y * w + x))
            .filter(|i| f(self.rgb[*i]))
            .count()
    }

    /// Distinct saturated colors (quantized to 32 levels) in the box.
    pub fn distinct_colors(&self, x0: f64, x1: f64, y0: f64, y1: f64) -> usize {
        let mut set = std::collections::BTreeSet::new();
        let (w, h) = (self.width as usize, self.height as usize);
        for y in (y0 * h as f64) as usize..((y1 * h as f64) as usize).min(h) {
            for x in (x0 * w as f64) as usize..((x1 * w as f64) as usize).min(w) {
                let p = self.rgb[y * w + x];
                if saturated(p) {
                    set.insert([p[0] / 32, p[1] / 32, p[2] / 32]);
                }
            }
        }
        set.len()
    }
}

pub fn non_white(p: [u8; 3]) -> bool {
    p.iter().any(|c| *c < 235)
}

/// Clearly colored (not white, grey or black).
pub fn saturated(p: [u8; 3]) -> bool {
    let (mx, mn) = (
        p.iter().max().copied().unwrap_or(0),
        p.iter().min().copied().unwrap_or(0),
    );
    mx - mn > 70
}

/// Close to `c` within `tol` per channel.
pub fn near(c: [u8; 3], tol: u8) -> impl Fn([u8; 3]) -> bool {
    move |p| p.iter().zip(c).all(|(a, b)| a.abs_diff(b) <= tol)
}

pub const GMP_BLUE: [u8; 3] = [31, 119, 180];
pub const TOKIO_ORANGE: [u8; 3] = [230, 120, 20];
pub const GO_GREEN: [u8; 3] = [0, 158, 115];

/// Variant words of the second scenario that ran ([`add_leak_scenario`]):
/// one longer than the legend strip, so its label must wrap, whole.
pub const LEAK_VARIANTS: [&str; 2] = ["bug", "fixed_flag_closes_the_channel_before_return"];

/// Adds a second scenario whose points all ran to the run directory of
/// [`build_run`]: `leak`, runtimes × two variants over `senders`, with a
/// sweep plot whose series are runtime and variant (so the legend has a
/// label wider than its strip) and a time series. Every runtime's values
/// differ from the others', so each one's colour shows in the plots.
pub fn add_leak_scenario(dir: &Path) {
    let name = "leak";
    let mut by_variant = plot(
        PlotKind::Sweep,
        "Goroutines by senders",
        Some("senders"),
        OneOrMany::One("goroutines_peak".into()),
        &["runtime", "variant"],
        None,
    );
    by_variant.log_x = true;
    let plots = vec![
        by_variant,
        plot(
            PlotKind::Timeseries,
            "Threads and goroutines at senders=100",
            None,
            OneOrMany::Many(["threads", "goroutines"].map(String::from).to_vec()),
            &["runtime", "variant"],
            Some("senders == 100"),
        ),
    ];
    let mut sw = sweep(name, plots);
    sw.incident = "senders parked on a channel nobody reads".into();
    sw.grid = vec![
        (
            "variant".into(),
            LEAK_VARIANTS.map(|v| Value::Str(v.into())).to_vec(),
        ),
        ("senders".into(), vec![Value::Num(10.0), Value::Num(100.0)]),
    ];
    sw.verdicts.clear();
    sw.fidelity.clear();
    let meta_path = dir.join("run.json");
    let mut meta: RunMeta =
        serde_json::from_slice(&std::fs::read(&meta_path).expect("run.json")).expect("run.json");
    meta.sweeps.push(sw);
    write_json(&meta_path, &meta);

    let sdir = dir.join(name);
    std::fs::create_dir_all(&sdir).expect("mkdir");
    let mut points = Vec::new();
    for (vi, variant) in LEAK_VARIANTS.iter().enumerate() {
        for senders in [10.0, 100.0] {
            for (k, rt) in ["gmp", "tokio", "go"].iter().enumerate() {
                let pid = format!("variant-{variant}_senders-{senders}");
                let jsonl = format!("{pid}.{rt}.r0.jsonl");
                let leaked = if vi == 0 { senders } else { 0.0 };
                let params = Params::from([
                    ("variant".to_string(), Value::Str(variant.to_string())),
                    ("senders".to_string(), Value::Num(senders)),
                ]);
                let mut lines = trace(rt, 2.0, Outcome::Ok);
                if let Some(MergedLine::Hello {
                    scenario,
                    params: p,
                    ..
                }) = lines.first_mut()
                {
                    *scenario = name.into();
                    *p = params.clone();
                }
                write_jsonl(&sdir.join(&jsonl), &lines, false);
                points.push(PointResult {
                    scenario: name.into(),
                    point_id: pid,
                    runtime: rt.to_string(),
                    repeat: 0,
                    params,
                    outcome: Outcome::Ok,
                    outcome_detail: String::new(),
                    jsonl,
                    metrics: BTreeMap::from([(
                        "goroutines_peak".to_string(),
                        10.0 + leaked * (1.0 + k as f64) + 5.0 * k as f64,
                    )]),
                });
            }
        }
    }
    write_json(&sdir.join(POINTS), &points);
}
