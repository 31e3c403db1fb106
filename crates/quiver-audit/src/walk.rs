//! [`Walker`]: the streaming check of the log, shared by `verify`, the record reader and the
//! recovery at open.
//!
//! It reads the log files in order, one line at a time through a buffer of bounded size (a
//! line longer than [`MAX_LINE_LEN`] is reported without being read into memory), checks each
//! line (`line::check_record`), the sequence (from 0, no gap, no repeat, across files), the
//! chain (`prev` is the hash of the line before, across files), that each file's name is the
//! seq of its first record, and against HEAD and an expected head: the record they name has
//! their hash, and the log reaches it. The first failure ends the walk as
//! [`AuditError::Tampered`] with its location.
//!
//! Crash artefacts are not failures, provided the records before them reach HEAD: the end of
//! the last file after its last newline, when it is at most [`MAX_LINE_LEN`] bytes or all
//! zeros (a torn append: the file was cut short, or extended before its data reached the
//! disk; [`TornTail`]), and an empty last file named for the next seq (a crash while
//! rotating). This is the media assumption of `quiver_storage::wal`.
//!
//! When the sequence breaks (`found` where `expected` was due), the walker reads on to tell a
//! gap (`expected` never appears: records deleted) from a reordering (`expected` appears later,
//! or `found` was seen before).
//!
//! Recovery at open does not need the whole log: [`Walker::tail`] starts at the file holding
//! HEAD's record, without knowing the `prev` of that file's first record.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{AuditError, Problem, ProblemKind};
use crate::files::LogFileName;
use crate::head::{Head, HeadFile, HeadRef};
use crate::key::AuditKey;
use crate::line::{CheckedRecord, GENESIS, MAX_LINE_LEN, check_record};

/// Read buffer size of the line reader.
const READ_BUFFER: usize = 64 * 1024;

/// A torn last line: the bytes after the last newline of the last file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The log file's name.
    pub file: String,
    /// Offset of the torn line in the file (the file's length once it is cut off).
    pub offset: u64,
    /// Length of the torn line in bytes.
    pub len: u64,
}

/// Where a walk ended.
#[derive(Debug, Clone, Default)]
pub(crate) struct WalkEnd {
    /// The seq the next record gets (the number of records, for a whole walk).
    pub(crate) next_seq: u64,
    /// Hash of the last complete line, if any was read.
    pub(crate) last_hash: Option<[u8; 32]>,
    /// The last log file and the length of its complete lines.
    pub(crate) last_file: Option<(LogFileName, u64)>,
    pub(crate) torn_tail: Option<TornTail>,
}

/// Reads lines of at most [`MAX_LINE_LEN`] bytes.
struct LineReader {
    reader: BufReader<File>,
    buf: Vec<u8>,
    /// Offset of the next line.
    next_offset: u64,
    /// Offset of the line in `buf`.
    line_offset: u64,
    /// Number of the line in `buf`, from 1.
    line_no: u64,
}

enum Line {
    /// A complete line is in `buf`, without its newline.
    Complete,
    /// The file ends without a newline after the line start: `len` bytes (in `buf` when at
    /// most [`MAX_LINE_LEN`]; a longer torn line is all zeros).
    Torn {
        len: u64,
    },
    /// The line is longer than the limit (and not all zeros to the end of the file).
    TooLong,
    End,
}

impl LineReader {
    fn new(file: File) -> LineReader {
        LineReader {
            reader: BufReader::with_capacity(READ_BUFFER, file),
            buf: Vec::new(),
            next_offset: 0,
            line_offset: 0,
            line_no: 0,
        }
    }

    fn next_line(&mut self, shown: &str) -> Result<Line, AuditError> {
        self.buf.clear();
        let limit = MAX_LINE_LEN as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
            .map_err(|err| AuditError::io("read", shown, err))?;
        if read == 0 {
            return Ok(Line::End);
        }
        self.line_offset = self.next_offset;
        self.next_offset += read as u64;
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            return Ok(Line::Complete);
        }
        if self.buf.len() <= MAX_LINE_LEN {
            return Ok(Line::Torn { len: self.buf.len() as u64 });
        }
        if self.buf.iter().any(|&byte| byte != 0) {
            return Ok(Line::TooLong);
        }
        // All zeros so far: torn if zeros run to the end of the file (the file was extended
        // before its data reached the disk), however long.
        let mut len = self.buf.len() as u64;
        loop {
            let chunk = self.reader.fill_buf().map_err(|err| AuditError::io("read", shown, err))?;
            if chunk.is_empty() {
                self.next_offset = self.line_offset + len;
                return Ok(Line::Torn { len });
            }
            if chunk.iter().any(|&byte| byte != 0) {
                return Ok(Line::TooLong);
            }
            let chunk_len = chunk.len();
            len += chunk_len as u64;
            self.reader.consume(chunk_len);
        }
    }
}

struct OpenFile {
    file: LogFileName,
    reader: LineReader,
    records: u64,
}

/// The streaming check of the log; see the module documentation.
pub(crate) struct Walker<'k> {
    key: &'k AuditKey,
    audit_dir: PathBuf,
    files: Vec<LogFileName>,
    /// Index in `files` of the next file to open.
    next_file: usize,
    current: Option<OpenFile>,
    /// The seq the next record must have.
    next_seq: u64,
    /// Hash of the previous line; `None` at the start of a tail walk.
    prev_hash: Option<[u8; 32]>,
    head: HeadFile,
    expect: Option<HeadRef>,
    end: WalkEnd,
    done: bool,
}

impl<'k> Walker<'k> {
    /// A walk of the whole log, from seq 0.
    pub(crate) fn whole(
        key: &'k AuditKey,
        audit_dir: &Path,
        files: Vec<LogFileName>,
        head: HeadFile,
        expect: Option<HeadRef>,
    ) -> Walker<'k> {
        Walker {
            key,
            audit_dir: audit_dir.to_owned(),
            files,
            next_file: 0,
            current: None,
            next_seq: 0,
            prev_hash: Some(GENESIS),
            head,
            expect,
            end: WalkEnd::default(),
            done: false,
        }
    }

    /// A walk from the file that holds HEAD's record (the last file whose name is at most its
    /// seq) to the end; the first of those files' records is not chain-checked against the
    /// file before. With no such file, the walk expects HEAD's record first and so reports
    /// the files that should hold it as missing.
    pub(crate) fn tail(
        key: &'k AuditKey,
        audit_dir: &Path,
        files: Vec<LogFileName>,
        head: Head,
    ) -> Walker<'k> {
        let (start, next_seq, prev_hash) = match head.records.checked_sub(1) {
            None => (0, 0, Some(GENESIS)),
            Some(head_seq) => match files.iter().rposition(|file| file.first_seq <= head_seq) {
                Some(idx) => (idx, files[idx].first_seq, None),
                None if files.is_empty() => (0, 0, None),
                None => (0, head_seq, None),
            },
        };
        Walker {
            key,
            audit_dir: audit_dir.to_owned(),
            files,
            next_file: start,
            current: None,
            next_seq,
            prev_hash,
            head: HeadFile::Valid(head),
            expect: None,
            end: WalkEnd::default(),
            done: false,
        }
    }

    /// Where the walk ended (meaningful once [`Walker::next_record`] returned `Ok(None)`).
    pub(crate) fn end(&self) -> &WalkEnd {
        &self.end
    }

    /// The next verified record; `Ok(None)` at the end of an intact log;
    /// [`AuditError::Tampered`] at the first problem, after which the walk is over.
    pub(crate) fn next_record(&mut self) -> Result<Option<CheckedRecord>, AuditError> {
        if self.done {
            return Ok(None);
        }
        let result = self.step();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn step(&mut self) -> Result<Option<CheckedRecord>, AuditError> {
        loop {
            let Some(open) = self.current.as_mut() else {
                if !self.open_next_file()? {
                    return self.finish().map(|()| None);
                }
                continue;
            };
            let is_last_file = self.next_file == self.files.len();
            match open.reader.next_line(&open.file.name)? {
                Line::End => {
                    if let Some(open) = self.current.take() {
                        let complete_len = open.reader.next_offset;
                        self.end_of_file(open, complete_len, is_last_file)?;
                    }
                }
                Line::Torn { len } => {
                    if !is_last_file {
                        return Err(self.tampered_here(ProblemKind::TornLine, self.next_seq));
                    }
                    if let Some(open) = self.current.take() {
                        let offset = open.reader.line_offset;
                        let file = open.file.name.clone();
                        self.end.torn_tail = Some(TornTail { file, offset, len });
                        self.end_of_file(open, offset, true)?;
                    }
                }
                Line::TooLong => {
                    let kind = ProblemKind::LineTooLong { max: MAX_LINE_LEN };
                    return Err(self.tampered_here(kind, self.next_seq));
                }
                Line::Complete => {
                    let checked = check_record(self.key, &open.reader.buf);
                    return self.check_in_sequence(checked).map(Some);
                }
            }
        }
    }

    /// Checks a record (or the problem `check_record` found in its line) against the records
    /// before it, HEAD and the expected head.
    fn check_in_sequence(
        &mut self,
        checked: Result<CheckedRecord, ProblemKind>,
    ) -> Result<CheckedRecord, AuditError> {
        let expected = self.next_seq;
        let record = match checked {
            Ok(record) => record,
            Err(kind) => return Err(self.tampered_here(kind, expected)),
        };
        if record.seq != expected {
            // Located before reading on, which moves the reader.
            let mut problem =
                self.problem_here(ProblemKind::SeqGap { expected, found: record.seq });
            problem.seq = Some(record.seq);
            if record.seq < expected || self.appears_later(expected)? {
                problem.kind = ProblemKind::Reordered { expected, found: record.seq };
            }
            return Err(AuditError::Tampered(Box::new(problem)));
        }
        if let Some(open) = self.current.as_ref()
            && open.records == 0
            && open.file.first_seq != record.seq
        {
            let kind = ProblemKind::FileNameMismatch {
                name_seq: open.file.first_seq,
                first_seq: record.seq,
            };
            return Err(self.tampered_here(kind, record.seq));
        }
        if self.prev_hash.is_some_and(|prev| prev != record.prev) {
            return Err(self.tampered_here(ProblemKind::ChainBreak, record.seq));
        }
        if let HeadFile::Valid(head) = &self.head
            && head.records == record.seq + 1
            && head.last != record.hash
        {
            return Err(self.tampered_here(ProblemKind::HeadMismatch, record.seq));
        }
        if let Some(expect) = &self.expect
            && expect.seq == record.seq
            && expect.hash != record.hash
        {
            return Err(self.tampered_here(ProblemKind::ExpectedHeadMismatch, record.seq));
        }
        self.next_seq = record.seq.checked_add(1).ok_or(AuditError::SeqExhausted)?;
        self.prev_hash = Some(record.hash);
        self.end.last_hash = Some(record.hash);
        if let Some(open) = self.current.as_mut() {
            open.records += 1;
        }
        Ok(record)
    }

    /// The checks at the end of a file whose complete lines end at `complete_len`.
    fn end_of_file(
        &mut self,
        open: OpenFile,
        complete_len: u64,
        is_last_file: bool,
    ) -> Result<(), AuditError> {
        if open.records == 0 {
            let location = |kind| Problem {
                file: Some(open.file.name.clone()),
                line: None,
                offset: None,
                seq: Some(self.next_seq),
                kind,
            };
            if !is_last_file {
                return Err(AuditError::Tampered(Box::new(location(ProblemKind::EmptyFile))));
            }
            if open.file.first_seq != self.next_seq {
                let kind = ProblemKind::FileNameMismatch {
                    name_seq: open.file.first_seq,
                    first_seq: self.next_seq,
                };
                return Err(AuditError::Tampered(Box::new(location(kind))));
            }
        }
        self.end.last_file = Some((open.file, complete_len));
        Ok(())
    }

    /// The checks once every file was read.
    fn finish(&mut self) -> Result<(), AuditError> {
        self.end.next_seq = self.next_seq;
        let at_end = |kind| {
            let (file, offset) = match &self.end.last_file {
                Some((file, len)) => (Some(file.name.clone()), Some(*len)),
                None => (None, None),
            };
            AuditError::Tampered(Box::new(Problem {
                file,
                line: None,
                offset,
                seq: Some(self.next_seq),
                kind,
            }))
        };
        match &self.head {
            HeadFile::Valid(head) if self.next_seq < head.records => {
                return Err(at_end(ProblemKind::TruncatedBeforeHead {
                    records: self.next_seq,
                    head_records: head.records,
                }));
            }
            HeadFile::Valid(_) => {}
            HeadFile::Missing if self.files.is_empty() => {
                return Err(at_end(ProblemKind::LogMissing));
            }
            HeadFile::Missing => return Err(head_problem(ProblemKind::HeadMissing)),
            HeadFile::Invalid { reason } => {
                return Err(head_problem(ProblemKind::HeadInvalid { reason }));
            }
            HeadFile::WrongKey => return Err(head_problem(ProblemKind::WrongKey)),
        }
        if let Some(expect) = &self.expect
            && self.next_seq <= expect.seq
        {
            return Err(at_end(ProblemKind::ExpectedHeadNotReached { records: self.next_seq }));
        }
        Ok(())
    }

    /// Reads on from the current position to the end of the log: true if a record with a
    /// valid MAC and seq `seq` is found. Ends the walk (the caller reports a problem).
    fn appears_later(&mut self, seq: u64) -> Result<bool, AuditError> {
        loop {
            let Some(open) = self.current.as_mut() else {
                if !self.open_next_file()? {
                    return Ok(false);
                }
                continue;
            };
            match open.reader.next_line(&open.file.name)? {
                Line::Complete => {
                    if check_record(self.key, &open.reader.buf).is_ok_and(|rec| rec.seq == seq) {
                        return Ok(true);
                    }
                }
                Line::Torn { .. } | Line::TooLong | Line::End => self.current = None,
            }
        }
    }

    /// Opens the next file as the current one; false when there is none.
    fn open_next_file(&mut self) -> Result<bool, AuditError> {
        let Some(file) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        self.next_file += 1;
        let path = self.audit_dir.join(&file.name);
        let handle = File::open(&path)
            .map_err(|err| AuditError::io("open", &path.display().to_string(), err))?;
        self.current = Some(OpenFile { file, reader: LineReader::new(handle), records: 0 });
        Ok(true)
    }

    /// A problem at the line the current reader last returned, about the record expected
    /// there.
    fn problem_here(&self, kind: ProblemKind) -> Problem {
        match &self.current {
            Some(open) => Problem {
                file: Some(open.file.name.clone()),
                line: Some(open.reader.line_no),
                offset: Some(open.reader.line_offset),
                seq: Some(self.next_seq),
                kind,
            },
            None => {
                Problem { file: None, line: None, offset: None, seq: Some(self.next_seq), kind }
            }
        }
    }

    /// [`Walker::problem_here`] about the record with `seq`, as an error.
    fn tampered_here(&self, kind: ProblemKind, seq: u64) -> AuditError {
        let mut problem = self.problem_here(kind);
        problem.seq = Some(seq);
        AuditError::Tampered(Box::new(problem))
    }
}

fn head_problem(kind: ProblemKind) -> AuditError {
    let file = Some(crate::head::HEAD_NAME.to_owned());
    AuditError::Tampered(Box::new(Problem { file, line: None, offset: None, seq: None, kind }))
}
