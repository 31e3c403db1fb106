//! The bytes of an encrypted file: a common header, then either the chunks of a *sealed* file
//! (written whole) or the frames of a *stream* file (appended to: the write-ahead log).
//!
//! All integers are little-endian; the AEAD is AES-256-GCM (`ring`), with 12-byte nonces and
//! 16-byte tags.
//!
//! ```text
//! file header, 20 bytes (the same for every file of a class):
//!   magic "QUIVENC\0" (8) | version u32 (1) | class u8 (1 sealed, 2 stream) | 3 zero bytes
//!   | crc32c of the 16 bytes before, u32
//!
//! sealed file:  header | salt [32] | chunk 0 | chunk 1 | ... | chunk n-1
//!   chunk i = AES-256-GCM(file key, nonce = i as u64 ‖ 0u32, aad, plaintext[i*64 KiB ..][..64 KiB])
//!             ‖ tag [16]; every chunk holds 64 KiB of plaintext but the last, which holds
//!             0..=64 KiB (an empty file is one empty chunk, i.e. a bare tag)
//!   aad     = header ‖ path length u32 ‖ path ‖ i u64 ‖ is_last u8
//!
//! stream file:  header | frame | frame | ...
//!   frame header, 16 bytes: kind u8 (1 session, 2 data) | 3 zero bytes | len u64
//!                           | crc32c of the 12 bytes before, u32
//!   session frame: header (len = 32) ‖ salt [32]; starts a session: the frames after it, up
//!                  to the next session frame, use the key derived from this salt and count
//!                  from 0
//!   data frame:    header (len = plaintext length) ‖ AES-256-GCM(session key,
//!                  nonce = counter u64 ‖ 0u32, aad, plaintext) ‖ tag [16]
//!   aad     = header ‖ path length u32 ‖ path ‖ plaintext offset u64 ‖ counter u64
//!             ‖ frame header [16]
//! ```
//!
//! The file key (sealed) or session key (stream) is HKDF-SHA256 with the random salt as salt,
//! the scope's data key as input key material and info `quiver/file/v1` ‖ class. A salt is
//! drawn from the system generator for every sealed file written and every session started,
//! so every key encrypts one file version or one session only, and its counter nonces never
//! repeat (see `crypt.rs` for the argument, including truncation).
//!
//! What the AAD binds: the version and class (no downgrade, no reading a stream as sealed),
//! the backend key of the file (a file moved or copied to another name fails), the position
//! (a chunk or frame moved, dropped or duplicated fails: sealed chunks by index, stream frames
//! by plaintext offset and counter) and, for sealed files, which chunk is the last (a sealed
//! file cut at a chunk boundary, or extended, fails).
//!
//! Reading a stream tolerates what a crash does to the end of an appended file, exactly like
//! the write-ahead log does one layer up: a last frame cut short, or a tail of zero bytes, is
//! dropped. A file shorter than its header that is a prefix of the stream header, or that is
//! nothing but zero bytes, reads as empty: a stream whose creation a crash interrupted.

use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::hkdf;
use ring::rand::{SecureRandom, SystemRandom};

use crate::crypt::keys::DataKey;
use crate::error::{Result, StorageError};

/// The magic number opening every encrypted file.
pub(crate) const MAGIC: [u8; 8] = *b"QUIVENC\0";
/// The format version this build writes and the newest it reads.
pub(crate) const VERSION: u32 = 1;
/// Length of the file header.
pub(crate) const FILE_HEADER_LEN: usize = 20;
/// Length of a random salt.
pub(crate) const SALT_LEN: usize = 32;
/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Plaintext bytes per chunk of a sealed file.
pub(crate) const CHUNK_LEN: usize = 64 << 10;
/// Length of a stream frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 16;
/// Largest plaintext of one data frame (one append): 16 GiB, below AES-GCM's limit per
/// message (64 GiB).
pub(crate) const MAX_FRAME_LEN: u64 = 1 << 34;
/// The HKDF info label of file and session keys (followed by the class byte).
const FILE_KEY_INFO: &[u8] = b"quiver/file/v1";

/// Which of the two layouts a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Written whole by `write_new` or `write_atomic`.
    Sealed = 1,
    /// Created and extended by `open_append`.
    Stream = 2,
}

/// The header of every file of `class`.
pub(crate) fn file_header(class: Class) -> [u8; FILE_HEADER_LEN] {
    let mut header = [0u8; FILE_HEADER_LEN];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12] = class as u8;
    let crc = crc32c::crc32c(&header[..16]);
    header[16..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// What the first bytes of a file say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Empty, all zero bytes, or a prefix of the stream header: a file whose creation was
    /// interrupted. Reads as no bytes.
    Empty,
    Sealed,
    Stream,
}

/// Classifies the file `path` from its bytes (see [`Shape`]); a header that is damaged, of
/// a newer version, or not an encrypted file's is an error naming the file.
pub(crate) fn shape(path: &str, bytes: &[u8]) -> Result<Shape> {
    if bytes.iter().all(|byte| *byte == 0) {
        return Ok(Shape::Empty);
    }
    let Some(header) = bytes.get(..FILE_HEADER_LEN) else {
        if file_header(Class::Stream).starts_with(bytes) {
            return Ok(Shape::Empty);
        }
        if file_header(Class::Sealed).starts_with(bytes) {
            return Err(auth_failed(path, 0, "the file ends inside its header"));
        }
        return Err(StorageError::NotEncrypted { path: path.to_owned() });
    };
    if header[..8] != MAGIC {
        return Err(StorageError::NotEncrypted { path: path.to_owned() });
    }
    let version = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let crc = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
    if crc != crc32c::crc32c(&header[..16]) {
        return Err(StorageError::corrupt(path, 0, "encryption header checksum mismatch"));
    }
    if version > VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: path.to_owned(),
            found: version,
            supported: VERSION,
        });
    }
    if version == 0 || header[13..16] != [0, 0, 0] {
        return Err(StorageError::corrupt(path, 0, "encryption header has bad fields"));
    }
    match header[12] {
        1 => Ok(Shape::Sealed),
        2 => Ok(Shape::Stream),
        _ => Err(StorageError::corrupt(path, 0, "encryption header has an unknown class")),
    }
}

pub(crate) fn auth_failed(path: &str, offset: usize, reason: &'static str) -> StorageError {
    StorageError::AuthenticationFailed { path: path.to_owned(), offset: offset as u64, reason }
}

/// A fresh random salt.
pub(crate) fn new_salt(rng: &SystemRandom) -> Result<[u8; SALT_LEN]> {
    let mut salt = [0u8; SALT_LEN];
    rng.fill(&mut salt).map_err(|_| StorageError::Crypto { what: "draw a random salt" })?;
    Ok(salt)
}

/// The key of one sealed file or one stream session (see the module documentation).
pub(crate) fn derive_key(
    data_key: &DataKey,
    salt: &[u8; SALT_LEN],
    class: Class,
) -> Result<LessSafeKey> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(data_key.as_bytes());
    let class_byte = [class as u8];
    let info: [&[u8]; 2] = [FILE_KEY_INFO, &class_byte];
    let okm = prk
        .expand(&info, &aead::AES_256_GCM)
        .map_err(|_| StorageError::Crypto { what: "derive a file key with HKDF" })?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// The nonce of chunk or frame number `counter` under its (single-use) key.
fn nonce(counter: u64) -> Nonce {
    let mut bytes = [0u8; aead::NONCE_LEN];
    bytes[..8].copy_from_slice(&counter.to_le_bytes());
    Nonce::assume_unique_for_key(bytes)
}

/// The part of every AAD of a file that does not change: its header and its path.
fn aad_prefix(class: Class, path: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(FILE_HEADER_LEN + 4 + path.len() + 8 + 8 + FRAME_HEADER_LEN);
    aad.extend_from_slice(&file_header(class));
    // Keys are at most MAX_KEY_LEN (1024) bytes, so the length fits.
    aad.extend_from_slice(&u32::try_from(path.len()).unwrap_or(u32::MAX).to_le_bytes());
    aad.extend_from_slice(path.as_bytes());
    aad
}

/// The length of a sealed file holding `plaintext_len` bytes.
pub(crate) fn sealed_len(plaintext_len: usize) -> usize {
    let chunks = plaintext_len.div_ceil(CHUNK_LEN).max(1);
    FILE_HEADER_LEN + SALT_LEN + plaintext_len + chunks * TAG_LEN
}

/// Encrypts `plaintext` as the sealed file `path` under a new salt.
pub(crate) fn seal(
    path: &str,
    data_key: &DataKey,
    rng: &SystemRandom,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let salt = new_salt(rng)?;
    let key = derive_key(data_key, &salt, Class::Sealed)?;
    let mut out = Vec::with_capacity(sealed_len(plaintext.len()));
    out.extend_from_slice(&file_header(Class::Sealed));
    out.extend_from_slice(&salt);
    let mut aad = aad_prefix(Class::Sealed, path);
    let fixed = aad.len();
    let chunks = plaintext.len().div_ceil(CHUNK_LEN).max(1);
    for index in 0..chunks {
        let start = index * CHUNK_LEN;
        let chunk = plaintext.get(start..plaintext.len().min(start + CHUNK_LEN)).unwrap_or(&[]);
        let is_last = index + 1 == chunks;
        aad.truncate(fixed);
        aad.extend_from_slice(&(index as u64).to_le_bytes());
        aad.push(u8::from(is_last));
        let at = out.len();
        out.extend_from_slice(chunk);
        let tag = key
            .seal_in_place_separate_tag(nonce(index as u64), Aad::from(&aad), &mut out[at..])
            .map_err(|_| StorageError::Crypto { what: "encrypt a chunk" })?;
        out.extend_from_slice(tag.as_ref());
    }
    Ok(out)
}

/// Decrypts the sealed file `path` in place (no copy: each chunk's plaintext is moved to its
/// final position by the decryption itself) and returns its plaintext.
pub(crate) fn open_sealed(path: &str, data_key: &DataKey, mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    let body_start = FILE_HEADER_LEN + SALT_LEN;
    let Some(salt) = bytes.get(FILE_HEADER_LEN..body_start) else {
        return Err(auth_failed(path, FILE_HEADER_LEN, "the file ends inside its salt"));
    };
    let mut salt_bytes = [0u8; SALT_LEN];
    salt_bytes.copy_from_slice(salt);
    let body_len = bytes.len() - body_start;
    if body_len < TAG_LEN {
        return Err(auth_failed(path, body_start, "the file ends before its first chunk"));
    }
    let stride = CHUNK_LEN + TAG_LEN;
    let chunks = body_len.div_ceil(stride);
    let last_len = body_len - (chunks - 1) * stride;
    if last_len < TAG_LEN {
        let offset = body_start + (chunks - 1) * stride;
        return Err(auth_failed(path, offset, "the file ends inside a chunk's tag"));
    }
    let key = derive_key(data_key, &salt_bytes, Class::Sealed)?;
    let mut aad = aad_prefix(Class::Sealed, path);
    let fixed = aad.len();
    let mut plaintext_len = 0;
    for index in 0..chunks {
        let is_last = index + 1 == chunks;
        let start = body_start + index * stride;
        let end = if is_last { bytes.len() } else { start + stride };
        aad.truncate(fixed);
        aad.extend_from_slice(&(index as u64).to_le_bytes());
        aad.push(u8::from(is_last));
        let dest = index * CHUNK_LEN;
        let in_out = &mut bytes[dest..end];
        let opened = key
            .open_within(nonce(index as u64), Aad::from(&aad), in_out, (start - dest)..)
            .map_err(|_| {
                auth_failed(path, start, "chunk does not authenticate under its data key")
            })?;
        plaintext_len = dest + opened.len();
    }
    bytes.truncate(plaintext_len);
    Ok(bytes)
}

/// The kind byte of a stream frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Session = 1,
    Data = 2,
}

/// The header of a stream frame of `kind` with payload length `len`.
pub(crate) fn frame_header(kind: FrameKind, len: u64) -> [u8; FRAME_HEADER_LEN] {
    let mut header = [0u8; FRAME_HEADER_LEN];
    header[0] = kind as u8;
    header[4..12].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c(&header[..12]);
    header[12..].copy_from_slice(&crc.to_le_bytes());
    header
}

/// One complete frame of a stream file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) kind: FrameKind,
    /// Offset of its header in the file.
    pub(crate) offset: usize,
    /// Its `len` field: the salt length for a session, the plaintext length for data.
    pub(crate) len: usize,
}

impl Frame {
    /// Offset just past the frame.
    pub(crate) fn end(&self) -> usize {
        self.offset + FRAME_HEADER_LEN + self.body_len()
    }

    fn body_len(&self) -> usize {
        self.body_len_checked().unwrap_or(usize::MAX)
    }

    /// The length of what follows the frame header; `None` if it overflows.
    fn body_len_checked(&self) -> Option<usize> {
        match self.kind {
            FrameKind::Session => Some(SALT_LEN),
            FrameKind::Data => self.len.checked_add(TAG_LEN),
        }
    }
}

/// The complete frames of a stream file, from its header to the end of the last complete
/// frame (`valid_len`); a torn tail after it is not listed.
#[derive(Debug, Default)]
pub(crate) struct StreamLayout {
    pub(crate) frames: Vec<Frame>,
    pub(crate) valid_len: usize,
    /// Sum of the lengths of the data frames.
    pub(crate) plaintext_len: u64,
}

/// Lists the frames of the stream file `path` (whose header was checked) without decrypting
/// them. A last frame cut short, or a tail of zero bytes, ends the list (a torn tail); any
/// other damage is [`StorageError::Corrupt`] at the frame's offset.
pub(crate) fn scan_stream(path: &str, bytes: &[u8]) -> Result<StreamLayout> {
    let mut layout = StreamLayout { valid_len: FILE_HEADER_LEN, ..StreamLayout::default() };
    let mut offset = FILE_HEADER_LEN;
    let mut in_session = false;
    while let Some(rest) = bytes.get(offset..).filter(|rest| !rest.is_empty()) {
        let Some(head) = rest.get(..FRAME_HEADER_LEN) else { break };
        let crc = u32::from_le_bytes([head[12], head[13], head[14], head[15]]);
        if crc != crc32c::crc32c(&head[..12]) {
            if rest.iter().all(|byte| *byte == 0) {
                break;
            }
            return Err(StorageError::corrupt(
                path,
                offset as u64,
                "frame header checksum mismatch",
            ));
        }
        let len = u64::from_le_bytes([
            head[4], head[5], head[6], head[7], head[8], head[9], head[10], head[11],
        ]);
        let kind = match head[0] {
            1 if len == SALT_LEN as u64 => FrameKind::Session,
            2 if len <= MAX_FRAME_LEN => FrameKind::Data,
            _ => {
                return Err(StorageError::corrupt(path, offset as u64, "frame header is invalid"));
            }
        };
        if head[1..4] != [0, 0, 0] {
            return Err(StorageError::corrupt(path, offset as u64, "frame header is invalid"));
        }
        if kind == FrameKind::Data && !in_session {
            return Err(StorageError::corrupt(path, offset as u64, "data frame before a session"));
        }
        // A frame longer than what remains is torn (compared without computing its end,
        // which could overflow on a 32-bit target).
        let Ok(len) = usize::try_from(len) else { break };
        let frame = Frame { kind, offset, len };
        let needed = frame.body_len_checked().and_then(|body| body.checked_add(FRAME_HEADER_LEN));
        if needed.is_none_or(|needed| rest.len() < needed) {
            break;
        }
        in_session = true;
        if kind == FrameKind::Data {
            layout.plaintext_len += len as u64;
        }
        offset = frame.end();
        layout.valid_len = offset;
        layout.frames.push(frame);
    }
    Ok(layout)
}

/// The salt of a session frame of `bytes`.
pub(crate) fn session_salt(bytes: &[u8], frame: &Frame) -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    let start = frame.offset + FRAME_HEADER_LEN;
    if let Some(stored) = bytes.get(start..start + SALT_LEN) {
        salt.copy_from_slice(stored);
    }
    salt
}

/// Decrypts the complete frames of the stream file `path` in place and returns their
/// plaintext, in order; a torn tail is dropped (see [`scan_stream`]).
pub(crate) fn open_stream(path: &str, data_key: &DataKey, mut bytes: Vec<u8>) -> Result<Vec<u8>> {
    let layout = scan_stream(path, &bytes)?;
    let mut aad = aad_prefix(Class::Stream, path);
    let fixed = aad.len();
    let mut key = None;
    let mut counter = 0u64;
    let mut plaintext_len = 0usize;
    for frame in &layout.frames {
        match frame.kind {
            FrameKind::Session => {
                key = Some(derive_key(data_key, &session_salt(&bytes, frame), Class::Stream)?);
                counter = 0;
            }
            FrameKind::Data => {
                let Some(key) = &key else {
                    return Err(StorageError::corrupt(
                        path,
                        frame.offset as u64,
                        "data frame before a session",
                    ));
                };
                aad.truncate(fixed);
                aad.extend_from_slice(&(plaintext_len as u64).to_le_bytes());
                aad.extend_from_slice(&counter.to_le_bytes());
                aad.extend_from_slice(&bytes[frame.offset..frame.offset + FRAME_HEADER_LEN]);
                let start = frame.offset + FRAME_HEADER_LEN;
                let in_out = &mut bytes[plaintext_len..frame.end()];
                let opened = key
                    .open_within(nonce(counter), Aad::from(&aad), in_out, (start - plaintext_len)..)
                    .map_err(|_| {
                        auth_failed(
                            path,
                            frame.offset,
                            "frame does not authenticate under its data key",
                        )
                    })?;
                plaintext_len += opened.len();
                counter += 1;
            }
        }
    }
    bytes.truncate(plaintext_len);
    Ok(bytes)
}

/// Encrypts appends to one stream file: one session (one salt, one key), frames numbered
/// from 0, each bound to the plaintext offset it starts at.
pub(crate) struct StreamWriter {
    key: LessSafeKey,
    aad: Vec<u8>,
    aad_fixed: usize,
    counter: u64,
    plaintext_offset: u64,
    /// Bytes to write before the next frame: the file header of a new file and the session
    /// frame, until the first frame is written.
    prefix: Vec<u8>,
}

impl StreamWriter {
    /// Starts a session on the stream file `path` whose existing plaintext is
    /// `plaintext_offset` bytes long; `new_file` when the file header must be written too.
    pub(crate) fn start(
        path: &str,
        data_key: &DataKey,
        rng: &SystemRandom,
        plaintext_offset: u64,
        new_file: bool,
    ) -> Result<StreamWriter> {
        let salt = new_salt(rng)?;
        let key = derive_key(data_key, &salt, Class::Stream)?;
        let mut prefix = Vec::with_capacity(FILE_HEADER_LEN + FRAME_HEADER_LEN + SALT_LEN);
        if new_file {
            prefix.extend_from_slice(&file_header(Class::Stream));
        }
        prefix.extend_from_slice(&frame_header(FrameKind::Session, SALT_LEN as u64));
        prefix.extend_from_slice(&salt);
        let aad = aad_prefix(Class::Stream, path);
        let aad_fixed = aad.len();
        Ok(StreamWriter { key, aad, aad_fixed, counter: 0, plaintext_offset, prefix })
    }

    /// Appends to `out` what must be written for `plaintext`: the pending prefix, then one
    /// data frame. Call [`StreamWriter::written`] once those bytes are in the file.
    pub(crate) fn seal_frame(&mut self, out: &mut Vec<u8>, plaintext: &[u8]) -> Result<()> {
        let len = plaintext.len() as u64;
        if len > MAX_FRAME_LEN {
            return Err(StorageError::TooLarge {
                what: "one append to an encrypted file",
                len,
                max: MAX_FRAME_LEN,
            });
        }
        let header = frame_header(FrameKind::Data, len);
        out.reserve(self.prefix.len() + FRAME_HEADER_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(&header);
        self.aad.truncate(self.aad_fixed);
        self.aad.extend_from_slice(&self.plaintext_offset.to_le_bytes());
        self.aad.extend_from_slice(&self.counter.to_le_bytes());
        self.aad.extend_from_slice(&header);
        let at = out.len();
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(nonce(self.counter), Aad::from(&self.aad), &mut out[at..])
            .map_err(|_| StorageError::Crypto { what: "encrypt a frame" })?;
        out.extend_from_slice(tag.as_ref());
        Ok(())
    }

    /// Records that the frame last sealed (of `len` plaintext bytes) reached the file: the
    /// counter and offset move on and the prefix is not written again.
    ///
    /// If writing it failed instead, the writer must not be used again (the file's end is
    /// unknown); a new session starts with a new salt, so the counter is never reused either
    /// way.
    pub(crate) fn written(&mut self, len: usize) -> Result<()> {
        self.prefix.clear();
        self.plaintext_offset += len as u64;
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or(StorageError::Crypto { what: "count frames of a stream session" })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
