//! The keyring file (`keyring.qvk` at the root of the data directory): every data key,
//! wrapped by the master key, with the master key's identifier in clear so that a wrong key is
//! named before anything else is tried.
//!
//! ```text
//! header, 24 bytes:  magic "QVKEYRNG" | version u32 (1) | master key id [8] | count u32
//! count entries, 69 bytes each, sorted by scope:
//!   kind u8 (0 system, 1 collection) | collection id u64 (0 for system)
//!   | nonce [12] | wrapped data key [32] | tag [16]
//! trailer, 36 bytes: HMAC-SHA256 of everything before [32] | crc32c of everything before [4]
//! ```
//!
//! A data key is wrapped with AES-256-GCM under the wrapping key derived from the master key
//! (HKDF info `keyring-wrap`), with a random nonce (a keyring is rewritten a few thousand
//! times in a directory's life at most, far below the 2^32 random nonces one key allows), and
//! AAD `quiver/keyring/v1` ‖ master key id ‖ kind ‖ collection id, so a wrapped key moved to
//! another entry does not unwrap. The HMAC (key derived with info `keyring-mac`) covers the
//! whole file, so entries cannot be dropped, duplicated or replayed from another keyring
//! sealed with the same master key either.
//!
//! Checks at open, in order, each with its own error: the CRC ([`StorageError::Corrupt`]: the
//! file is damaged), magic and version, the master key id
//! ([`StorageError::WrongMasterKey`], naming both ids), the count against the length, the
//! HMAC and every unwrap ([`StorageError::AuthenticationFailed`]: the file was changed by
//! someone without the master key), then one system key and no scope twice.
//!
//! The file is replaced with `write_atomic` whenever a data key is added or destroyed and by
//! [`rotate`](crate::rotate_master_key), which re-wraps every data key under a new master key
//! without touching a data file.

use std::collections::BTreeMap;

use ring::aead::{self, Aad, Nonce};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroize;

use crate::crypt::keys::{DataKey, KEY_LEN, KeyId, MasterKey, Scope};
use crate::error::{Result, StorageError};

/// The backend key of the keyring file.
pub const KEYRING_KEY: &str = "keyring.qvk";

const MAGIC: [u8; 8] = *b"QVKEYRNG";
const VERSION: u32 = 1;
const HEADER_LEN: usize = 24;
const ENTRY_LEN: usize = 1 + 8 + aead::NONCE_LEN + KEY_LEN + TAG_LEN;
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;
const TRAILER_LEN: usize = MAC_LEN + 4;
/// Most data keys in a keyring: far above the collections a directory can hold.
const MAX_ENTRIES: usize = 1 << 20;
const WRAP_AAD_LABEL: &[u8] = b"quiver/keyring/v1";

/// The data keys of a data directory, unwrapped, by scope.
#[derive(Debug, Default)]
pub(crate) struct Keyring {
    keys: BTreeMap<Scope, DataKey>,
}

impl Keyring {
    /// A keyring holding a new system key only.
    pub(crate) fn with_system_key(rng: &SystemRandom) -> Result<Keyring> {
        let mut keys = BTreeMap::new();
        keys.insert(Scope::System, DataKey::generate(rng)?);
        Ok(Keyring { keys })
    }

    pub(crate) fn get(&self, scope: Scope) -> Option<&DataKey> {
        self.keys.get(&scope)
    }

    pub(crate) fn insert(&mut self, scope: Scope, key: DataKey) {
        self.keys.insert(scope, key);
    }

    /// Removes (and wipes) the key of `scope`; false if there was none.
    pub(crate) fn remove(&mut self, scope: Scope) -> bool {
        self.keys.remove(&scope).is_some()
    }

    /// The collection ids that have a data key, ascending.
    pub(crate) fn collections(&self) -> Vec<u64> {
        self.keys
            .keys()
            .filter_map(|scope| match scope {
                Scope::Collection(id) => Some(*id),
                Scope::System => None,
            })
            .collect()
    }

    /// Every key of the keyring plus `extra` (replacing the key of its scope) minus
    /// `without`, in scope order: what [`encode`] writes for a change not applied yet.
    pub(crate) fn entries_with<'a>(
        &'a self,
        extra: Option<(Scope, &'a DataKey)>,
        without: Option<Scope>,
    ) -> Vec<(Scope, &'a DataKey)> {
        let mut entries: BTreeMap<Scope, &DataKey> =
            self.keys.iter().map(|(scope, key)| (*scope, key)).collect();
        if let Some((scope, key)) = extra {
            entries.insert(scope, key);
        }
        if let Some(scope) = without {
            entries.remove(&scope);
        }
        entries.into_iter().collect()
    }
}

/// The keyring file holding `entries` (sorted by scope), sealed with `master`.
pub(crate) fn encode(
    entries: &[(Scope, &DataKey)],
    master: &MasterKey,
    rng: &SystemRandom,
) -> Result<Vec<u8>> {
    let wrapping = master.wrapping_key()?;
    let count = u32::try_from(entries.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(HEADER_LEN + entries.len() * ENTRY_LEN + TRAILER_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(master.id().as_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    for (scope, key) in entries {
        let (kind, id) = scope_fields(*scope);
        let mut nonce = [0u8; aead::NONCE_LEN];
        rng.fill(&mut nonce).map_err(|_| StorageError::Crypto { what: "draw a nonce" })?;
        out.push(kind);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&nonce);
        let at = out.len();
        out.extend_from_slice(key.as_bytes());
        let aad = wrap_aad(master.id(), kind, id);
        let tag = wrapping
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut out[at..],
            )
            .map_err(|_| StorageError::Crypto { what: "wrap a data key" })?;
        out.extend_from_slice(tag.as_ref());
    }
    let mac = hmac::sign(&master.keyring_mac_key()?, &out);
    out.extend_from_slice(mac.as_ref());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Opens the keyring file `bytes` with `master`; see the module documentation for the checks.
pub(crate) fn decode(bytes: &[u8], master: &MasterKey) -> Result<Keyring> {
    let corrupt =
        |offset: usize, reason: &str| StorageError::corrupt(KEYRING_KEY, offset as u64, reason);
    if bytes.len() < HEADER_LEN + TRAILER_LEN {
        return Err(corrupt(0, "keyring is shorter than its header and trailer"));
    }
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]) {
        return Err(corrupt(0, "keyring checksum mismatch"));
    }
    if body[..8] != MAGIC {
        return Err(corrupt(0, "bad magic: not a keyring"));
    }
    let version = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
    if version > VERSION {
        return Err(StorageError::UnsupportedVersion {
            path: KEYRING_KEY.to_owned(),
            found: version,
            supported: VERSION,
        });
    }
    if version == 0 {
        return Err(corrupt(8, "keyring has version 0"));
    }
    let mut stored_id = [0u8; KeyId::LEN];
    stored_id.copy_from_slice(&body[12..20]);
    let expected = KeyId::from_bytes(stored_id);
    if expected != master.id() {
        return Err(StorageError::WrongMasterKey { expected, offered: master.id() });
    }
    let count = u32::from_le_bytes([body[20], body[21], body[22], body[23]]) as usize;
    if count > MAX_ENTRIES || body.len() != HEADER_LEN + count * ENTRY_LEN + MAC_LEN {
        return Err(corrupt(20, "keyring length does not match its entry count"));
    }
    let (signed, mac) = body.split_at(body.len() - MAC_LEN);
    hmac::verify(&master.keyring_mac_key()?, signed, mac).map_err(|_| {
        StorageError::AuthenticationFailed {
            path: KEYRING_KEY.to_owned(),
            offset: signed.len() as u64,
            reason: "the keyring does not authenticate under the master key",
        }
    })?;
    let wrapping = master.wrapping_key()?;
    let mut keyring = Keyring::default();
    for (index, entry) in signed[HEADER_LEN..].chunks_exact(ENTRY_LEN).enumerate() {
        let offset = HEADER_LEN + index * ENTRY_LEN;
        let kind = entry[0];
        let mut id_bytes = [0u8; 8];
        id_bytes.copy_from_slice(&entry[1..9]);
        let id = u64::from_le_bytes(id_bytes);
        let scope = match (kind, id) {
            (0, 0) => Scope::System,
            (1, id) => Scope::Collection(id),
            _ => return Err(corrupt(offset, "keyring entry has an unknown scope")),
        };
        let mut nonce = [0u8; aead::NONCE_LEN];
        nonce.copy_from_slice(&entry[9..9 + aead::NONCE_LEN]);
        let mut sealed = [0u8; KEY_LEN + TAG_LEN];
        sealed.copy_from_slice(&entry[9 + aead::NONCE_LEN..]);
        let aad = wrap_aad(master.id(), kind, id);
        let opened = wrapping
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(&aad), &mut sealed)
            .ok()
            .and_then(|plain| <[u8; KEY_LEN]>::try_from(&plain[..]).ok());
        sealed.zeroize();
        let Some(mut raw) = opened else {
            return Err(StorageError::AuthenticationFailed {
                path: KEYRING_KEY.to_owned(),
                offset: offset as u64,
                reason: "a data key does not unwrap under the master key",
            });
        };
        let key = DataKey::from_bytes(raw);
        raw.zeroize();
        if keyring.keys.insert(scope, key).is_some() {
            return Err(corrupt(offset, "keyring lists a scope twice"));
        }
    }
    if keyring.get(Scope::System).is_none() {
        return Err(corrupt(HEADER_LEN, "keyring has no system key"));
    }
    Ok(keyring)
}

fn scope_fields(scope: Scope) -> (u8, u64) {
    match scope {
        Scope::System => (0, 0),
        Scope::Collection(id) => (1, id),
    }
}

fn wrap_aad(master_id: KeyId, kind: u8, id: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(WRAP_AAD_LABEL.len() + KeyId::LEN + 9);
    aad.extend_from_slice(WRAP_AAD_LABEL);
    aad.extend_from_slice(master_id.as_bytes());
    aad.push(kind);
    aad.extend_from_slice(&id.to_le_bytes());
    aad
}

#[cfg(test)]
mod tests;
