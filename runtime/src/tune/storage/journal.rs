//! An append-only journal file: one JSON [`Op`] per line, written under an exclusive `flock` and
//! fsynced before the lock is released, so several processes on one machine can share studies.
//! Each process keeps a registry replayed from the file and reads only the lines added since.
//!
//! A last line that is incomplete or unreadable is what a writer killed mid-write leaves: it is
//! ignored with a warning and cut off by the next writer. An unreadable line followed by good
//! ones is real corruption and an error naming the line.

use super::{Op, Registry, Snapshot, Storage, Transaction};
use crate::tune::error::TuneError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A study storage in a journal file.
#[derive(Debug)]
pub struct JournalStorage {
    path: PathBuf,
    inner: Mutex<Journal>,
}

#[derive(Debug)]
struct Journal {
    file: File,
    registry: Registry,
    /// End of the last line applied.
    offset: u64,
    lines_applied: usize,
    /// Offset of an ignored last line already warned about.
    warned_tail: Option<u64>,
}

/// Holds the file lock; released on drop, also on early returns.
struct FileLock<'a>(&'a File);

impl Drop for FileLock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl JournalStorage {
    /// Opens (or creates) the journal and replays it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, TuneError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| TuneError::JournalIo { path: path.clone(), source };
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        let storage = JournalStorage { path, inner: Mutex::new(Journal { file, registry: Registry::default(), offset: 0, lines_applied: 0, warned_tail: None }) };
        storage.study_names()?;
        Ok(storage)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> TuneError {
        TuneError::JournalIo { path: self.path.clone(), source }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Journal> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies the lines appended since the last sync. Returns whether an ignored tail follows.
    fn sync(&self, journal: &mut Journal) -> Result<bool, TuneError> {
        let len = journal.file.metadata().map_err(|e| self.io(e))?.len();
        if len == journal.offset {
            return Ok(false);
        }
        let mut bytes = Vec::with_capacity((len - journal.offset) as usize);
        journal.file.seek(SeekFrom::Start(journal.offset)).map_err(|e| self.io(e))?;
        (&journal.file).take(len - journal.offset).read_to_end(&mut bytes).map_err(|e| self.io(e))?;
        let mut start = 0;
        while start < bytes.len() {
            let line_no = journal.lines_applied + 1;
            let Some(end) = bytes[start..].iter().position(|b| *b == b'\n').map(|p| start + p) else {
                self.warn_tail(journal, bytes.len() - start, "incomplete last line");
                return Ok(true);
            };
            let line = &bytes[start..end];
            let op = match std::str::from_utf8(line).map_err(|e| e.to_string()).and_then(|s| serde_json::from_str::<Op>(s).map_err(|e| e.to_string())) {
                Ok(op) => op,
                Err(_) if end + 1 == bytes.len() => {
                    self.warn_tail(journal, line.len() + 1, "unreadable last line");
                    return Ok(true);
                }
                Err(reason) => {
                    return Err(TuneError::MalformedJournal { path: self.path.clone(), line: line_no, reason: format!("not a journal operation ({reason}), and valid lines follow it") });
                }
            };
            journal.registry.apply(&op).map_err(|e| TuneError::MalformedJournal { path: self.path.clone(), line: line_no, reason: e.to_string() })?;
            journal.lines_applied += 1;
            journal.offset += (end + 1 - start) as u64;
            start = end + 1;
        }
        Ok(false)
    }

    fn warn_tail(&self, journal: &mut Journal, bytes: usize, what: &str) {
        if journal.warned_tail != Some(journal.offset) {
            journal.warned_tail = Some(journal.offset);
            eprintln!(
                "warning: journal {}: ignoring an {what} after line {} ({bytes} bytes at byte {}), left by a writer that was killed mid-write",
                self.path.display(),
                journal.lines_applied,
                journal.offset
            );
        }
    }
}

impl Storage for JournalStorage {
    fn describe(&self) -> String {
        format!("journal {}", self.path.display())
    }

    fn transact(&self, body: &mut Transaction<'_>) -> Result<(), TuneError> {
        let mut guard = self.lock();
        let journal = &mut *guard;
        journal.file.lock().map_err(|e| self.io(e))?;
        let file = journal.file.try_clone().map_err(|e| self.io(e))?;
        let _held = FileLock(&file);
        let torn_tail = self.sync(journal)?;
        let ops = body(&journal.registry)?;
        let mut text = String::new();
        let mut failure = None;
        let mut written = 0;
        for op in &ops {
            if let Err(e) = journal.registry.apply(op) {
                failure = Some(e);
                break;
            }
            text.push_str(&serde_json::to_string(op).expect("ops serialise"));
            text.push('\n');
            written += 1;
        }
        if written > 0 {
            if torn_tail {
                journal.file.set_len(journal.offset).map_err(|e| self.io(e))?;
            }
            journal.file.seek(SeekFrom::Start(journal.offset)).map_err(|e| self.io(e))?;
            journal.file.write_all(text.as_bytes()).map_err(|e| self.io(e))?;
            journal.file.sync_data().map_err(|e| self.io(e))?;
            journal.offset += text.len() as u64;
            journal.lines_applied += written;
        }
        failure.map_or(Ok(()), Err)
    }

    fn snapshot(&self, study: &str) -> Result<Option<Snapshot>, TuneError> {
        let mut guard = self.lock();
        let journal = &mut *guard;
        journal.file.lock_shared().map_err(|e| self.io(e))?;
        let file = journal.file.try_clone().map_err(|e| self.io(e))?;
        let _held = FileLock(&file);
        self.sync(journal)?;
        Ok(journal.registry.study(study).map(|s| Snapshot { direction: s.direction, trials: s.trials.clone() }))
    }

    fn study_names(&self) -> Result<Vec<String>, TuneError> {
        let mut guard = self.lock();
        let journal = &mut *guard;
        journal.file.lock_shared().map_err(|e| self.io(e))?;
        let file = journal.file.try_clone().map_err(|e| self.io(e))?;
        let _held = FileLock(&file);
        self.sync(journal)?;
        let mut names: Vec<String> = journal.registry.studies.keys().cloned().collect();
        names.sort();
        Ok(names)
    }
}
