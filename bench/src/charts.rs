//! PNG charts for the reports, drawn by matplotlib in the peers' venv (`bench/charts.py`,
//! matplotlib from `bench/requirements.txt`): a suite describes its [`Chart`]s and
//! [`render`] writes them next to the report as `<date>-<suite>-<name>.png` and returns
//! the Markdown that shows them.
//!
//! matplotlib rather than a Rust plotting crate: the venv is there anyway for the peers,
//! and it adds no Rust dependency (and no font or image stack) to the workspace. A chart
//! that cannot be drawn does not lose the run: the Markdown says why instead.
//!
//! ```no_run
//! use floe_bench::charts::{Chart, Series, render};
//! let chart = Chart::new("planning", "Planning time vs data files", "data files", "ms")
//!     .series(Series::new("Floe", vec![(1000.0, 3.0), (10_000.0, 25.0)]));
//! let md = render("python3".as_ref(), "bench/results".as_ref(), "2026-11-22", "maintenance", &[chart]);
//! println!("{md}");
//! ```

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// `(x, y)` points (medians), in x order.
    pub points: Vec<(f64, f64)>,
    /// Optional min–max of y per point, drawn as a band.
    pub spread: Option<Vec<(f64, f64)>>,
}

impl Series {
    /// A series of points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self {
            name: name.into(),
            points,
            spread: None,
        }
    }

    /// With the min–max of y at each point.
    #[must_use]
    pub fn with_spread(mut self, spread: Vec<(f64, f64)>) -> Self {
        self.spread = Some(spread);
        self
    }
}

/// A line chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name part: `<date>-<suite>-<name>.png`.
    pub name: String,
    /// Title.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub log_x: bool,
    /// Logarithmic y axis.
    pub log_y: bool,
    /// The lines.
    pub series: Vec<Series>,
}

impl Chart {
    /// An empty chart with linear axes.
    pub fn new(name: &str, title: &str, x_label: &str, y_label: &str) -> Self {
        Self {
            name: name.to_owned(),
            title: title.to_owned(),
            x_label: x_label.to_owned(),
            y_label: y_label.to_owned(),
            log_x: false,
            log_y: false,
            series: Vec::new(),
        }
    }

    /// Adds a line.
    #[must_use]
    pub fn series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }

    /// Logarithmic axes.
    #[must_use]
    pub fn log(mut self, x: bool, y: bool) -> Self {
        self.log_x = x;
        self.log_y = y;
        self
    }

    fn to_json(&self, path: &Path) -> Value {
        let series: Vec<Value> = self
            .series
            .iter()
            .map(|s| {
                let mut v = json!({
                    "name": s.name,
                    "x": s.points.iter().map(|p| p.0).collect::<Vec<_>>(),
                    "y": s.points.iter().map(|p| p.1).collect::<Vec<_>>(),
                });
                if let Some(spread) = &s.spread {
                    v["y_low"] = json!(spread.iter().map(|p| p.0).collect::<Vec<_>>());
                    v["y_high"] = json!(spread.iter().map(|p| p.1).collect::<Vec<_>>());
                }
                v
            })
            .collect();
        json!({
            "path": path.display().to_string(),
            "title": self.title,
            "x_label": self.x_label,
            "y_label": self.y_label,
            "log_x": self.log_x,
            "log_y": self.log_y,
            "series": series,
        })
    }
}

/// Draws `charts` into `<out_dir>/<date>-<suite>-<name>.png` with `python` (which must
/// import matplotlib) and returns a Markdown `## Charts` section linking them, or, if
/// they could not be drawn, saying why.
pub fn render(python: &Path, out_dir: &Path, date: &str, suite: &str, charts: &[Chart]) -> String {
    if charts.is_empty() {
        return String::new();
    }
    let mut md = String::from("## Charts\n\n");
    let files: Vec<String> = charts
        .iter()
        .map(|c| format!("{date}-{suite}-{}.png", c.name))
        .collect();
    let spec: Vec<Value> = charts
        .iter()
        .zip(&files)
        .map(|(c, f)| c.to_json(&out_dir.join(f)))
        .collect();
    match draw(python, out_dir, suite, &Value::Array(spec)) {
        Ok(()) => {
            for (c, f) in charts.iter().zip(&files) {
                let _ = write!(md, "![{}]({f})\n\n", c.title);
            }
        }
        Err(e) => {
            let _ = write!(md, "The charts could not be drawn: {e}\n\n");
        }
    }
    md
}

fn draw(python: &Path, out_dir: &Path, suite: &str, spec: &Value) -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("charts.py");
    let spec_path = std::env::temp_dir().join(format!(
        "floe-bench-charts-{suite}-{}.json",
        std::process::id()
    ));
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    std::fs::write(&spec_path, spec.to_string())
        .map_err(|e| format!("{}: {e}", spec_path.display()))?;
    let out = Command::new(python).arg(&script).arg(&spec_path).output();
    let _ = std::fs::remove_file(&spec_path);
    let out =
        out.map_err(|e| format!("cannot run {} {}: {e}", python.display(), script.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} {} failed ({}): {}",
            python.display(),
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
