use std::collections::HashMap;
use std::fs;
use std::sync::Arc;

use parking_lot::Mutex;
use proptest::prelude::*;

use crate::backend::{AppendFile, Backend};
use crate::crypt::format::{self, FILE_HEADER_LEN, FRAME_HEADER_LEN, SALT_LEN, TAG_LEN};
use crate::crypt::test_support::{Encrypted, contains};
use crate::crypt::{EncryptedBackend, KEYRING_KEY, MasterKey, Scope, rotate_master_key};
use crate::error::{Result, StorageError};
use crate::faulty::{FaultPlan, FaultyBackend};
use crate::local::LocalBackend;

const SECRET: &[u8] = b"the known string: Ada Lovelace's private notes";
const SEGMENT: &str = "collections/1/segments/00000000000000000001.qvs";
const SEGMENT_2: &str = "collections/1/segments/00000000000000000002.qvs";
const MANIFEST: &str = "collections/1/MANIFEST";
const WAL: &str = "collections/1/wal/00000000000000000001.wal";

/// An encrypted directory with collection 1, a segment, a manifest and a log holding SECRET.
fn populated() -> Encrypted {
    let enc = Encrypted::new();
    enc.backend.create_collection_key(1).unwrap();
    enc.backend.create_dir_all("collections/1/segments").unwrap();
    enc.backend.create_dir_all("collections/1/wal").unwrap();
    enc.backend.write_new(SEGMENT, &SECRET.repeat(3)).unwrap();
    enc.backend.write_new(SEGMENT_2, b"second segment").unwrap();
    enc.backend.write_atomic(MANIFEST, SECRET).unwrap();
    enc.backend.write_atomic("catalog.qvc", SECRET).unwrap();
    let mut wal = enc.backend.open_append(WAL).unwrap();
    wal.append(SECRET).unwrap();
    wal.append(b" and more").unwrap();
    wal.sync().unwrap();
    enc
}

/// Every regular file under `dir`, recursively.
fn all_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[track_caller]
fn assert_auth_failed<T: std::fmt::Debug>(result: Result<T>, path: &str) {
    match result {
        Err(err @ StorageError::AuthenticationFailed { .. }) => {
            assert!(err.to_string().contains(path), "{err} does not name {path}");
        }
        other => panic!("expected AuthenticationFailed for {path}, got {other:?}"),
    }
}

#[test]
fn files_read_back_and_no_file_on_disk_holds_the_plaintext() {
    let enc = populated();
    assert_eq!(enc.backend.read(SEGMENT).unwrap(), SECRET.repeat(3));
    assert_eq!(enc.backend.read(MANIFEST).unwrap(), SECRET);
    assert_eq!(enc.backend.read("catalog.qvc").unwrap(), SECRET);
    assert_eq!(enc.backend.read(WAL).unwrap(), [SECRET, b" and more"].concat());
    let files = all_files(enc.temp.path());
    assert_eq!(files.len(), 6, "{files:?}");
    for file in files {
        let bytes = fs::read(&file).unwrap();
        assert!(!contains(&bytes, &SECRET[..16]), "{} holds the plaintext", file.display());
    }
    // The same writes through a plain backend do leave it on disk: the check can fail.
    let plain = tempfile::tempdir().unwrap();
    let local = LocalBackend::new(plain.path().to_path_buf()).unwrap();
    local.write_new("segment", SECRET).unwrap();
    assert!(contains(&fs::read(plain.path().join("segment")).unwrap(), &SECRET[..16]));
}

#[test]
fn wrong_master_key_is_refused_naming_both_ids_before_any_data_file_is_read() {
    let enc = populated();
    // Data files made unreadable: the refusal must come from the keyring alone.
    fs::write(enc.temp.path().join(SEGMENT), b"garbage").unwrap();
    fs::remove_file(enc.temp.path().join("catalog.qvc")).unwrap();
    let wrong = MasterKey::generate().unwrap();
    let err = enc.reopen(&wrong).unwrap_err();
    match &err {
        StorageError::WrongMasterKey { expected, offered } => {
            assert_eq!((*expected, *offered), (enc.master.id(), wrong.id()));
        }
        other => panic!("expected WrongMasterKey, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains(&enc.master.id().to_string()), "{message}");
    assert!(message.contains(&wrong.id().to_string()), "{message}");
    assert!(enc.reopen(&enc.master).is_ok());
}

#[test]
fn missing_keyring_is_refused() {
    let enc = populated();
    fs::remove_file(enc.temp.path().join(KEYRING_KEY)).unwrap();
    match enc.reopen(&enc.master) {
        Err(StorageError::KeyringMissing { path }) => assert_eq!(path, KEYRING_KEY),
        other => panic!("expected KeyringMissing, got {other:?}"),
    }
}

#[test]
fn create_refuses_to_replace_a_keyring() {
    let enc = populated();
    let result = EncryptedBackend::create(enc.raw.clone(), &enc.master);
    assert!(matches!(result, Err(StorageError::Unsupported { .. })), "{result:?}");
    assert_eq!(enc.reopen(&enc.master).unwrap().read(SEGMENT).unwrap(), SECRET.repeat(3));
}

#[test]
fn swapped_or_copied_files_fail_authentication_naming_the_file() {
    let enc = populated();
    let root = enc.temp.path();
    // Two segments of one collection swapped.
    let (a, b) = (root.join(SEGMENT), root.join(SEGMENT_2));
    let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
    fs::write(&a, &bytes_b).unwrap();
    fs::write(&b, &bytes_a).unwrap();
    assert_auth_failed(enc.backend.read(SEGMENT), SEGMENT);
    assert_auth_failed(enc.backend.read(SEGMENT_2), SEGMENT_2);
    // A manifest copied over the catalog (system key vs collection key).
    fs::copy(root.join(MANIFEST), root.join("catalog.qvc")).unwrap();
    assert_auth_failed(enc.backend.read("catalog.qvc"), "catalog.qvc");
    // A collection's file copied into another collection under the same name.
    enc.backend.create_collection_key(2).unwrap();
    fs::create_dir_all(root.join("collections/2")).unwrap();
    fs::copy(root.join(MANIFEST), root.join("collections/2/MANIFEST")).unwrap();
    assert_auth_failed(enc.backend.read("collections/2/MANIFEST"), "collections/2/MANIFEST");
}

#[test]
fn flipped_byte_in_a_stored_file_fails_authentication_naming_it() {
    let enc = populated();
    for key in [SEGMENT, MANIFEST, WAL] {
        let path = enc.temp.path().join(key);
        let pristine = fs::read(&path).unwrap();
        // A byte of the ciphertext (past every header).
        let mut damaged = pristine.clone();
        let pos = damaged.len() - TAG_LEN - 3;
        damaged[pos] ^= 1;
        fs::write(&path, &damaged).unwrap();
        assert_auth_failed(enc.backend.read(key), key);
        fs::write(&path, &pristine).unwrap();
    }
}

#[test]
fn collection_keys_persist_and_a_destroyed_key_makes_its_files_unreadable() {
    let enc = populated();
    enc.backend.create_collection_key(5).unwrap();
    assert_eq!(enc.backend.collection_key_ids().into_iter().collect::<Vec<_>>(), vec![1, 5]);
    let reopened = enc.reopen(&enc.master).unwrap();
    assert_eq!(reopened.collection_key_ids().into_iter().collect::<Vec<_>>(), vec![1, 5]);
    assert_eq!(reopened.read(MANIFEST).unwrap(), SECRET);
    drop(reopened);

    enc.backend.destroy_collection_key(1).unwrap();
    enc.backend.destroy_collection_key(1).unwrap();
    for backend in [enc.backend.clone(), Arc::new(enc.reopen(&enc.master).unwrap())] {
        match backend.read(MANIFEST) {
            Err(StorageError::NoDataKey { path, scope }) => {
                assert_eq!((path.as_str(), scope), (MANIFEST, Scope::Collection(1)));
            }
            other => panic!("expected NoDataKey, got {other:?}"),
        }
        assert!(matches!(backend.write_new(SEGMENT, b"x"), Err(StorageError::NoDataKey { .. })));
        assert_eq!(backend.read("catalog.qvc").unwrap(), SECRET, "other scopes unaffected");
    }
    // A new key for the id does not bring the old files back.
    enc.backend.create_collection_key(1).unwrap();
    assert_auth_failed(enc.backend.read(MANIFEST), MANIFEST);
}

#[test]
fn rotation_rewraps_keys_without_touching_data_and_refuses_the_old_key() {
    let enc = populated();
    let before: Vec<(std::path::PathBuf, Vec<u8>)> = all_files(enc.temp.path())
        .into_iter()
        .filter(|path| !path.ends_with(KEYRING_KEY))
        .map(|path| {
            let bytes = fs::read(&path).unwrap();
            (path, bytes)
        })
        .collect();
    let new = MasterKey::generate().unwrap();
    // The wrong old key cannot rotate.
    let stranger = MasterKey::generate().unwrap();
    assert!(matches!(
        rotate_master_key(enc.raw.as_ref(), &stranger, &new),
        Err(StorageError::WrongMasterKey { .. })
    ));
    rotate_master_key(enc.raw.as_ref(), &enc.master, &new).unwrap();
    for (path, bytes) in &before {
        assert_eq!(&fs::read(path).unwrap(), bytes, "{} changed", path.display());
    }
    match enc.reopen(&enc.master) {
        Err(StorageError::WrongMasterKey { expected, offered }) => {
            assert_eq!((expected, offered), (new.id(), enc.master.id()));
        }
        other => panic!("expected WrongMasterKey, got {other:?}"),
    }
    let rotated = enc.reopen(&new).unwrap();
    assert_eq!(rotated.master_key_id(), new.id());
    assert_eq!(rotated.read(SEGMENT).unwrap(), SECRET.repeat(3));
    assert_eq!(rotated.read(WAL).unwrap(), [SECRET, b" and more"].concat());
}

#[test]
fn torn_stream_tail_is_cut_at_open_and_appending_continues() {
    let enc = populated();
    let path = enc.temp.path().join(WAL);
    let pristine = fs::read(&path).unwrap();
    let layout = format::scan_stream(WAL, &pristine).unwrap();
    let last = *layout.frames.last().unwrap();
    for cut in last.offset..pristine.len() {
        fs::write(&path, &pristine[..cut]).unwrap();
        assert_eq!(enc.backend.read(WAL).unwrap(), SECRET, "cut at {cut}");
        let mut file = enc.backend.open_append(WAL).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().len(), last.offset as u64, "cut at {cut}");
        file.append(b"|after").unwrap();
        file.sync().unwrap();
        assert_eq!(enc.backend.read(WAL).unwrap(), [SECRET, b"|after"].concat(), "cut at {cut}");
    }
}

#[test]
fn interrupted_creation_of_a_stream_restarts_it() {
    let enc = populated();
    let key = "collections/1/wal/00000000000000000009.wal";
    let path = enc.temp.path().join(key);
    let mut file = enc.backend.open_append(key).unwrap();
    file.append(b"header").unwrap();
    drop(file);
    let pristine = fs::read(&path).unwrap();
    for torn in
        [Vec::new(), pristine[..7].to_vec(), vec![0; 90], pristine[..FILE_HEADER_LEN + 3].to_vec()]
    {
        fs::write(&path, &torn).unwrap();
        assert_eq!(enc.backend.read(key).unwrap(), b"");
        let mut file = enc.backend.open_append(key).unwrap();
        file.append(b"fresh").unwrap();
        assert_eq!(enc.backend.read(key).unwrap(), b"fresh");
        enc.backend.truncate(key, 0).unwrap();
        assert_eq!(enc.backend.read(key).unwrap(), b"");
    }
}

#[test]
fn truncate_of_a_stream_cuts_at_frame_boundaries_only() {
    let enc = populated();
    let mut file = enc.backend.open_append(WAL).unwrap();
    file.append(b"third").unwrap();
    drop(file);
    let all = [SECRET, b" and more", b"third"].concat();
    assert_eq!(enc.backend.read(WAL).unwrap(), all);
    for inside in [1, SECRET.len() as u64 + 1, all.len() as u64 - 1, all.len() as u64 + 1] {
        assert!(
            matches!(enc.backend.truncate(WAL, inside), Err(StorageError::Unsupported { .. })),
            "truncate to {inside}"
        );
    }
    enc.backend.truncate(WAL, (SECRET.len() + 9) as u64).unwrap();
    assert_eq!(enc.backend.read(WAL).unwrap(), [SECRET, b" and more"].concat());
    let mut file = enc.backend.open_append(WAL).unwrap();
    file.append(b"fourth").unwrap();
    assert_eq!(enc.backend.read(WAL).unwrap(), [SECRET, b" and more", b"fourth"].concat());
    enc.backend.truncate(WAL, 0).unwrap();
    assert_eq!(enc.backend.read(WAL).unwrap(), b"");
}

#[test]
fn truncate_of_a_sealed_file_reseals_the_prefix() {
    let enc = populated();
    enc.backend.truncate(SEGMENT, 5).unwrap();
    assert_eq!(enc.backend.read(SEGMENT).unwrap(), &SECRET[..5]);
    assert!(matches!(enc.backend.truncate(SEGMENT, 6), Err(StorageError::Unsupported { .. })));
}

#[test]
fn append_to_a_sealed_file_is_refused() {
    let enc = populated();
    match enc.backend.open_append(SEGMENT) {
        Err(StorageError::Unsupported { path, op: "append", .. }) => assert_eq!(path, SEGMENT),
        other => panic!("expected Unsupported, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn rename_reencrypts_for_the_new_name() {
    let enc = populated();
    let moved = "collections/1/segments/00000000000000000007.qvs";
    enc.backend.rename(SEGMENT, moved).unwrap();
    assert_eq!(enc.backend.read(moved).unwrap(), SECRET.repeat(3));
    assert!(!enc.backend.exists(SEGMENT).unwrap());
    let moved_wal = "collections/1/wal/00000000000000000005.wal";
    enc.backend.rename(WAL, moved_wal).unwrap();
    let mut file = enc.backend.open_append(moved_wal).unwrap();
    file.append(b"!").unwrap();
    assert_eq!(enc.backend.read(moved_wal).unwrap(), [SECRET, b" and more", b"!"].concat());
}

#[test]
fn keyring_is_not_reachable_through_the_backend() {
    let enc = populated();
    for key in [KEYRING_KEY, "keyring.qvk.tmp"] {
        assert!(matches!(enc.backend.read(key), Err(StorageError::InvalidKey { .. })));
        assert!(matches!(
            enc.backend.write_atomic(key, b"x"),
            Err(StorageError::InvalidKey { .. })
        ));
        assert!(matches!(enc.backend.remove_file(key), Err(StorageError::InvalidKey { .. })));
    }
    assert!(matches!(
        enc.backend.read("collections/abc/MANIFEST"),
        Err(StorageError::InvalidKey { .. }) | Err(StorageError::Io { .. })
    ));
    assert!(matches!(
        enc.backend.write_new("collections/abc/MANIFEST", b"x"),
        Err(StorageError::InvalidKey { .. })
    ));
}

#[test]
fn debug_output_and_errors_never_show_key_material() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("master.key");
    let master = MasterKey::generate_to(&key_path).unwrap();
    let text = fs::read_to_string(&key_path).unwrap();
    let hex = text.trim_end().strip_prefix("qmk1_").unwrap().to_owned();
    let raw: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path().join("data")).unwrap());
    let backend = EncryptedBackend::create(raw.clone(), &master).unwrap();
    let other = MasterKey::generate().unwrap();
    let shown = [
        format!("{master:?}"),
        format!("{backend:?}"),
        EncryptedBackend::open(raw.clone(), &other).unwrap_err().to_string(),
        format!("{:?}", EncryptedBackend::open(raw, &other).unwrap_err()),
    ];
    for text in shown {
        for window in hex.as_bytes().windows(8) {
            let window = std::str::from_utf8(window).unwrap();
            assert!(!text.contains(window), "{text:?} shows part of the key");
        }
    }
}

/// Records every byte string handed to the inner backend's writes and appends, per append
/// handle, so a test can check nonces of frames that did not survive on disk.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn Backend>,
    log: Arc<Mutex<Vec<Written>>>,
    handles: Arc<Mutex<u64>>,
}

#[derive(Debug, Clone)]
enum Written {
    Whole(Vec<u8>),
    Append { handle: u64, bytes: Vec<u8> },
}

struct RecordingAppend {
    inner: Box<dyn AppendFile>,
    handle: u64,
    log: Arc<Mutex<Vec<Written>>>,
}

impl AppendFile for RecordingAppend {
    fn append(&mut self, bytes: &[u8]) -> Result<()> {
        self.log.lock().push(Written::Append { handle: self.handle, bytes: bytes.to_vec() });
        self.inner.append(bytes)
    }

    fn sync(&mut self) -> Result<()> {
        self.inner.sync()
    }
}

impl Backend for Recording {
    fn read(&self, key: &str) -> Result<Vec<u8>> {
        self.inner.read(key)
    }
    fn exists(&self, key: &str) -> Result<bool> {
        self.inner.exists(key)
    }
    fn list(&self, dir: &str) -> Result<Vec<String>> {
        self.inner.list(dir)
    }
    fn create_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.create_dir_all(dir)
    }
    fn write_new(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if key != KEYRING_KEY {
            self.log.lock().push(Written::Whole(bytes.to_vec()));
        }
        self.inner.write_new(key, bytes)
    }
    fn write_atomic(&self, key: &str, bytes: &[u8]) -> Result<()> {
        if key != KEYRING_KEY {
            self.log.lock().push(Written::Whole(bytes.to_vec()));
        }
        self.inner.write_atomic(key, bytes)
    }
    fn open_append(&self, key: &str) -> Result<Box<dyn AppendFile>> {
        let inner = self.inner.open_append(key)?;
        let mut handles = self.handles.lock();
        *handles += 1;
        Ok(Box::new(RecordingAppend { inner, handle: *handles, log: self.log.clone() }))
    }
    fn truncate(&self, key: &str, len: u64) -> Result<()> {
        self.inner.truncate(key, len)
    }
    fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, key: &str) -> Result<()> {
        self.inner.remove_file(key)
    }
    fn remove_dir_all(&self, dir: &str) -> Result<()> {
        self.inner.remove_dir_all(dir)
    }
}

/// One step of the nonce property test.
#[derive(Debug, Clone)]
enum Step {
    Append(usize),
    /// An append whose write fails after a prefix (a crash in the middle of it).
    FailingAppend(usize),
    /// Drop the handle and open the stream again.
    Reopen,
    /// Truncate to the end of the n-th data frame from the end, then reopen.
    Truncate(usize),
    /// Rewrite a sealed file.
    Rewrite(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..300usize).prop_map(Step::Append),
        1 => (1..300usize).prop_map(Step::FailingAppend),
        2 => Just(Step::Reopen),
        1 => (0..4usize).prop_map(Step::Truncate),
        1 => (0..200usize).prop_map(Step::Rewrite),
    ]
}

/// The (salt, nonce counter) of every data frame and sealed chunk ever handed to the medium,
/// with the ciphertext it carried; fails if one pair carried two different ciphertexts.
fn check_nonces(log: &[Written]) -> std::result::Result<usize, String> {
    let mut seen: HashMap<([u8; SALT_LEN], u64), Vec<u8>> = HashMap::new();
    let mut sessions: HashMap<u64, ([u8; SALT_LEN], u64)> = HashMap::new();
    let mut record = |salt: [u8; SALT_LEN], counter: u64, bytes: &[u8]| match seen
        .insert((salt, counter), bytes.to_vec())
    {
        Some(earlier) if earlier != bytes => Err(format!("nonce {counter} reused")),
        Some(_) => Err(format!("frame {counter} written twice")),
        None => Ok(()),
    };
    for written in log {
        match written {
            Written::Whole(bytes) => {
                let salt: [u8; SALT_LEN] =
                    bytes[FILE_HEADER_LEN..FILE_HEADER_LEN + SALT_LEN].try_into().unwrap();
                let body = &bytes[FILE_HEADER_LEN + SALT_LEN..];
                for (index, chunk) in body.chunks(format::CHUNK_LEN + TAG_LEN).enumerate() {
                    record(salt, index as u64, chunk)?;
                }
            }
            Written::Append { handle, bytes } => {
                let mut rest = &bytes[..];
                if rest.starts_with(&format::MAGIC) {
                    rest = &rest[FILE_HEADER_LEN..];
                }
                if rest[0] == format::FrameKind::Session as u8 {
                    let salt =
                        rest[FRAME_HEADER_LEN..FRAME_HEADER_LEN + SALT_LEN].try_into().unwrap();
                    if sessions.insert(*handle, (salt, 0)).is_some() {
                        return Err(format!("handle {handle} started two sessions"));
                    }
                    rest = &rest[FRAME_HEADER_LEN + SALT_LEN..];
                }
                let Some((salt, counter)) = sessions.get_mut(handle) else {
                    return Err(format!("handle {handle} wrote data before a session"));
                };
                record(*salt, *counter, &rest[FRAME_HEADER_LEN..])?;
                *counter += 1;
            }
        }
    }
    Ok(seen.len())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// No (key, nonce) pair ever encrypts two messages: across appends, failed appends,
    /// reopens, truncations followed by appends, and rewrites of sealed files, every data
    /// frame and chunk handed to the medium has its own (salt, counter); and the stream always
    /// reads back as exactly what was acknowledged.
    #[test]
    fn no_two_frames_or_chunks_ever_share_a_salt_and_nonce(
        steps in proptest::collection::vec(step(), 1..40),
        seed in any::<u64>(),
    ) {
        let temp = tempfile::tempdir().unwrap();
        let local = Arc::new(LocalBackend::new(temp.path().to_path_buf()).unwrap());
        let plan = FaultPlan::with_seed(seed);
        let faulty = Arc::new(FaultyBackend::new(local, plan.clone()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let recording =
            Arc::new(Recording { inner: faulty, log: log.clone(), handles: Arc::new(Mutex::new(0)) });
        let master = MasterKey::generate().unwrap();
        let backend = EncryptedBackend::create(recording, &master).unwrap();
        backend.create_collection_key(1).unwrap();
        backend.create_dir_all("collections/1/wal").unwrap();
        let mut file = Some(backend.open_append(WAL).unwrap());
        // The plaintext of each acknowledged append, in order.
        let mut appends: Vec<Vec<u8>> = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let data: Vec<u8> = (0..300).map(|i| (i + index) as u8).collect();
            match step {
                Step::Append(len) => {
                    let handle = file.get_or_insert_with(|| backend.open_append(WAL).unwrap());
                    handle.append(&data[..*len]).unwrap();
                    handle.sync().unwrap();
                    if *len > 0 {
                        appends.push(data[..*len].to_vec());
                    }
                }
                Step::FailingAppend(len) => {
                    let handle = file.get_or_insert_with(|| backend.open_append(WAL).unwrap());
                    plan.fail_nth_write(1);
                    prop_assert!(handle.append(&data[..*len]).is_err());
                    prop_assert!(handle.append(b"x").is_err(), "a failed handle refuses appends");
                    file = None;
                }
                Step::Reopen => file = Some(backend.open_append(WAL).unwrap()),
                Step::Truncate(back) => {
                    drop(file.take());
                    let keep = appends.len().saturating_sub(*back);
                    appends.truncate(keep);
                    let len: usize = appends.iter().map(Vec::len).sum();
                    backend.truncate(WAL, len as u64).unwrap();
                    file = Some(backend.open_append(WAL).unwrap());
                }
                Step::Rewrite(len) => {
                    backend.write_atomic(MANIFEST, &data[..*len]).unwrap();
                    prop_assert_eq!(backend.read(MANIFEST).unwrap(), data[..*len].to_vec());
                }
            }
            prop_assert_eq!(backend.read(WAL).unwrap(), appends.concat(), "after {:?}", step);
        }
        let checked = check_nonces(&log.lock()).map_err(TestCaseError::fail)?;
        prop_assert!(checked >= appends.len(), "{} frames checked", checked);
    }
}

#[test]
fn nonce_checker_detects_a_reused_nonce() {
    // Two sessions forced onto one salt: the checker must reject them.
    let frame = |salt: [u8; SALT_LEN], body: &[u8]| {
        let mut bytes = format::frame_header(format::FrameKind::Session, SALT_LEN as u64).to_vec();
        bytes.extend_from_slice(&salt);
        bytes.extend_from_slice(&format::frame_header(format::FrameKind::Data, body.len() as u64));
        bytes.extend_from_slice(body);
        bytes
    };
    let log = vec![
        Written::Append { handle: 1, bytes: frame([1; SALT_LEN], b"first") },
        Written::Append { handle: 2, bytes: frame([2; SALT_LEN], b"other") },
    ];
    assert_eq!(check_nonces(&log), Ok(2));
    let reused = vec![
        Written::Append { handle: 1, bytes: frame([1; SALT_LEN], b"first") },
        Written::Append { handle: 2, bytes: frame([1; SALT_LEN], b"second") },
    ];
    assert!(check_nonces(&reused).is_err());
}
