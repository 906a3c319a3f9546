//! The root key: 32 random bytes in a file that only the portal's own user can
//! read. Every secret the vault keeps in the database (identity keys, the email
//! lookup key, the directory key) is stored only wrapped under it, so a copy of
//! the database, or of a backup, opens nothing without this file.
//!
//! Versions: version 1 is the file itself (`<data_dir>/master.key`, or the file
//! the configuration names); rotation writes version N beside it as
//! `<file>.vN`, under the same rules. A [`RootKeyring`] holds every version on
//! disk; the highest is the active one. A version's file is deleted only when no
//! database row is wrapped under it any more.

use std::{
    collections::BTreeMap,
    fmt,
    fs::{self, File, OpenOptions},
    io::{self, Read, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use chacha20poly1305::aead::{rand_core::RngCore, OsRng};
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The root key's file name under the data directory, when configuration names none.
pub const ROOT_KEY_FILE: &str = "master.key";

/// A root key is exactly this many bytes: a 256-bit XChaCha20-Poly1305 key.
pub const ROOT_KEY_LEN: usize = 32;

/// One version of the root key. Zeroed when dropped; `Debug` shows the version only.
pub struct RootKey {
    version: u32,
    bytes: Zeroizing<[u8; ROOT_KEY_LEN]>,
}

impl RootKey {
    /// 1 for the original file, N for `<file>.vN`.
    pub fn version(&self) -> u32 {
        self.version
    }

    pub(crate) fn bytes(&self) -> &[u8; ROOT_KEY_LEN] {
        &self.bytes
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Every version of the root key found on disk, by version.
pub struct RootKeyring {
    file: PathBuf,
    keys: BTreeMap<u32, RootKey>,
}

impl fmt::Debug for RootKeyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKeyring")
            .field("file", &self.file)
            .field("versions", &self.versions())
            .finish()
    }
}

impl RootKeyring {
    /// The root key the portal runs with: the file configuration names (`configured`,
    /// never created: a named key that is missing is an operator's mistake), or else
    /// `<data_dir>/master.key`, created with mode 0600 on first start.
    pub fn open(data_dir: &Path, configured: Option<&Path>) -> Result<Self> {
        match configured {
            Some(file) => Self::load(file),
            None => Self::load_or_create(&data_dir.join(ROOT_KEY_FILE)),
        }
    }

    /// Loads every version of the key whose version 1 is `file`, creating version 1
    /// when no version exists at all. Two processes starting at once end with one key.
    pub fn load_or_create(file: &Path) -> Result<Self> {
        if found_versions(file)?.is_empty() {
            if let Some(dir) = parent_dir(file) {
                fs::create_dir_all(dir).map_err(|e| key_error(dir, e))?;
            }
            // When another process created it first, this writes nothing and the
            // load below reads theirs.
            write_new_key(file)?;
        }
        Self::load(file)
    }

    /// Loads every version of the key whose version 1 is `file`. Each must be a
    /// regular file of exactly 32 bytes that group and others cannot read.
    pub fn load(file: &Path) -> Result<Self> {
        let versions = found_versions(file)?;
        if versions.is_empty() {
            return Err(Error::RootKey {
                path: file.to_owned(),
                problem: "does not exist (nor does any rotated version of it)".into(),
            });
        }
        let mut keys = BTreeMap::new();
        for version in versions {
            let path = version_path(file, version);
            let bytes = read_key_file(&path)?;
            keys.insert(version, RootKey { version, bytes });
        }
        Ok(Self {
            file: file.to_owned(),
            keys,
        })
    }

    /// The version-1 file, beside which later versions are written.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The highest version: the one new secrets are wrapped under after rotation.
    pub fn active(&self) -> &RootKey {
        // `load` refuses an empty keyring, so there is always a last entry.
        match self.keys.values().next_back() {
            Some(key) => key,
            None => unreachable!("a keyring is never empty"),
        }
    }

    pub fn get(&self, version: u32) -> Option<&RootKey> {
        self.keys.get(&version)
    }

    /// Every version present, lowest first.
    pub fn versions(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// The file that holds `version`.
    pub fn path_of(&self, version: u32) -> PathBuf {
        version_path(&self.file, version)
    }

    /// Writes version `active + 1` beside the file (created with mode 0600, written
    /// and fsynced, then linked into place and the directory fsynced) and returns the
    /// keyring reloaded from disk. When another process wrote that version first,
    /// theirs is kept and loaded.
    pub(crate) fn add_version(&self) -> Result<Self> {
        let next = self
            .active()
            .version()
            .checked_add(1)
            .ok_or(Error::RootKey {
                path: self.file.clone(),
                problem: "has no version numbers left".into(),
            })?;
        write_new_key(&self.path_of(next))?;
        Self::load(&self.file)
    }

    /// Deletes the file of `version` (and fsyncs the directory). Only rotation calls
    /// this, once no row is wrapped under that version.
    pub(crate) fn retire(&self, version: u32) -> Result<()> {
        let path = self.path_of(version);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(key_error(&path, e)),
        }
        sync_dir(&path)
    }
}

/// `<file>` for version 1, `<file>.vN` for version N.
fn version_path(file: &Path, version: u32) -> PathBuf {
    if version == 1 {
        return file.to_owned();
    }
    let mut name = file.as_os_str().to_owned();
    name.push(format!(".v{version}"));
    PathBuf::from(name)
}

/// The directory a key file lives in, when the path names one.
fn parent_dir(file: &Path) -> Option<&Path> {
    file.parent().filter(|p| !p.as_os_str().is_empty())
}

/// The versions present on disk: 1 when `file` exists, N for each `<file>.vN`
/// (N ≥ 2) beside it. Other names (such as a half-written temporary) are ignored.
fn found_versions(file: &Path) -> Result<Vec<u32>> {
    let mut versions = Vec::new();
    match fs::symlink_metadata(file) {
        Ok(_) => versions.push(1),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(key_error(file, e)),
    }
    let Some(base) = file.file_name().and_then(|n| n.to_str()) else {
        return Err(Error::RootKey {
            path: file.to_owned(),
            problem: "is not a usable file name".into(),
        });
    };
    let prefix = format!("{base}.v");
    let dir = parent_dir(file).unwrap_or(Path::new("."));
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(versions),
        Err(e) => return Err(key_error(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| key_error(dir, e))?;
        let name = entry.file_name();
        let Some(digits) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        match digits.parse::<u32>() {
            Ok(v) if v >= 2 => versions.push(v),
            _ => continue,
        }
    }
    versions.sort_unstable();
    Ok(versions)
}

/// Reads one key file, refusing what would make the key unsafe or unusable.
fn read_key_file(path: &Path) -> Result<Zeroizing<[u8; ROOT_KEY_LEN]>> {
    let refuse = |problem: String| Error::RootKey {
        path: path.to_owned(),
        problem,
    };
    let mut file = File::open(path).map_err(|e| key_error(path, e))?;
    // Checked on the opened file, so the checks and the read see the same file.
    let meta = file.metadata().map_err(|e| key_error(path, e))?;
    if !meta.is_file() {
        return Err(refuse("is not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(refuse(format!(
            "can be read by group or others (mode {mode:04o}); allow its owner only: chmod 600 {}",
            path.display()
        )));
    }
    if meta.len() != ROOT_KEY_LEN as u64 {
        return Err(refuse(format!(
            "is {} bytes long; a root key is exactly {ROOT_KEY_LEN} bytes",
            meta.len()
        )));
    }
    let mut bytes = Zeroizing::new([0u8; ROOT_KEY_LEN]);
    file.read_exact(&mut bytes[..])
        .map_err(|e| key_error(path, e))?;
    // One more byte would mean the file grew between the length check and the read.
    let mut extra = [0u8; 1];
    if file.read(&mut extra).map_err(|e| key_error(path, e))? != 0 {
        return Err(refuse(format!(
            "is longer than {ROOT_KEY_LEN} bytes; a root key is exactly {ROOT_KEY_LEN} bytes"
        )));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(refuse(
            "holds only zero bytes: it is a placeholder, not a key".into(),
        ));
    }
    Ok(bytes)
}

/// Creates `path` holding 32 fresh random bytes, mode 0600, durably: written to a
/// temporary file opened with O_EXCL, fsynced, hard-linked into place (which fails
/// rather than replace an existing key), then the directory is fsynced. Returns
/// `false`, writing nothing, when `path` already exists.
fn write_new_key(path: &Path) -> Result<bool> {
    let mut key = Zeroizing::new([0u8; ROOT_KEY_LEN]);
    OsRng.fill_bytes(&mut key[..]);
    let mut tag = [0u8; 8];
    OsRng.fill_bytes(&mut tag);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let tmp = PathBuf::from(tmp);

    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(&key[..])?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(key_error(path, e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(path)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(key_error(path, e)),
    }
}

/// Fsyncs the directory holding `path`, so a created or deleted name survives a crash.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| key_error(dir, e))
}

fn key_error(path: &Path, e: io::Error) -> Error {
    Error::RootKey {
        path: path.to_owned(),
        problem: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_mode(path: &Path, bytes: &[u8], mode: u32) {
        fs::write(path, bytes).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn first_start_creates_an_owner_only_key_and_later_starts_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let ring = RootKeyring::open(dir.path(), None).unwrap();
        let file = dir.path().join(ROOT_KEY_FILE);
        let meta = fs::metadata(&file).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        assert_eq!(ring.versions(), vec![1]);
        let again = RootKeyring::open(dir.path(), None).unwrap();
        assert_eq!(again.active().bytes(), ring.active().bytes());
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_configured_key_file_is_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("portico.key");
        let err = RootKeyring::open(dir.path(), Some(&named)).unwrap_err();
        assert!(err.to_string().contains("portico.key"), "{err}");
        assert!(!named.exists());
    }

    #[test]
    fn unsafe_or_malformed_key_files_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k");
        for (bytes, mode, expect) in [
            (vec![1u8; 32], 0o644, "chmod 600"),
            (vec![1u8; 32], 0o640, "group or others"),
            (vec![1u8; 31], 0o600, "31 bytes"),
            (vec![1u8; 33], 0o600, "33 bytes"),
            (vec![0u8; 32], 0o600, "zero"),
        ] {
            write_mode(&file, &bytes, mode);
            let err = RootKeyring::load(&file).unwrap_err().to_string();
            assert!(err.contains(&file.display().to_string()), "{err}");
            assert!(err.contains(expect), "{err}");
            fs::remove_file(&file).unwrap();
        }
        write_mode(&file, &[9u8; 32], 0o400);
        assert_eq!(RootKeyring::load(&file).unwrap().versions(), vec![1]);
    }

    #[test]
    fn versions_are_found_beside_the_file_and_the_highest_is_active() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ROOT_KEY_FILE);
        let ring = RootKeyring::load_or_create(&file).unwrap();
        let ring = ring.add_version().unwrap();
        let ring = ring.add_version().unwrap();
        assert_eq!(ring.versions(), vec![1, 2, 3]);
        assert_eq!(ring.active().version(), 3);
        assert!(dir.path().join("master.key.v3").exists());
        assert_ne!(ring.get(1).unwrap().bytes(), ring.get(3).unwrap().bytes());
        // Unrelated names beside it are ignored.
        write_mode(&dir.path().join("master.key.vx"), &[1; 32], 0o600);
        write_mode(&dir.path().join("master.key.v3.tmp-1-00"), &[1; 32], 0o600);
        assert_eq!(RootKeyring::load(&file).unwrap().versions(), vec![1, 2, 3]);

        ring.retire(1).unwrap();
        let ring = RootKeyring::load_or_create(&file).unwrap();
        assert_eq!(
            ring.versions(),
            vec![2, 3],
            "no new version 1 after retiring it"
        );
        let debug = format!("{ring:?} {:?}", ring.active());
        assert!(debug.contains("version: 3"), "{debug}");
        assert!(!debug.contains("bytes"), "{debug}");
    }

    #[test]
    fn a_rotated_version_with_loose_permissions_is_refused_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ROOT_KEY_FILE);
        RootKeyring::load_or_create(&file).unwrap();
        let v2 = dir.path().join("master.key.v2");
        write_mode(&v2, &[3u8; 32], 0o604);
        let err = RootKeyring::load(&file).unwrap_err().to_string();
        assert!(err.contains("master.key.v2"), "{err}");
    }
}
