//! Register: the model into a versioned local registry folder with its lineage.

use super::registry;
use kfp::prelude::*;

/// Copies the model into `<registry>/<name>/v<N>` with a card holding its metrics, parameters
/// and lineage (run, data source); returns the version folder.
#[component]
pub fn register_model(
    model: Input<Model>,
    accuracy: f64,
    #[default("model-registry")] registry: String,
    #[default("wine-quality")] name: String,
    #[default("")] source_uri: String,
    #[default("")] run: String,
) -> Result<String> {
    let card = serde_json::json!({
        "name": name,
        "metrics": {"test_accuracy": accuracy},
        "model_card": model.metadata().get("model_card"),
        "lineage": {
            "model_uri": model.uri(),
            "data_source": source_uri,
            "pipeline_run": run,
            "registered_unix": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
        },
    });
    let version = registry::register(std::path::Path::new(&registry), &name, model.path(), &card)?;
    let version = std::fs::canonicalize(&version).unwrap_or(version);
    println!("registered {}", version.display());
    Ok(version.display().to_string())
}
