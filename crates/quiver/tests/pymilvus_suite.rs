//! The end-to-end suite: the real `quiver serve` binary driven by pymilvus 3.0.2, as a Milvus
//! application would drive it (tests in `tests/pymilvus/`, the server contract they hold it to
//! at the top of `tests/pymilvus/conftest.py`).
//!
//! This test creates a Python virtual environment under the cargo target directory from
//! `tests/pymilvus/requirements.txt` (once: it is reused while that file and the base Python
//! are unchanged), runs pytest on the suite with `QUIVER_BIN` set to the freshly built binary,
//! prints pytest's output, and fails unless every test passed: a failed, erroring or skipped
//! test fails it (a test that cannot run is not a pass; `ALLOWED_SKIPS` names exceptions), and
//! so does a run that passed fewer than `MIN_PASSED` tests.
//!
//! Needs `python3` (3.11 or later; `QUIVER_TEST_PYTHON` names another) and, the first time,
//! access to PyPI.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The suite has this many tests; a run that passes fewer fails. Raise it with the suite.
const MIN_PASSED: usize = 213;
/// Node ids of tests that may be skipped. None may: a test that cannot run is not a pass.
const ALLOWED_SKIPS: &[&str] = &[];
/// The whole pytest run; beyond it pytest and its servers are stopped and the test fails.
const SUITE_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// Creating the venv and installing the requirements.
const VENV_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[test]
fn pymilvus_suite() {
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("pymilvus");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    fs::create_dir_all(tmp).unwrap();
    let python = venv_python(tmp, &suite);
    let run = run_pytest(&python, &suite, tmp);
    print_output(&run.output);
    let verdict = judge(&run);
    if verdict.is_ok() {
        let _ = fs::remove_file(&run.log); // kept only when something failed
    }
    if let Err(problems) = verdict {
        panic!(
            "the pymilvus suite failed ({}):\n  {}\n(pytest's output is printed above; the full log: {})",
            run.summary.as_deref().unwrap_or("no pytest summary line"),
            problems.join("\n  "),
            run.log.display()
        );
    }
}

#[allow(clippy::print_stdout, reason = "pytest's report is this test's output")]
fn print_output(output: &str) {
    println!("{output}");
}

// -- the virtual environment -----------------------------------------------------------------

/// The venv's python, creating or recreating the venv when the requirements (or the base
/// Python) changed. An exclusive lock on a file beside it keeps concurrent test processes from
/// building it twice or using it half built.
fn venv_python(tmp: &Path, suite: &Path) -> PathBuf {
    let requirements = suite.join("requirements.txt");
    let text = fs::read(&requirements).unwrap();
    let base = std::env::var("QUIVER_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let venv = tmp.join("pymilvus-venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join("requirements.stamp");
    let want = format!("fnv1a64 {:016x} python {base}\n", fnv1a64(&text));

    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(tmp.join("pymilvus-venv.lock"))
        .unwrap();
    lock.lock().unwrap();
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(want.as_str()) {
        return python;
    }
    if venv.exists() {
        fs::remove_dir_all(&venv).unwrap();
    }
    let mut create = Command::new(&base);
    create.args(["-m", "venv"]).arg(&venv);
    check_ran(&mut create, "create the Python venv", tmp);
    let mut install = Command::new(&python);
    install
        .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-q", "-r"])
        .arg(&requirements);
    check_ran(&mut install, "install the suite's requirements", tmp);
    // Written last: a venv without the stamp is rebuilt.
    fs::write(&stamp, want).unwrap();
    drop(lock);
    python
}

/// FNV-1a, 64 bits: a hash that stays the same across Rust releases (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Runs a set-up command with its output in a log file; panics with that output on failure.
fn check_ran(command: &mut Command, what: &str, tmp: &Path) {
    let log = tmp.join(format!("pymilvus-setup-{}.log", std::process::id()));
    let file = File::create(&log).unwrap();
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot {what}: {command:?}: {e}"));
    let status = wait_with_deadline(child, VENV_TIMEOUT);
    let output = fs::read_to_string(&log).unwrap_or_default();
    let _ = fs::remove_file(&log);
    match status {
        Some(status) if status.success() => {}
        Some(status) => panic!("cannot {what}: {command:?} exited with {status}:\n{output}"),
        None => panic!("cannot {what}: {command:?} took over {VENV_TIMEOUT:?}:\n{output}"),
    }
}

// -- running pytest ----------------------------------------------------------------------------

struct Run {
    status: Option<ExitStatus>,
    output: String,
    log: PathBuf,
    /// pytest's closing line, e.g. `170 passed, 2 failed in 95.12s`.
    summary: Option<String>,
    /// The outcome of every test, from the suite's results file.
    outcomes: BTreeMap<String, Outcome>,
    /// Collection errors.
    collect_errors: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    Skipped,
    XFailed,
    XPassed,
}

fn run_pytest(python: &Path, suite: &Path, tmp: &Path) -> Run {
    let id = std::process::id();
    let log = tmp.join(format!("pymilvus-pytest-{id}.log"));
    let results = tmp.join(format!("pymilvus-results-{id}.tsv"));
    let _ = fs::remove_file(&results);
    let file = File::create(&log).unwrap();
    let child = Command::new(python)
        .args(["-m", "pytest", "-v", "-rfEsxX", "--color=no", "-p", "no:cacheprovider"])
        .arg(suite)
        .current_dir(suite)
        .env("QUIVER_BIN", env!("CARGO_BIN_EXE_quiver"))
        .env("QUIVER_TEST_TARGET", "quiver")
        .env("QUIVER_PYTEST_RESULTS", &results)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .env_remove("QUIVER_ROOT_PASSWORD")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run pytest with {}: {e}", python.display()));
    let status = wait_with_deadline(child, SUITE_TIMEOUT);
    let mut output = fs::read_to_string(&log).unwrap_or_default();
    if status.is_none() {
        output.push_str(&format!("\n[pymilvus_suite: pytest stopped after {SUITE_TIMEOUT:?}]\n"));
    }
    let summary = summary_line(&output);
    let (outcomes, collect_errors) = read_results(&results);
    let _ = fs::remove_file(&results);
    Run { status, output, log, summary, outcomes, collect_errors }
}

/// Waits for the child; past the deadline interrupts its process group (pytest tears its
/// servers down on SIGINT), then kills it. None if the deadline passed.
fn wait_with_deadline(mut child: Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        thread::sleep(Duration::from_millis(100));
    }
    signal_group(&child, "INT");
    let grace = Instant::now() + Duration::from_secs(30);
    while Instant::now() < grace {
        if child.try_wait().unwrap().is_some() {
            signal_group(&child, "KILL"); // whatever it left behind
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
    signal_group(&child, "KILL");
    let _ = child.wait();
    None
}

/// Sends a signal to the child's process group (the child leads it: `process_group(0)`).
fn signal_group(child: &Child, signal: &str) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-s", signal, "--", &group]).status();
}

/// pytest's closing line without its `=` rule, if any.
fn summary_line(output: &str) -> Option<String> {
    output
        .lines()
        .rev()
        .map(|line| line.trim().trim_matches('=').trim())
        .find(|line| {
            let words = [" passed", " failed", " error", " skipped", "no tests ran"];
            line.contains(" in ") && words.iter().any(|w| line.contains(w))
        })
        .map(str::to_owned)
}

/// The count of `word` (`passed`, `failed`, `errors`/`error`, `skipped`, ...) in the summary.
fn summary_count(summary: &str, word: &str) -> usize {
    summary
        .split(',')
        .filter_map(|part| {
            let mut it = part.split_whitespace();
            let n = it.next()?.parse::<usize>().ok()?;
            let w = it.next()?;
            (w == word || w.strip_suffix('s') == Some(word)).then_some(n)
        })
        .sum()
}

/// Reads the `phase \t outcome \t nodeid` lines that conftest.py writes.
fn read_results(path: &Path) -> (BTreeMap<String, Outcome>, Vec<String>) {
    let mut outcomes: BTreeMap<String, Outcome> = BTreeMap::new();
    let mut collect_errors = Vec::new();
    let text = fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(phase), Some(outcome), Some(node)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        if phase == "collect" {
            collect_errors.push(node.to_owned());
            continue;
        }
        let outcome = match outcome {
            "passed" => Outcome::Passed,
            "failed" => Outcome::Failed,
            "skipped" => Outcome::Skipped,
            "xfailed" => Outcome::XFailed,
            "xpassed" => Outcome::XPassed,
            _ => Outcome::Failed,
        };
        // A test is as bad as its worst phase (a teardown error after a passing call fails it).
        let entry = outcomes.entry(node.to_owned()).or_insert(outcome);
        if rank(outcome) > rank(*entry) {
            *entry = outcome;
        }
    }
    (outcomes, collect_errors)
}

fn rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Passed => 0,
        Outcome::Skipped | Outcome::XFailed => 1,
        Outcome::XPassed => 2,
        Outcome::Failed => 3,
    }
}

/// Ok if pytest succeeded, every test passed and enough of them ran; else what is wrong.
fn judge(run: &Run) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match run.status {
        Some(status) if status.success() => {}
        Some(status) => problems.push(format!("pytest exited with {status}")),
        None => problems.push(format!("pytest did not finish within {SUITE_TIMEOUT:?}")),
    }
    for node in &run.collect_errors {
        problems.push(format!("collection error: {node}"));
    }
    let mut passed = 0;
    for (node, outcome) in &run.outcomes {
        match outcome {
            Outcome::Passed => passed += 1,
            Outcome::Skipped if ALLOWED_SKIPS.contains(&node.as_str()) => {}
            Outcome::Skipped => {
                problems.push(format!("skipped (a test that cannot run is not a pass): {node}"))
            }
            Outcome::Failed => problems.push(format!("failed: {node}")),
            Outcome::XFailed => problems.push(format!("xfailed: {node}")),
            Outcome::XPassed => problems.push(format!("xpassed: {node}")),
        }
    }
    if passed < MIN_PASSED {
        problems.push(format!("{passed} tests passed; the suite has at least {MIN_PASSED}"));
    }
    match &run.summary {
        None => problems.push("no pytest summary line in the output".to_owned()),
        Some(summary) => {
            let summarized = summary_count(summary, "passed");
            if summarized != passed {
                problems
                    .push(format!("pytest reports {summarized} passed, the results file {passed}"));
            }
            for word in ["failed", "error", "skipped", "xfailed", "xpassed"] {
                let n = summary_count(summary, word);
                let allowed = if word == "skipped" { ALLOWED_SKIPS.len() } else { 0 };
                if n > allowed {
                    problems.push(format!("pytest reports {n} {word}"));
                }
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[test]
fn summary_parsing() {
    let s =
        summary_line("x\n==== 170 passed, 2 failed, 1 error, 3 skipped in 95.12s (0:01:35) ====\n")
            .unwrap();
    assert_eq!(s, "170 passed, 2 failed, 1 error, 3 skipped in 95.12s (0:01:35)");
    assert_eq!(summary_count(&s, "passed"), 170);
    assert_eq!(summary_count(&s, "failed"), 2);
    assert_eq!(summary_count(&s, "error"), 1);
    assert_eq!(summary_count(&s, "skipped"), 3);
    assert_eq!(summary_count("1 passed, 4 errors in 1.00s", "error"), 4);
    assert_eq!(summary_count("1 passed, 2 xfailed in 1.00s", "failed"), 0);
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
}
