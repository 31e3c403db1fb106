//! Helpers of the crate's tests: a fixed key, sample events of every kind, a log on disk and
//! direct access to its files for the tamper tests.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::error::{Problem, ProblemKind};
use crate::event::{
    AdminAction, AuthMethod, AuthOutcome, DclAction, DdlAction, Event, LifecycleAction, Outcome,
    ReadAction, WriteAction,
};
use crate::files::{AUDIT_DIR, list};
use crate::key::AuditKey;
use crate::text::{FilterText, Text, UserName};
use crate::verify::{VerifyReport, verify};
use crate::writer::{AuditLog, AuditOptions};

pub(crate) fn key() -> AuditKey {
    AuditKey::from_bytes([7; 32])
}

pub(crate) fn other_key() -> AuditKey {
    AuditKey::from_bytes([8; 32])
}

pub(crate) fn peer() -> Option<SocketAddr> {
    "192.0.2.7:51234".parse().ok()
}

/// An insert of `rows` rows by `alice`.
pub(crate) fn write_event(rows: u64) -> Event {
    Event::Write {
        user: UserName::new("alice"),
        peer: peer(),
        action: WriteAction::Insert,
        db: Text::new("default"),
        collection: Text::new("books"),
        partition: None,
        rows,
        filter: None,
        outcome: Outcome::Ok,
    }
}

/// One event of every kind, every optional field filled.
pub(crate) fn every_kind() -> Vec<Event> {
    vec![
        Event::Auth {
            user: Some(UserName::new("alice")),
            key_id: Some(Text::new("0123456789abcdef")),
            peer: peer(),
            method: AuthMethod::ApiKey,
            outcome: AuthOutcome::BadCredentials,
        },
        Event::Ddl {
            user: UserName::new("alice"),
            peer: peer(),
            action: DdlAction::CreateIndex,
            db: Text::new("default"),
            collection: Some(Text::new("books")),
            object: Some(Text::new("vector_index")),
            outcome: Outcome::Ok,
        },
        Event::Dcl {
            user: UserName::new("root"),
            peer: peer(),
            action: DclAction::GrantPrivilege,
            target: Text::new("readers"),
            detail: Some(Text::new("Search on Collection default.books")),
            outcome: Outcome::Denied,
        },
        Event::Write {
            user: UserName::new("bob"),
            peer: peer(),
            action: WriteAction::Delete,
            db: Text::new("default"),
            collection: Text::new("books"),
            partition: Some(Text::new("_default")),
            rows: 12,
            filter: Some(FilterText::new("year < 1900 and title like \"A%\"")),
            outcome: Outcome::Ok,
        },
        Event::Read {
            user: UserName::new("carol"),
            peer: peer(),
            action: ReadAction::Search,
            db: Text::new("default"),
            collection: Text::new("books"),
            nq: 3,
            limit: 10,
            filter: Some(FilterText::new("year > 2000")),
            outcome: Outcome::Ok,
        },
        Event::Admin {
            user: UserName::new("root"),
            peer: None,
            action: AdminAction::Backup,
            detail: Text::new("/backups/2025-01-31"),
            outcome: Outcome::Ok,
        },
        Event::Lifecycle {
            action: LifecycleAction::Opened,
            detail: Text::new("after a clean close"),
        },
    ]
}

/// Options with a small rotation threshold.
pub(crate) fn options(max_file_bytes: u64) -> AuditOptions {
    AuditOptions { max_file_bytes, backend: None }
}

/// A closed log under a new temporary root with `writes` write events.
pub(crate) fn closed_log(writes: u64, max_file_bytes: u64) -> TempDir {
    let root = tempfile::tempdir().unwrap();
    let log = AuditLog::open(root.path(), key(), options(max_file_bytes)).unwrap();
    for rows in 0..writes {
        log.append(&write_event(rows)).unwrap();
    }
    log.close().unwrap();
    root
}

/// The log files of the log under `root`, in order.
pub(crate) fn log_files(root: &Path) -> Vec<PathBuf> {
    let audit_dir = root.join(AUDIT_DIR);
    list(&audit_dir).unwrap().files.into_iter().map(|file| audit_dir.join(file.name)).collect()
}

/// The lines of `path`, each with its newline (a torn end without one).
pub(crate) fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).unwrap();
    bytes.split_inclusive(|&byte| byte == b'\n').map(<[u8]>::to_vec).collect()
}

pub(crate) fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    fs::write(path, lines.concat()).unwrap();
}

/// The problem of a verification that must find one.
#[track_caller]
pub(crate) fn problem(root: &Path) -> Problem {
    let report = verify(root, &key(), None).unwrap();
    match report.problem {
        Some(problem) => problem,
        None => panic!("verification found no problem: {report:?}"),
    }
}

/// Asserts that verification finds nothing.
#[track_caller]
pub(crate) fn assert_intact(root: &Path) -> VerifyReport {
    let report = verify(root, &key(), None).unwrap();
    assert!(report.is_intact(), "{report:?}");
    report
}

/// Asserts the problem's kind and its file name and line.
#[track_caller]
pub(crate) fn assert_problem_at(problem: &Problem, kind: &ProblemKind, file: &Path, line: u64) {
    assert_eq!(&problem.kind, kind, "{problem}");
    let name = file.file_name().and_then(|name| name.to_str()).map(str::to_owned);
    assert_eq!(problem.file, name, "{problem}");
    assert_eq!(problem.line, Some(line), "{problem}");
}
