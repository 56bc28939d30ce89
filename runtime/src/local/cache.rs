//! The local cache: a task whose component (spec and container) and resolved inputs match an
//! earlier successful task reuses that task's outputs, as KFP's cache does. The index is one
//! JSON file per key under `<pipeline root>/.kfp-cache/`; outputs stay in the run folder of
//! the task that produced them.

use super::driver::Bindings;
use crate::executor::fsio::write_atomic;
use kfp_compiler::ir::{ComponentSpec, ContainerSpec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What the index records for a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CacheEntry {
    /// The run folder of the task that produced the outputs (must still exist to be reused).
    pub task_dir: PathBuf,
    pub run_id: String,
    pub outputs: Bindings,
}

pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(pipeline_root: &Path) -> Self {
        Self {
            dir: pipeline_root.join(".kfp-cache"),
        }
    }

    /// A stable key: SHA-256 over the component, its container and the resolved inputs
    /// (artifacts by URI and metadata, as KFP keys them).
    pub fn key(component: &ComponentSpec, container: &ContainerSpec, inputs: &Bindings) -> String {
        let material =
            serde_json::json!({"component": component, "container": container, "inputs": inputs});
        let digest = Sha256::digest(material.to_string().as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The entry for `key` if its outputs are still there.
    pub fn lookup(&self, key: &str) -> Option<CacheEntry> {
        let text = std::fs::read_to_string(self.dir.join(format!("{key}.json"))).ok()?;
        let entry: CacheEntry = serde_json::from_str(&text).ok()?;
        entry.task_dir.is_dir().then_some(entry)
    }

    pub fn store(&self, key: &str, entry: &CacheEntry) -> std::io::Result<()> {
        let json = serde_json::to_vec_pretty(entry).expect("cache entries serialise");
        write_atomic(&self.dir.join(format!("{key}.json")), &json)
    }
}
