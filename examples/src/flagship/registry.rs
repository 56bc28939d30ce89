//! Register: a local model registry folder, one numbered version per registration, each with
//! the model files, its metrics and its lineage (run, data, parameters).

use anyhow::Context;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Copies `model` (a file or a folder) into `<registry>/<name>/v<N>/` with `card.json`, and
/// returns that folder. The version folder appears whole or not at all (staged, then renamed).
pub fn register(registry: &Path, name: &str, model: &Path, card: &Value) -> anyhow::Result<PathBuf> {
    let home = registry.join(name);
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    let next = std::fs::read_dir(&home)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_prefix('v')?.parse::<u32>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let staging = home.join(format!(".staging-v{next}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    copy_tree(model, &staging.join("model"))?;
    let mut card = card.clone();
    card["version"] = json!(next);
    std::fs::write(staging.join("card.json"), serde_json::to_string_pretty(&card)?)?;
    let version = home.join(format!("v{next}"));
    std::fs::rename(&staging, &version).with_context(|| format!("publishing {}", version.display()))?;
    std::fs::write(home.join("latest"), format!("v{next}\n"))?;
    Ok(version)
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::create_dir_all(to.parent().context("no parent folder")?)?;
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_and_keep_their_card() {
        let dir = std::env::temp_dir().join(format!("kfp-registry-test-{}", std::process::id()));
        let model = dir.join("weights.bin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&model, b"w").unwrap();
        let v1 = register(&dir.join("reg"), "wine", &model, &json!({"accuracy": 0.8})).unwrap();
        let v2 = register(&dir.join("reg"), "wine", &model, &json!({"accuracy": 0.9})).unwrap();
        assert!(v1.ends_with("wine/v1") && v2.ends_with("wine/v2"));
        let card: Value = serde_json::from_str(&std::fs::read_to_string(v2.join("card.json")).unwrap()).unwrap();
        assert_eq!((card["version"].as_u64(), card["accuracy"].as_f64()), (Some(2), Some(0.9)));
        assert_eq!(std::fs::read_to_string(dir.join("reg/wine/latest")).unwrap(), "v2\n");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
