//! Reading the small files that hold credentials or injected values (JWTs, secret ids,
//! passwords, `~/.vault-token`, Vault Agent files): the one bounded, type-checked read.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// The largest credential file read (a Kubernetes JWT is a few KiB).
pub(crate) const MAX_CREDENTIAL_BYTES: u64 = 64 * 1024;

/// The text of a regular file of at most `limit` bytes. A FIFO, socket or device is refused
/// before it is opened (reading a FIFO would block the load), the opened handle is checked
/// again, and no more than `limit + 1` bytes are ever read. Buffers are zeroized.
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Zeroizing<String>, String> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!(
            "{shown} is not a regular file; refusing to read it"
        ));
    }
    let file = std::fs::File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    // Replaced between the check and the open: check what was opened.
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(format!(
            "{shown} is not a regular file; refusing to read it"
        ));
    }
    // Grown by hand (`read_to_end` would free outgrown blocks with the text in them).
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len().min(limit) as usize + 1));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    let mut file = file.take(limit.saturating_add(1));
    loop {
        match file.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => crate::transport::append_zeroizing(&mut bytes, &chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read {shown}: {e}")),
        }
    }
    if bytes.len() as u64 > limit {
        return Err(format!("{shown} is larger than {limit} bytes"));
    }
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(format!("{shown} is not UTF-8")),
    }
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
