//! The one bounded, type-checked reader for every file the library opens: config files,
//! `.env`, CA bundles, credential and Vault Agent files.
//!
//! - The type is checked before the file is opened: opening a FIFO for reading blocks until
//!   a writer comes, and a device (`/dev/zero`) never ends. Only regular files are read, and
//!   the opened handle is checked again (the path may be replaced in between).
//! - At most `limit + 1` bytes are ever read.
//! - Every buffer that held the text is zeroized: it may be a secret.

use std::fmt;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// Why a file could not be read; the message never names the path (the caller does) and
/// never quotes the content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// A FIFO, socket, directory or device: refused before it is opened.
    NotRegular,
    /// Larger than the limit (in bytes).
    TooLarge(u64),
    /// A link that leads out of the directory it was read from.
    OutsideDir,
    /// The system's reason (permission denied, ...).
    Io(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular => f.write_str("is not a regular file; refusing to read it"),
            ReadError::TooLarge(limit) => write!(f, "is larger than {limit} bytes"),
            ReadError::OutsideDir => {
                f.write_str("is a link to outside its directory; refusing to follow it")
            }
            ReadError::Io(why) => write!(f, "cannot be read: {why}"),
        }
    }
}

/// The bytes of the regular file at `path`, at most `limit` of them; `None` when nothing is
/// there.
///
/// ```
/// use vault_config_core::__private::read::{ReadError, read_regular};
/// let dir = std::env::temp_dir();
/// assert_eq!(read_regular(&dir, 10).unwrap_err(), ReadError::NotRegular);
/// assert_eq!(read_regular(&dir.join("no-such-file-here"), 10).unwrap(), None);
/// ```
pub fn read_regular(path: &Path, limit: u64) -> Result<Option<Zeroizing<Vec<u8>>>, ReadError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Io(e.to_string())),
    };
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(limit));
    }
    let file = std::fs::File::open(path).map_err(|e| ReadError::Io(e.to_string()))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(ReadError::NotRegular);
    }
    // Grown by hand: `read_to_end` would free outgrown blocks with the text still in them.
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    let mut chunk = Zeroizing::new([0u8; 4096]);
    let mut file = file.take(limit.saturating_add(1));
    loop {
        match file.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => append_zeroizing(&mut bytes, &chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(ReadError::Io(e.to_string())),
        }
    }
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit));
    }
    Ok(Some(bytes))
}

/// [`read_regular`] for an entry of a directory of mounted or injected files (a secrets dir,
/// Vault Agent's): links are followed only while they end inside `root` (resolved), so that
/// Kubernetes' `name -> ..data/name` works and a link to `/etc/shadow` does not.
///
/// ```
/// use vault_config_core::__private::read::{ReadError, read_in_dir};
/// let root = std::env::temp_dir().join(format!("vc-read-in-dir-{}", std::process::id()));
/// std::fs::create_dir_all(&root).unwrap();
/// let root = root.canonicalize().unwrap();
/// std::fs::write(root.join("inside"), "x").unwrap();
/// assert_eq!(read_in_dir(&root, &root.join("inside"), 10).unwrap().unwrap().as_slice(), b"x");
/// assert_eq!(read_in_dir(&root, &root.join("gone"), 10).unwrap(), None);
/// # #[cfg(unix)] {
/// std::os::unix::fs::symlink("/etc/hostname", root.join("out")).unwrap();
/// assert!(matches!(read_in_dir(&root, &root.join("out"), 10), Err(ReadError::OutsideDir) | Ok(None)));
/// # }
/// std::fs::remove_dir_all(root).unwrap();
/// ```
pub fn read_in_dir(
    root: &Path,
    path: &Path,
    limit: u64,
) -> Result<Option<Zeroizing<Vec<u8>>>, ReadError> {
    let real = match std::fs::canonicalize(path) {
        Ok(real) => real,
        // Removed since it was listed, or a dangling link: nothing there.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ReadError::Io(e.to_string())),
    };
    if !real.starts_with(root) {
        return Err(ReadError::OutsideDir);
    }
    read_regular(&real, limit)
}

/// Appends `chunk`, growing into a new zeroizing buffer (the outgrown one is wiped when it
/// drops) instead of letting `Vec` free a block that still holds the bytes.
pub fn append_zeroizing(body: &mut Zeroizing<Vec<u8>>, chunk: &[u8]) {
    let needed = body.len() + chunk.len();
    if needed > body.capacity() {
        let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(body.capacity() * 2)));
        grown.extend_from_slice(body);
        *body = grown;
    }
    body.extend_from_slice(chunk);
}
