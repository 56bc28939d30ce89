//! `Input<A>` and `Output<A>`: what a component function receives for its artifacts.

use kfp_compiler::dsl::ArtifactType;
use serde_json::{Map, Value};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// An input artifact: its local file (or directory), URI and metadata.
#[derive(Debug, Clone)]
pub struct Input<A: ArtifactType> {
    name: String,
    uri: String,
    path: PathBuf,
    metadata: Map<String, Value>,
    kind: PhantomData<A>,
}

impl<A: ArtifactType> Input<A> {
    pub(crate) fn new(
        name: String,
        uri: String,
        path: PathBuf,
        metadata: Map<String, Value>,
    ) -> Self {
        Self {
            name,
            uri,
            path,
            metadata,
            kind: PhantomData,
        }
    }

    /// An input backed by a local file or directory, for calling a component function directly
    /// in a unit test. Its URI is the path and its metadata is empty.
    pub fn at_path(path: impl Into<PathBuf>) -> Self {
        Self::at_path_with_metadata(path, Map::new())
    }

    /// Like [`Input::at_path`], with metadata as an upstream component would have written it.
    pub fn at_path_with_metadata(path: impl Into<PathBuf>, metadata: Map<String, Value>) -> Self {
        let path = path.into();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Self::new(name, path.to_string_lossy().into_owned(), path, metadata)
    }

    /// The local file or directory holding the artifact's content.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The remote URI (`minio://...`, `gs://...`), or the local path when run locally.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The artifact's name in the executor input (an MLMD id on a KFP cluster).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }
}

/// An output artifact. Cloning shares the state: the executor context keeps a clone and reads
/// the metadata back after the function returns.
#[derive(Debug)]
pub struct Output<A: ArtifactType> {
    state: Arc<OutputState>,
    kind: PhantomData<A>,
}

impl<A: ArtifactType> Clone for Output<A> {
    fn clone(&self) -> Self {
        Self {
            state: Arc::clone(&self.state),
            kind: PhantomData,
        }
    }
}

#[derive(Debug)]
pub(crate) struct OutputState {
    pub(crate) name: String,
    pub(crate) uri: String,
    pub(crate) path: PathBuf,
    pub(crate) metadata: Mutex<Map<String, Value>>,
}

impl OutputState {
    pub(crate) fn metadata(&self) -> MutexGuard<'_, Map<String, Value>> {
        // A panic while the lock was held cannot leave the map half-updated (single inserts).
        self.metadata
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<A: ArtifactType> Output<A> {
    pub(crate) fn from_state(state: Arc<OutputState>) -> Self {
        Self {
            state,
            kind: PhantomData,
        }
    }

    /// An output written to a local path, for calling a component function directly in a unit
    /// test; creates the parent directories. Read what it recorded with [`Output::metadata`].
    pub fn at_path(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let uri = path.to_string_lossy().into_owned();
        Ok(Self::from_state(Arc::new(OutputState {
            name,
            uri,
            path,
            metadata: Mutex::new(Map::new()),
        })))
    }

    /// Where to write the artifact (a file, or a directory the function creates); its parent
    /// directory exists.
    pub fn path(&self) -> &Path {
        &self.state.path
    }

    pub fn uri(&self) -> &str {
        &self.state.uri
    }

    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// Records a metadata entry; it reaches MLMD and the KFP UI through the executor output.
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Into<Value>) {
        self.state.metadata().insert(key.into(), value.into());
    }

    /// A snapshot of the metadata recorded so far.
    pub fn metadata(&self) -> Map<String, Value> {
        self.state.metadata().clone()
    }

    pub(crate) fn update_metadata(&self, update: impl FnOnce(&mut Map<String, Value>)) {
        update(&mut self.state.metadata());
    }
}
