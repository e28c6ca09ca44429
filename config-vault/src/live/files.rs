//! Watching the config files and the `.env` file of live settings: a change of content wakes
//! a refresh, within [`FILE_SETTLE`]; reading a file (as every refresh does) does not. Without
//! the `watch-files` feature nothing is watched: files are re-read on the refresh interval.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use tokio::sync::Notify;

/// How long a refresh waits after a watched file changed, for the writer to finish; the
/// events within it are one change.
pub(super) const FILE_SETTLE: Duration = Duration::from_millis(100);

/// The watch on a set of files; nothing is watched when there is nothing to watch or the
/// platform refuses (then files are re-read on the refresh interval only).
pub(super) struct FileWatch {
    _watcher: Option<os::Watcher>,
    changed: Arc<Notify>,
}

impl FileWatch {
    /// Watches the directories of `files` (so that a file replaced by rename, as editors and
    /// Kubernetes do, is seen too), and every entry of the secrets `dirs`.
    pub(super) fn start(files: Vec<PathBuf>, dirs: Vec<PathBuf>) -> Self {
        let changed = Arc::new(Notify::new());
        FileWatch {
            _watcher: os::watch(files, dirs, Arc::clone(&changed)),
            changed,
        }
    }

    /// Resolves at the next content change of a watched file (never, when none is watched).
    pub(super) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// After [`changed`](Self::changed): waits for the writer to finish, and counts the
    /// events meanwhile as the same change.
    pub(super) async fn settle(&self) {
        tokio::time::sleep(FILE_SETTLE).await;
        // `notify_one` keeps at most one wake-up for later: take it.
        let _ = self.changed.notified().now_or_never();
    }
}

/// The file watch of the `watch-files` feature (notify).
#[cfg(feature = "watch-files")]
mod os {
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    use notify::EventKind;
    use notify::event::ModifyKind;
    use tokio::sync::Notify;

    pub(super) type Watcher = notify::RecommendedWatcher;

    /// The entry Kubernetes swaps (a symlink renamed over it) to update a mounted ConfigMap or
    /// Secret at once; the files are symlinks through it, so their own names see no event.
    const KUBERNETES_DATA: &str = "..data";

    /// Whether an event says that a file's content may have changed: created, written, renamed or
    /// removed. Opening, reading, closing and metadata (a `touch`, a `chmod`) are not.
    fn is_content_change(kind: &EventKind) -> bool {
        match kind {
            EventKind::Create(_) | EventKind::Remove(_) => true,
            EventKind::Modify(ModifyKind::Metadata(_)) => false,
            EventKind::Modify(_) => true,
            EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
        }
    }

    /// Whether `path` (from an event) is one of the `watched` files, the Kubernetes data link
    /// in one of their directories, or an entry of a secrets dir (not a hidden one other than
    /// the data link: Kubernetes' timestamped directories come and go around each swap).
    fn concerns(path: &Path, watched: &[PathBuf], dirs: &[PathBuf]) -> bool {
        let data_link = path.file_name().is_some_and(|n| n == KUBERNETES_DATA);
        let visible = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !n.starts_with('.'));
        watched
            .iter()
            .any(|w| w == path || (data_link && path.parent() == w.parent()))
            || ((visible || data_link) && dirs.iter().any(|d| path.parent() == Some(d)))
    }

    pub(super) fn watch(
        files: Vec<PathBuf>,
        dirs: Vec<PathBuf>,
        changed: Arc<Notify>,
    ) -> Option<Watcher> {
        use notify::Watcher;
        if files.is_empty() && dirs.is_empty() {
            return None;
        }
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
        let watched: Vec<PathBuf> = files.iter().map(|f| absolute(f)).collect();
        let secrets: Vec<PathBuf> = dirs.iter().map(|d| absolute(d)).collect();
        let (names, entries) = (watched.clone(), secrets.clone());
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event {
                    if is_content_change(&event.kind)
                        && event.paths.iter().any(|p| concerns(p, &names, &entries))
                    {
                        changed.notify_one();
                    }
                }
            })
            .map_err(|e| tracing::warn!(error = %e, "vault-config: config files are not watched"))
            .ok()?;
        let mut dirs: Vec<&Path> = watched.iter().filter_map(|f| f.parent()).collect();
        dirs.extend(secrets.iter().map(PathBuf::as_path));
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            if let Err(e) = watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
                tracing::debug!(dir = %dir.display(), error = %e, "vault-config: cannot watch a config file directory");
            }
        }
        Some(watcher)
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, MetadataKind, RenameMode,
        };

        #[test]
        fn only_content_changes_count() {
            assert!(!is_content_change(&EventKind::Access(AccessKind::Open(
                AccessMode::Any
            ))));
            assert!(!is_content_change(&EventKind::Access(AccessKind::Close(
                AccessMode::Read
            ))));
            assert!(!is_content_change(&EventKind::Access(AccessKind::Close(
                AccessMode::Write
            ))));
            assert!(!is_content_change(&EventKind::Modify(
                ModifyKind::Metadata(MetadataKind::Any)
            )));
            assert!(is_content_change(&EventKind::Modify(ModifyKind::Data(
                DataChange::Any
            ))));
            assert!(is_content_change(&EventKind::Modify(ModifyKind::Name(
                RenameMode::To
            ))));
            assert!(is_content_change(&EventKind::Create(CreateKind::File)));
            assert!(is_content_change(&EventKind::Remove(
                notify::event::RemoveKind::File
            )));
        }

        #[test]
        fn the_file_itself_or_the_kubernetes_data_link_beside_it() {
            let watched = vec![PathBuf::from("/etc/app/config.toml")];
            let none: &[PathBuf] = &[];
            assert!(concerns(Path::new("/etc/app/config.toml"), &watched, none));
            assert!(concerns(Path::new("/etc/app/..data"), &watched, none));
            assert!(!concerns(Path::new("/etc/app/other.toml"), &watched, none));
            assert!(!concerns(Path::new("/etc/other/..data"), &watched, none));
        }

        #[test]
        fn every_visible_entry_of_a_secrets_dir_and_its_data_link() {
            let dirs = vec![PathBuf::from("/run/secrets")];
            assert!(concerns(Path::new("/run/secrets/db_password"), &[], &dirs));
            assert!(concerns(Path::new("/run/secrets/..data"), &[], &dirs));
            assert!(!concerns(
                Path::new("/run/secrets/..2026_12_03"),
                &[],
                &dirs
            ));
            assert!(!concerns(Path::new("/run/secrets/..data_tmp"), &[], &dirs));
            assert!(!concerns(Path::new("/run/other/db_password"), &[], &dirs));
        }
    }
}

/// Without the `watch-files` feature nothing is watched.
#[cfg(not(feature = "watch-files"))]
mod os {
    use std::path::PathBuf;
    use std::sync::Arc;

    use tokio::sync::Notify;

    /// No watcher exists.
    pub(super) enum Watcher {}

    pub(super) fn watch(
        files: Vec<PathBuf>,
        dirs: Vec<PathBuf>,
        _changed: Arc<Notify>,
    ) -> Option<Watcher> {
        if !files.is_empty() || !dirs.is_empty() {
            tracing::debug!(
                files = files.len(),
                secrets_dirs = dirs.len(),
                "vault-config: config files are re-read on the refresh interval only (the watch-files feature is off)"
            );
        }
        None
    }
}
