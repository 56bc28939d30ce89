//! Atomic file writes: every file is written to a temporary sibling and renamed into place, so
//! a reader (the launcher, the local runner, a user) never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `bytes` to `path` atomically, creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let staged = stage(path, bytes)?;
    std::fs::rename(&staged, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&staged);
    })
}

/// Several files that appear together or not at all (as far as a crash-free process can
/// promise): all are staged first, and only when every write succeeded are they renamed.
#[derive(Default)]
pub struct StagedFiles {
    staged: Vec<(PathBuf, PathBuf)>,
}

impl StagedFiles {
    /// Writes `bytes` to a temporary sibling of `path`; on error nothing stays behind.
    pub fn add(&mut self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let tmp = stage(path, bytes)?;
        self.staged.push((tmp, path.to_owned()));
        Ok(())
    }

    /// Renames every staged file into place. On a failed rename, the files not yet renamed are
    /// removed and the error names the target.
    pub fn commit(mut self) -> Result<(), (PathBuf, std::io::Error)> {
        let staged = std::mem::take(&mut self.staged);
        let mut iter = staged.into_iter();
        while let Some((tmp, target)) = iter.next() {
            if let Err(err) = std::fs::rename(&tmp, &target) {
                let _ = std::fs::remove_file(&tmp);
                for (rest, _) in iter {
                    let _ = std::fs::remove_file(rest);
                }
                return Err((target, err));
            }
        }
        Ok(())
    }
}

impl Drop for StagedFiles {
    /// Dropping without `commit` discards the staged files.
    fn drop(&mut self) {
        for (tmp, _) in self.staged.drain(..) {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(
        ".{file_name}.tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err);
    }
    Ok(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_batch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut batch = StagedFiles::default();
        batch.add(&dir.path().join("a/b"), b"x").unwrap();
        drop(batch);
        let left: Vec<_> = walk(dir.path());
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn committed_batch_writes_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut batch = StagedFiles::default();
        batch.add(&dir.path().join("a"), b"1").unwrap();
        batch.add(&dir.path().join("b/c"), b"2").unwrap();
        batch.commit().unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read(dir.path().join("b/c")).unwrap(), b"2");
        assert_eq!(walk(dir.path()).len(), 2);
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path))
            } else {
                files.push(path)
            }
        }
        files
    }
}
