//! A peer implementation in another process: a Python script started once in `serve`
//! mode that answers one JSON request per line (see `bench/peers/*.py`). The peer times
//! its own work, so interpreter start-up and the pipe are never counted.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;

use crate::harness::{Result, Sample};
use crate::memory::PeakRss;

/// The deltalake peer's script (`bench/peers/`, beside the PyIceberg peers' scripts):
/// `serve` for the `table` suite, one-shot writer processes for the `stream` suite.
pub const DELTALAKE_SCRIPT: &str = "deltalake_peer.py";

/// A running peer process.
pub struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    last_memory: Option<PeakRss>,
}

impl PythonPeer {
    /// Starts `python script serve`.
    pub fn start(python: &Path, script: &Path) -> Result<Self> {
        let mut child = Command::new(python)
            .arg(script)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} {}: {e}",
                    python.display(),
                    script.display()
                )
            })?;
        let stdin = child.stdin.take().ok_or("peer has no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("peer has no stdout")?);
        Ok(PythonPeer {
            child,
            stdin: Some(stdin),
            stdout,
            last_memory: None,
        })
    }

    /// Sends one request and waits for its answer; an `"error"` answer is an error.
    pub fn request(&mut self, req: &Value) -> Result<Value> {
        let stdin = self.stdin.as_mut().ok_or("peer stdin closed")?;
        writeln!(stdin, "{req}")?;
        stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(format!("peer exited without answering {req}").into());
        }
        let reply: Value = serde_json::from_str(&line)
            .map_err(|e| format!("peer answered {line:?} to {req}: {e}"))?;
        if let Some(err) = reply.get("error") {
            return Err(format!("peer failed on {req}: {err}").into());
        }
        self.last_memory = PeakRss::from_reply(&reply);
        Ok(reply)
    }

    /// The peak RSS of the peer process while it handled the last request (the whole
    /// request: its untimed preparation too), as `bench/peers/_serve.py` reports it.
    pub fn last_memory(&self) -> Option<PeakRss> {
        self.last_memory
    }

    /// Sends a request for one run and returns its times (`times[0]`, `cpu_times[0]`).
    pub fn timed(&mut self, req: &Value) -> Result<Sample> {
        sample_of(&self.request(req)?)
    }
}

/// The times of one run in a peer's reply: `times[0]` (wall, required) and
/// `cpu_times[0]` (NaN when absent).
pub fn sample_of(reply: &Value) -> Result<Sample> {
    let first = |key: &str| {
        reply
            .get(key)
            .and_then(|t| t.get(0))
            .and_then(Value::as_f64)
    };
    Ok(Sample {
        wall: first("times").ok_or_else(|| format!("peer answer without times: {reply}"))?,
        cpu: first("cpu_times").unwrap_or(f64::NAN),
    })
}

impl Drop for PythonPeer {
    fn drop(&mut self) {
        // Closing stdin ends the serve loop; then reap the process.
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
