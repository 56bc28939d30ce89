//! Checkpoints: one safetensors file holding the model (`model.<name>`), the optimizer state
//! (`optim.<name>`) and the training state as JSON in a `u8` tensor named `__state__`, so any
//! safetensors reader can open it. Written to a temporary file in the same directory and renamed:
//! a reader never sees a half-written checkpoint.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::callbacks::CallbackState;
use super::metrics::EpochMetrics;

const STATE_KEY: &str = "__state__";

/// Everything besides tensors that resuming needs. RNG state is not stored: the trainer reseeds
/// torch's generator from `(seed, epoch, rank)` at every epoch start and the sampler shuffles
/// from `seed + epoch`, so `seed` and `epochs_done` determine both.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub format: u32,
    pub epochs_done: usize,
    pub global_step: usize,
    pub optimizer_steps: i64,
    pub seed: u64,
    pub world_size: usize,
    pub loss_scale: Option<f64>,
    pub callbacks: CallbackState,
    pub history: Vec<EpochMetrics>,
}

pub const FORMAT: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write checkpoint {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot read checkpoint {path}: {message}")]
    Read { path: PathBuf, message: String },
}

pub struct Checkpoint {
    pub state: TrainState,
    pub model: HashMap<String, Tensor>,
    pub optimizer: HashMap<String, Tensor>,
}

/// Writes atomically: `<dir>/.<name>.tmp-<pid>` then rename onto `path`.
pub fn save(
    path: &Path,
    state: &TrainState,
    model: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
) -> Result<(), CheckpointError> {
    let fail = |message: String| CheckpointError::Write { path: path.to_owned(), message };
    let json = serde_json::to_vec(state).map_err(|e| fail(e.to_string()))?;
    let mut named: Vec<(String, Tensor)> = Vec::with_capacity(model.len() + optimizer.len() + 1);
    named.extend(model.iter().map(|(n, t)| (format!("model.{n}"), t.to_device(tch::Device::Cpu))));
    named.extend(optimizer.iter().map(|(n, t)| (format!("optim.{n}"), t.to_device(tch::Device::Cpu))));
    named.push((STATE_KEY.to_owned(), Tensor::from_slice(&json)));
    write_atomically(path, |tmp| Tensor::write_safetensors(&named, tmp).map_err(|e| e.to_string()))
        .map_err(fail)
}

/// Runs `write` on a temporary sibling of `path`, then renames it onto `path`.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<(), String>) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let name = path.file_name().ok_or("path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
    let fail = |message: String| CheckpointError::Read { path: path.to_owned(), message };
    let tensors = Tensor::read_safetensors(path).map_err(|e| fail(e.to_string()))?;
    let mut state = None;
    let mut model = HashMap::new();
    let mut optimizer = HashMap::new();
    for (name, tensor) in tensors {
        if name == STATE_KEY {
            if tensor.kind() != Kind::Uint8 {
                return Err(fail(format!("{STATE_KEY} has kind {:?}, expected Uint8", tensor.kind())));
            }
            let bytes = Vec::<u8>::try_from(&tensor).map_err(|e| fail(e.to_string()))?;
            let parsed: TrainState =
                serde_json::from_slice(&bytes).map_err(|e| fail(format!("{STATE_KEY}: {e}")))?;
            state = Some(parsed);
        } else if let Some(rest) = name.strip_prefix("model.") {
            model.insert(rest.to_owned(), tensor);
        } else if let Some(rest) = name.strip_prefix("optim.") {
            optimizer.insert(rest.to_owned(), tensor);
        } else {
            return Err(fail(format!("unexpected tensor {name:?} (expected model.*, optim.* or {STATE_KEY})")));
        }
    }
    let state = state.ok_or_else(|| fail(format!("no {STATE_KEY} entry: not a kfp-rs trainer checkpoint")))?;
    if state.format != FORMAT {
        return Err(fail(format!("format {} is not the supported {FORMAT}", state.format)));
    }
    Ok(Checkpoint { state, model, optimizer })
}
