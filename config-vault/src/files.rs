//! Reading the small files that hold credentials or injected values (JWTs, secret ids,
//! passwords, `~/.vault-token`, Vault Agent files): the one bounded, type-checked read.

use std::path::Path;

use vault_config_core::__private::read;
use zeroize::Zeroizing;

/// The largest credential file read (a Kubernetes JWT is a few KiB).
pub(crate) const MAX_CREDENTIAL_BYTES: u64 = 64 * 1024;

/// The bytes of a regular file of at most `limit` bytes, through the library's one reader
/// ([`read::read_regular`]): a FIFO, socket or device is refused before it is opened, no more
/// than `limit + 1` bytes are read, buffers are zeroized. A missing file is an error here.
pub(crate) fn read_regular_bytes(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, String> {
    let shown = path.display();
    match read::read_regular(path, limit) {
        Ok(Some(bytes)) => Ok(bytes),
        Ok(None) => Err(format!("cannot read {shown}: no such file")),
        Err(read::ReadError::Io(why)) => Err(format!("cannot read {shown}: {why}")),
        Err(e) => Err(format!("{shown} {e}")),
    }
}

/// [`read_regular_bytes`] as UTF-8 text.
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Zeroizing<String>, String> {
    let bytes = read_regular_bytes(path, limit)?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(format!("{} is not UTF-8", path.display())),
    }
}

/// A credential file's contents, trimmed: a regular file of at most 64 KiB (a FIFO or a
/// device is refused, not read); the raw text is zeroized.
pub(crate) fn read_secret_file(
    path: &std::path::Path,
    method: &'static str,
) -> Result<secrecy::SecretString, crate::Error> {
    let raw = read_regular(path, MAX_CREDENTIAL_BYTES)
        .map_err(|message| crate::Error::Login { method, message })?;
    Ok(secrecy::SecretString::from(raw.trim().to_owned()))
}

/// Whether a file can be read by its group or by others (Unix modes), for warnings about
/// credential files left open.
#[cfg(unix)]
pub(crate) fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
pub(crate) fn readable_by_others(_: &Path) -> bool {
    false
}
