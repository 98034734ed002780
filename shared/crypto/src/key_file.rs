//! Reading and writing key files and the key ring directory with the permissions the layout promises.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hpke::{Deserializable, Serializable};
use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;
use crate::suite::{HpkePrivateKey, HpkePublicKey, X25519_KEY_LEN};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};

const PRIVATE_PREFIX: &str = "hm1-private:";
const PUBLIC_PREFIX: &str = "hm1-public:";
/// Far above any valid key file; stops a wrong path (a log, a device) from being read whole.
const MAX_KEY_FILE_LEN: u64 = 1024;

pub(crate) const PRIVATE_MODE: u32 = 0o600;
pub(crate) const PUBLIC_MODE: u32 = 0o644;
pub(crate) const DIR_MODE: u32 = 0o700;

/// Creates `dir` and missing parents; the directories created are 0700 (an existing one is left as it is).
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), CryptoError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(DIR_MODE);
    builder.create(dir).map_err(CryptoError::io("create the key directory", dir))
}

/// Writes a file that must not exist yet, with `mode` applied at creation so it is never readable more widely.
pub(crate) fn write_new_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), CryptoError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(CryptoError::io("create", path))?;
    file.write_all(contents).map_err(CryptoError::io("write", path))?;
    file.sync_all().map_err(CryptoError::io("sync", path))
}

/// Replaces `path` so that readers see either the old or the new content, never a partial file.
pub(crate) fn replace_file(path: &Path, contents: &[u8], mode: u32) -> Result<(), CryptoError> {
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(".tmp");
    let temporary = Path::new(&temporary_name);
    // A leftover from an interrupted run is ours to discard.
    match fs::remove_file(temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(CryptoError::io("remove", temporary)(error));
        }
        _ => {}
    }
    write_new_file(temporary, contents, mode)?;
    fs::rename(temporary, path).map_err(CryptoError::io("rename into place", path))?;
    sync_parent(path)
}

/// Creates `path` with `contents` unless it already exists (then fails with `AlreadyExists`), without readers
/// ever seeing it partly written: the content goes to a temporary file named with `unique` first, which is then
/// hard-linked into place, an exclusive and atomic step.
pub(crate) fn publish_new_file(path: &Path, contents: &[u8], mode: u32, unique: &str) -> Result<(), CryptoError> {
    let mut temporary_name = path.as_os_str().to_owned();
    temporary_name.push(format!(".tmp-{unique}"));
    let temporary = Path::new(&temporary_name);
    write_new_file(temporary, contents, mode)?;
    let linked = fs::hard_link(temporary, path).map_err(CryptoError::io("create", path));
    remove_if_present(temporary)?;
    linked?;
    sync_parent(path)
}

/// Makes a rename or creation in the directory durable.
pub(crate) fn sync_parent(path: &Path) -> Result<(), CryptoError> {
    #[cfg(unix)]
    if let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(CryptoError::io("sync the directory", parent))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

pub(crate) fn remove_if_present(path: &Path) -> Result<(), CryptoError> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(CryptoError::io("remove", path)(error)),
        _ => Ok(()),
    }
}

/// Reads a small text file into a buffer that is wiped when dropped.
pub(crate) fn read_small_text(path: &Path) -> Result<Zeroizing<String>, CryptoError> {
    let file = File::open(path).map_err(CryptoError::io("open", path))?;
    // Reserved up front so the reads below never reallocate and leave copies of the key behind.
    let mut text = Zeroizing::new(String::with_capacity(MAX_KEY_FILE_LEN as usize + 1));
    file.take(MAX_KEY_FILE_LEN + 1).read_to_string(&mut text).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidData {
            CryptoError::invalid_key_file(path, "not UTF-8 text")
        } else {
            CryptoError::io("read", path)(error)
        }
    })?;
    if text.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(CryptoError::invalid_key_file(path, "file is too large"));
    }
    Ok(text)
}

pub(crate) fn encode_private_key(key: &HpkePrivateKey) -> Zeroizing<String> {
    let mut bytes = key.to_bytes();
    let mut text = Zeroizing::new(String::with_capacity(PRIVATE_PREFIX.len() + 2 * X25519_KEY_LEN));
    text.push_str(PRIVATE_PREFIX);
    URL_SAFE_NO_PAD.encode_string(bytes.as_slice(), &mut text);
    text.push('\n');
    bytes.as_mut_slice().zeroize();
    text
}

pub(crate) fn encode_public_key(key: &HpkePublicKey) -> String {
    format!("{PUBLIC_PREFIX}{}\n", URL_SAFE_NO_PAD.encode(key.to_bytes().as_slice()))
}

pub(crate) fn decode_private_key(text: &str, path: &Path) -> Result<HpkePrivateKey, CryptoError> {
    let Some(encoded) = text.trim_end().strip_prefix(PRIVATE_PREFIX) else {
        return Err(CryptoError::invalid_key_file(path, "not a healthmon private key (expected hm1-private:)"));
    };
    let mut bytes = Zeroizing::new([0u8; X25519_KEY_LEN]);
    let decoded_len = URL_SAFE_NO_PAD
        .decode_slice(encoded, bytes.as_mut_slice())
        .map_err(|_| CryptoError::invalid_key_file(path, "private key is not base64url of 32 bytes"))?;
    if decoded_len != X25519_KEY_LEN {
        return Err(CryptoError::invalid_key_file(path, "private key is not base64url of 32 bytes"));
    }
    HpkePrivateKey::from_bytes(bytes.as_slice())
        .map_err(|_| CryptoError::invalid_key_file(path, "not a valid X25519 private key"))
}

pub(crate) fn decode_public_key(text: &str, path: &Path) -> Result<HpkePublicKey, CryptoError> {
    let Some(encoded) = text.trim_end().strip_prefix(PUBLIC_PREFIX) else {
        return Err(CryptoError::invalid_key_file(path, "not a healthmon public key (expected hm1-public:)"));
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| CryptoError::invalid_key_file(path, "public key is not base64url"))?;
    HpkePublicKey::from_bytes(&bytes)
        .map_err(|_| CryptoError::invalid_key_file(path, "public key is not 32 bytes of X25519"))
}
