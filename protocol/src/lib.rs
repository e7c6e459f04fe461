//! The contracts of schedlab, in one place.
//!
//! Three programs meet here and nowhere else:
//!
//! * a **scenario binary** (Rust under `scenarios/`, or a Go reference
//!   program under `reference/go/`) writes [`metrics::Line`]s, one JSON
//!   object per line, to the file descriptor named by
//!   [`metrics::ENV_METRICS_FD`];
//! * the **runner** (`schedlab`) reads `scenarios/<name>/sweep.yaml`
//!   ([`sweep::Sweep`]), runs one process per point × runtime × repeat,
//!   samples `/proc` beside it ([`metrics::ProcSample`]), and stores a run
//!   directory ([`results`]);
//! * the **report** crate reads a run directory and draws it;
//! * a scenario binary describes its parameters (`--describe`,
//!   [`spec::ScenarioSpec`]) so the runner checks a sweep's values before
//!   anything runs.
//!
//! The scenario knows nothing of sweeps or plots; the runner knows nothing
//! of goroutines. What both the runner and the report compute over a run
//! directory (medians, UTC dates) is in [`util`], so they agree. A change to anything in this crate is a protocol change:
//! bump [`metrics::PROTOCOL_VERSION`] when a line changes meaning and update
//! ARCHITECTURE.md, which documents the same thing for humans and for the Go
//! side (`reference/go/internal/metrics`).

pub mod atomic;
pub mod knobs;
pub mod metrics;
pub mod predicate;
pub mod results;
pub mod rundir;
pub mod spec;
pub mod sweep;
pub mod util;
