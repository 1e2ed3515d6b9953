//! A description of the machine a benchmark ran on, for the report: core count, CPU model,
//! memory, kernel and load average (read from `/proc`; "unknown" elsewhere).

use std::fmt::Write as _;

/// What the report says about the machine.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Cores this process may use (`nproc`).
    pub nproc: usize,
    /// `model name` of the first CPU in `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal` of `/proc/meminfo`, in GiB.
    pub memory_gib: f64,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel: String,
    /// The 1, 5 and 15 minute load averages when the benchmark started.
    pub load_at_start: String,
}

impl Machine {
    /// Reads the description of this machine.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0.0);
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            cpu_model,
            memory_gib: memory_kib / 1024.0 / 1024.0,
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            load_at_start: load_average(),
        }
    }

    /// Markdown bullet lines.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "- `nproc`: {}", self.nproc);
        let _ = writeln!(s, "- CPU: {}", self.cpu_model);
        let _ = writeln!(s, "- memory: {:.1} GiB", self.memory_gib);
        let _ = writeln!(s, "- kernel: Linux {}", self.kernel);
        let _ = writeln!(
            s,
            "- load average (1/5/15 min) at start: {}; at end: {}",
            self.load_at_start,
            load_average()
        );
        s
    }
}

/// The first three fields of `/proc/loadavg`.
pub fn load_average() -> String {
    let s = read_trimmed("/proc/loadavg");
    let parts: Vec<&str> = s.split_whitespace().take(3).collect();
    if parts.len() == 3 {
        parts.join(" ")
    } else {
        "unknown".to_owned()
    }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path).map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned())
}
