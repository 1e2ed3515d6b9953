//! `floe sql` as a process: the real `floe` binary on an embedded data folder and
//! against a real `floe serve` process (`--uri`), `-e` scripts, `--format csv|json`,
//! the prompt on a pipe, and one-line errors (syntax, unknown table or column, a
//! server that is down or answers garbage, a refused token) that commit nothing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use floe_client::Floe;

/// The `floe` binary beside this test binary (`target/debug/floe`), built once per
/// test run so that it has this tree's code. It is built as `cargo test --workspace`
/// builds it (same packages, so the same dependency features): under the workspace
/// test run that is a no-op, where `cargo build -p floe-server` would compile DataFusion
/// again with another feature set.
fn floe_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let bin = profile_dir.join(format!("floe{}", std::env::consts::EXE_SUFFIX));
        if profile_dir.file_name().is_some_and(|n| n == "debug") {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["test", "--quiet", "--workspace", "--no-run"]);
            let status = without_test_env(&mut build).status().unwrap();
            assert!(
                status.success(),
                "cargo test --workspace --no-run (to build the floe binary) failed"
            );
        }
        assert!(bin.exists(), "no floe binary at {}", bin.display());
        bin
    })
    .clone()
}

/// `cmd` without the variables cargo sets for a test process (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...). A nested cargo that inherits them finds the environment of
/// build scripts changed (ring's reads `CARGO_MANIFEST_DIR`), rebuilds everything
/// above ring (about 4.5 minutes here), and leaves the outer build to rebuild it back.
fn without_test_env(cmd: &mut Command) -> &mut Command {
    for (key, _) in std::env::vars_os() {
        let k = key.to_string_lossy();
        let set_by_cargo_for_tests = matches!(
            k.as_ref(),
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        ) || k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_");
        if set_by_cargo_for_tests {
            cmd.env_remove(&key);
        }
    }
    cmd
}

/// `floe sql <args>` with `stdin`; its output.
fn floe_sql(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(floe_binary())
        .arg("sql")
        .args(args)
        .env_remove("FLOE_URI")
        .env_remove("FLOE_TOKEN")
        .env_remove("FLOE_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Runs `floe sql -e script` and expects success; its stdout.
fn ok(base: &[&str], script: &str) -> String {
    let mut args = base.to_vec();
    args.extend(["-e", script]);
    let out = floe_sql(&args, "");
    assert!(out.status.success(), "{script}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Runs `floe sql -e script` and expects a failure; its one-line error.
fn fails(base: &[&str], script: &str) -> String {
    let mut args = base.to_vec();
    args.extend(["-e", script]);
    let out = floe_sql(&args, "");
    assert!(!out.status.success(), "{script} succeeded");
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{script}: not one line: {err:?}");
    assert!(err.starts_with("error: "), "{err}");
    err
}

fn data_dir_args(dir: &Path) -> Vec<String> {
    vec!["--data-dir".into(), dir.display().to_string()]
}

#[test]
fn scripts_formats_and_errors_on_an_embedded_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let base = data_dir_args(dir.path());
    let base: Vec<&str> = base.iter().map(String::as_str).collect();

    let out = ok(
        &base,
        "CREATE TABLE db.t (id BIGINT NOT NULL, region VARCHAR) PARTITION BY (region); \
         INSERT INTO db.t VALUES (1, 'eu'), (2, 'us'), (3, 'eu'); \
         SELECT region, count(*) AS n FROM db.t GROUP BY region ORDER BY region",
    );
    assert!(out.contains("| region | n |"), "{out}");
    assert!(out.contains("| eu     | 2 |"), "{out}");

    let mut csv = base.clone();
    csv.extend(["--format", "csv"]);
    assert_eq!(
        ok(
            &csv,
            "SELECT id, region FROM db.t ORDER BY id; SELECT 7 AS x"
        ),
        "id,region\n1,eu\n2,us\n3,eu\nx\n7\n"
    );
    let mut json = base.clone();
    json.extend(["--format", "json"]);
    assert_eq!(
        ok(
            &json,
            "SELECT id, region FROM db.t WHERE id > 1 ORDER BY id"
        ),
        "{\"id\":2,\"region\":\"us\"}\n{\"id\":3,\"region\":\"eu\"}\n"
    );

    // Each error is one line naming the problem, and nothing is committed: a syntax
    // error anywhere stops the whole script before it runs.
    let snapshots = "SELECT count(*) AS n FROM db.t$snapshots";
    assert_eq!(ok(&csv, snapshots), "n\n1\n");
    let e = fails(&base, "INSERT INTO db.t VALUES (9, 'x'); SELEC 1");
    assert!(e.contains("SELEC"), "{e}");
    let e = fails(&base, "SELECT * FROM db.missing");
    assert!(e.contains("missing"), "{e}");
    let e = fails(&base, "SELECT nope FROM db.t");
    assert!(e.contains("nope"), "{e}");
    let e = fails(&base, "INSERT INTO db.t VALUES ('abc', 'eu')");
    assert!(e.contains("abc"), "{e}");
    // With -e, the statements after a failing one do not run.
    let e = fails(
        &base,
        "SELECT nope FROM db.t; INSERT INTO db.t VALUES (9, 'x')",
    );
    assert!(e.contains("nope"), "{e}");
    assert_eq!(ok(&csv, snapshots), "n\n1\n");
    assert_eq!(ok(&csv, "SELECT count(*) AS n FROM db.t"), "n\n3\n");

    let out = floe_sql(
        &[&base[..], &["--format", "xml", "-e", "SELECT 1"]].concat(),
        "",
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("xml"), "{}", text(&out.stderr));
}

#[test]
fn the_prompt_keeps_running_after_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = data_dir_args(dir.path());
    let base: Vec<&str> = base.iter().map(String::as_str).collect();
    let mut args = base.clone();
    args.extend(["--format", "csv"]);
    let out = floe_sql(
        &args,
        "CREATE TABLE db.t (a INT);\n\
         SELEC 1;\n\
         SELECT * FROM db.nope;\n\
         INSERT INTO db.t\n  VALUES (1), (2);\n\
         SELECT nope FROM db.t;\n\
         SELECT sum(a) AS s FROM db.t;\n\
         \\q\n\
         SELECT 'after quit' AS q;\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    assert!(errors.iter().all(|l| l.starts_with("error: ")), "{stderr}");
    assert!(errors[0].contains("SELEC"), "{stderr}");
    assert!(errors[1].contains("nope"), "{stderr}");
    assert!(errors[2].contains("nope"), "{stderr}");
    assert!(stdout.contains("s\n3\n"), "{stdout}");
    assert!(!stdout.contains("after quit"), "{stdout}");
    // A continuation line shows the `->` prompt.
    assert!(stdout.contains("   -> "), "{stdout}");
}

/// A running `floe serve` process on a free port; killed on drop.
struct Server {
    child: Child,
    uri: String,
    dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(floe_binary())
            .args(["serve", "--port", "0", "--no-maintenance", "--data-dir"])
            .arg(dir.path())
            .args(extra)
            .env("FLOE_LOG_LEVEL", "warn")
            .env_remove("FLOE_TOKENS")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let uri = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("floe serve printed no URI: {line:?}"))
            .to_owned();
        Self { child, uri, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sql_against_a_running_floe_serve() {
    let server = Server::start(&["--token", "cli-secret"]);
    let base = ["--uri", server.uri.as_str(), "--token", "cli-secret"];
    let mut csv = base.to_vec();
    csv.extend(["--format", "csv"]);

    assert_eq!(
        ok(
            &csv,
            "CREATE TABLE db.t (id BIGINT NOT NULL, region VARCHAR) PARTITION BY (region); \
             INSERT INTO db.t VALUES (1, 'eu'), (2, 'us'), (3, 'eu'); \
             INSERT INTO db.t VALUES (4, 'us'); \
             SELECT id FROM db.t WHERE region = 'us' ORDER BY id"
        ),
        "count\n0\ncount\n3\ncount\n1\nid\n2\n4\n"
    );
    assert_eq!(
        ok(&csv, "SELECT count(*) AS n FROM db.t$snapshots"),
        "n\n2\n"
    );

    // The server's catalog, read independently of the CLI: the rows the CLI wrote,
    // in the server's warehouse.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (rows, location) = rt.block_on(async {
        let floe = Floe::builder(&server.uri)
            .token("cli-secret")
            .connect()
            .await
            .unwrap();
        let table = floe.table("db.t").await.unwrap();
        let batches = table.scan().build().unwrap().to_arrow().await.unwrap();
        let rows: usize = batches
            .iter()
            .map(arrow::array::RecordBatch::num_rows)
            .sum();
        (rows, table.metadata().location().to_owned())
    });
    assert_eq!(rows, 4);
    let dir = std::fs::canonicalize(server.dir.path()).unwrap();
    assert!(
        location.contains(&dir.display().to_string()),
        "{location} not under {}",
        dir.display()
    );

    // Errors through the server: one line each, nothing committed.
    let e = fails(&base, "SELECT * FROM db.missing");
    assert!(e.contains("missing"), "{e}");
    let e = fails(&base, "INSERT INTO db.t VALUES ('x', 'eu')");
    assert!(e.contains('x'), "{e}");
    let e = fails(
        &["--uri", server.uri.as_str(), "--token", "wrong"],
        "SELECT 1",
    );
    assert!(
        e.contains("401") || e.to_lowercase().contains("auth"),
        "{e}"
    );
    assert_eq!(ok(&csv, "SELECT count(*) AS n FROM db.t"), "n\n4\n");
}

#[test]
fn a_server_that_is_down_or_answers_garbage_is_one_line() {
    // Down: a port nobody listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let uri = format!("http://127.0.0.1:{port}");
    let e = fails(&["--uri", &uri], "SELECT 1");
    assert!(e.contains("cannot connect"), "{e}");
    assert!(e.contains(&uri), "{e}");

    // Garbage: a listener that answers every request with a non-JSON 200.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    let garbage = std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { break };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "<html>not a catalog</html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let e = fails(&["--uri", &uri], "SELECT 1");
    assert!(e.contains("cannot connect"), "{e}");
    assert!(e.contains("/v1/config"), "{e}");
    drop(garbage);
}
