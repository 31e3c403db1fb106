//! The master key of encryption at rest, from the server's side: where it lives (beside the
//! data directory, never inside it, so that a copy of the directory or a backup of it holds
//! no key), loading it, generating it on a first start, and `quiver keys rotate`.
//!
//! The key comes from `QUIVER_MASTER_KEY` when that is set (`qmk1_` and 64 hex digits), else
//! from the key file (`--master-key-file`, default `DIR.master-key`). A missing file is
//! generated only when the data directory is new; a data directory that holds data and has
//! no key is refused, never reinitialized.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use quiver_storage::MasterKey;

/// The environment variable that may hold the master key itself.
pub(crate) const MASTER_KEY_ENV: &str = "QUIVER_MASTER_KEY";

/// `DIR<suffix>`: a file beside the data directory (`/srv/data` → `/srv/data<suffix>`).
pub(crate) fn beside(data_dir: &Path, suffix: &str) -> PathBuf {
    let mut name =
        data_dir.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "quiver".into());
    name.push(suffix);
    data_dir.with_file_name(name)
}

/// The master key file's default path: `DIR.master-key`.
pub(crate) fn default_master_key_path(data_dir: &Path) -> PathBuf {
    beside(data_dir, ".master-key")
}

/// Refuses a key file inside the data directory (where every copy of the data would carry
/// it). Both must exist or have an existing parent.
pub(crate) fn check_outside(data_dir: &Path, key_file: &Path) -> anyhow::Result<()> {
    let data = fs::canonicalize(data_dir)
        .with_context(|| format!("data directory {}", data_dir.display()))?;
    let parent = key_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let parent = fs::canonicalize(parent)
        .with_context(|| format!("directory of the master key file {}", key_file.display()))?;
    if parent.starts_with(&data) {
        bail!(
            "the master key file {} is inside the data directory {}: keep it outside, or every \
             copy of the data carries its key",
            key_file.display(),
            data_dir.display()
        );
    }
    Ok(())
}

/// The master key for serving `data_dir`: from the environment, or the key file, generated
/// there when `fresh` (the data directory was empty) and the file does not exist.
pub(crate) fn master_key(key_file: &Path, fresh: bool) -> anyhow::Result<MasterKey> {
    match std::env::var(MASTER_KEY_ENV) {
        Ok(text) => {
            return MasterKey::from_text(&text, MASTER_KEY_ENV)
                .with_context(|| format!("master key from {MASTER_KEY_ENV}"));
        }
        Err(std::env::VarError::NotUnicode(_)) => bail!("{MASTER_KEY_ENV} is not UTF-8"),
        Err(std::env::VarError::NotPresent) => {}
    }
    if key_file.exists() {
        return MasterKey::load(key_file)
            .with_context(|| format!("master key file {}", key_file.display()));
    }
    if !fresh {
        bail!(
            "the data directory holds data but the master key file {} does not exist: give the \
             key that encrypted it (--master-key-file or {MASTER_KEY_ENV})",
            key_file.display()
        );
    }
    let key = MasterKey::generate_to(key_file)
        .with_context(|| format!("cannot create the master key file {}", key_file.display()))?;
    tracing::warn!(
        path = %key_file.display(),
        key_id = %key.id(),
        "generated the master key of encryption at rest; back it up apart from the data: \
         without it the data cannot be read"
    );
    println!("quiver: master key written to {}", key_file.display());
    Ok(key)
}

/// `quiver keys rotate`: a new master key re-wraps every data key (the data files are not
/// rewritten) and replaces the key file. The server must be stopped (the data directory is
/// locked while it runs).
///
/// Order: the new key is written to `FILE.new` (fsynced), the keyring is re-wrapped
/// atomically, then `FILE.new` is renamed over `FILE`. A crash between the last two steps
/// leaves the new key in `FILE.new`, and the server's refusal names both key ids.
pub(crate) fn rotate(data_dir: &Path, key_file: &Path) -> anyhow::Result<()> {
    if std::env::var_os(MASTER_KEY_ENV).is_some() {
        bail!("{MASTER_KEY_ENV} is set: rotation works on key files (--master-key-file)");
    }
    check_outside(data_dir, key_file)?;
    let old = MasterKey::load(key_file)
        .with_context(|| format!("master key file {}", key_file.display()))?;
    let mut staged = key_file.as_os_str().to_owned();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    let new = MasterKey::generate_to(&staged).with_context(|| {
        format!("cannot write the new key to {} (left over from a rotation?)", staged.display())
    })?;
    if let Err(err) = quiver_engine::rotate_master_key(data_dir, &old, &new) {
        let _ = fs::remove_file(&staged);
        return Err(err)
            .with_context(|| format!("cannot rotate the keys of {}", data_dir.display()));
    }
    fs::rename(&staged, key_file).with_context(|| {
        format!(
            "the keys are re-wrapped under the key in {}, but it could not replace {}: move it \
             there by hand",
            staged.display(),
            key_file.display()
        )
    })?;
    if let Some(parent) = key_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::File::open(parent).and_then(|dir| dir.sync_all()).ok();
    }
    println!(
        "quiver: rotated the master key of {}: {} → {}; {} holds the new key",
        data_dir.display(),
        old.id(),
        new.id(),
        key_file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_live_beside_the_data_directory() {
        assert_eq!(
            default_master_key_path(Path::new("/srv/quiver-data")),
            PathBuf::from("/srv/quiver-data.master-key")
        );
        assert_eq!(beside(Path::new("data/"), ".audit-key"), PathBuf::from("data.audit-key"));
    }

    #[test]
    fn a_key_file_inside_the_data_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        fs::create_dir_all(data.join("sub")).unwrap();
        assert!(check_outside(&data, &data.join("key")).is_err());
        assert!(check_outside(&data, &data.join("sub/key")).is_err());
        check_outside(&data, &dir.path().join("data.master-key")).unwrap();
    }

    #[test]
    fn a_missing_key_is_generated_only_for_a_new_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("data.master-key");
        let err = master_key(&file, false).unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!file.exists());
        let generated = master_key(&file, true).unwrap();
        let loaded = master_key(&file, false).unwrap();
        assert_eq!(generated.id(), loaded.id());
    }

    #[test]
    fn rotation_replaces_the_key_file_and_the_old_key_no_longer_opens_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let file = dir.path().join("data.master-key");
        let old = MasterKey::generate_to(&file).unwrap();
        let old_id = old.id();
        let options = |key| quiver_engine::Options {
            encryption: Some(quiver_engine::Encryption::new(key)),
            maintenance_interval: None,
            ..quiver_engine::Options::default()
        };
        drop(quiver_engine::Database::open(&data, options(old)).unwrap());
        let old_text = fs::read_to_string(&file).unwrap();
        rotate(&data, &file).unwrap();
        let new = MasterKey::load(&file).unwrap();
        assert_ne!(new.id(), old_id);
        drop(quiver_engine::Database::open(&data, options(new)).unwrap());
        let old = MasterKey::from_text(&old_text, "the old key file").unwrap();
        let Err(refused) = quiver_engine::Database::open(&data, options(old)) else {
            panic!("the old key must be refused after a rotation");
        };
        assert!(refused.to_string().contains(&old_id.to_string()), "{refused}");
        assert!(!dir.path().join("data.master-key.new").exists());
    }
}
