//! The shape of the product brief: load -> train (GPU, tuned resources) -> evaluate.
//! The flagship example with real training lives in `flagship`.

use kfp::prelude::*;

/// Loads raw records into a dataset.
#[component(image = "ghcr.io/acme/trainer:0.1")]
pub fn load_data(source_uri: String, dataset: Output<Dataset>) -> Result<()> {
    std::fs::write(dataset.path(), format!("source,{source_uri}\n"))?;
    dataset.set_metadata("rows", 1);
    Ok(())
}

/// Trains a model; returns the final loss.
#[component(
    image = "ghcr.io/acme/trainer:0.1",
    cpu_limit = "8",
    memory_limit = "32Gi",
    accelerator = "nvidia.com/gpu",
    accelerator_limit = 1
)]
pub fn train(
    data: Input<Dataset>,
    #[default(1e-3)] lr: f64,
    epochs: i64,
    model: Output<Model>,
    metrics: Output<Metrics>,
) -> Result<f64> {
    let rows = std::fs::read_to_string(data.path())?.lines().count();
    let loss = 1.0 / (1.0 + lr * epochs as f64 * rows as f64);
    std::fs::write(model.path(), format!("weights after {epochs} epochs"))?;
    metrics.log_metric("loss", loss);
    Ok(loss)
}

/// Evaluation results.
#[derive(ComponentOutputs)]
pub struct Evaluation {
    pub accuracy: f64,
    pub passed: bool,
}

/// Evaluates a model against a threshold.
#[component(image = "ghcr.io/acme/trainer:0.1")]
pub fn evaluate(model: Input<Model>, #[default(0.5)] threshold: f64) -> Result<Evaluation> {
    let accuracy = if std::fs::metadata(model.path())?.len() > 0 { 0.9 } else { 0.0 };
    Ok(Evaluation { accuracy, passed: accuracy >= threshold })
}

/// Load, train on a GPU with retries, evaluate.
#[pipeline(name = "training-pipeline", description = "Load data, train on a GPU, evaluate")]
pub fn training(dataset_uri: String, #[default(1e-3)] lr: f64) {
    let data = load_data(dataset_uri);
    let trained = train(data.outputs.dataset, lr, 10).set_accelerator_limit(2).set_retry(3);
    evaluate(trained.outputs.model).after(&trained);
}
