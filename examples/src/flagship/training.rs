//! Train: the tuned network with DDP over two local processes (one per GPU on Kubeflow),
//! top-3 checkpoints on validation loss, early stopping with patience 5.
//!
//! The component's process is the launcher: `launch` re-executes this binary once per worker
//! (torchrun's env); the workers train, rank 0 writes the model, metrics and loss curves, and
//! both exit without touching the executor outputs; the launcher then reports the result rank 0
//! left in the model folder.

use super::model::{Shape, load_weights, mlp, tensors};
use super::table::Table;
use anyhow::Context;
use kfp::prelude::*;
use kfp::runtime::train::{
    Data, EarlyStopping, LaunchOptions, Launched, ModelCheckpoint, TrainConfig, Trainer, launch,
};

/// What rank 0 leaves for the launcher.
#[derive(serde::Serialize, serde::Deserialize)]
struct Outcome {
    best_val_loss: f64,
    epochs: usize,
    stopped_early: bool,
    curves: Vec<(usize, f64, Option<f64>)>,
}

/// Trains with the tuned parameters; returns the best validation loss. The model folder holds
/// `weights.safetensors` (the best checkpoint's weights) and `shape.json`.
#[component(cpu_limit = "4", memory_limit = "4Gi", accelerator = "nvidia.com/gpu", accelerator_limit = 2)]
#[allow(clippy::too_many_arguments)]
pub fn train_model(
    train: Input<Dataset>,
    validation: Input<Dataset>,
    lr: f64,
    batch_size: i64,
    hidden_size: i64,
    dropout: f64,
    #[default(40)] epochs: i64,
    #[default(2)] processes: i64,
    #[default(0)] seed: i64,
    model: Output<Model>,
    metrics: Output<Metrics>,
    curves: Output<Artifact>,
) -> Result<f64> {
    let model_dir = model.path().to_path_buf();
    let outcome_file = model_dir.join("outcome.json");
    let env = match launch(&LaunchOptions::new(usize::try_from(processes)?))? {
        Launched::Worker(env) => env,
        Launched::Finished(_) => {
            let outcome: Outcome = serde_json::from_str(
                &std::fs::read_to_string(&outcome_file).context("rank 0 left no training outcome")?,
            )?;
            std::fs::remove_file(&outcome_file)?;
            return report(outcome, &model, &metrics, &curves, lr, batch_size, hidden_size, dropout);
        }
    };
    let (train_table, val_table) = (Table::read(train.path())?, Table::read(validation.path())?);
    let shape = Shape {
        inputs: train_table.n_features() as i64,
        hidden: hidden_size,
        dropout,
        classes: train_table.n_classes().max(2) as i64,
    };
    let (x, y) = tensors(&train_table);
    let (vx, vy) = tensors(&val_table);
    let data = Data {
        train: kfp::runtime::train::Dataset::new(x, y).map_err(anyhow::Error::msg)?,
        val: Some(kfp::runtime::train::Dataset::new(vx, vy).map_err(anyhow::Error::msg)?),
    };
    let checkpoints = model_dir.join("checkpoints");
    let config = TrainConfig {
        epochs: usize::try_from(epochs)?,
        batch_size: usize::try_from(batch_size)?,
        lr,
        seed: u64::try_from(seed)?,
        checkpoint: Some(ModelCheckpoint { save_top_k: 3, ..ModelCheckpoint::new(&checkpoints) }),
        early_stopping: Some(EarlyStopping::new("val_loss", 5)),
        ..TrainConfig::default()
    };
    let mut fitted = Trainer::new(config).worker(env).fit(|p| mlp(p, shape), &data)?;
    if fitted.report.rank == 0 {
        let best = fitted.report.best_checkpoint.clone().context("no checkpoint was kept")?;
        load_weights(&mut fitted.vs, &best)?;
        fitted.vs.save(model_dir.join("weights.safetensors"))?;
        std::fs::write(model_dir.join("shape.json"), serde_json::to_string_pretty(&shape)?)?;
        let outcome = Outcome {
            best_val_loss: fitted.report.metrics.iter().filter_map(|m| m.val_loss).fold(f64::INFINITY, f64::min),
            epochs: fitted.report.metrics.len(),
            stopped_early: fitted.report.stopped_early,
            curves: fitted.report.metrics.iter().map(|m| (m.epoch, m.train_loss, m.val_loss)).collect(),
        };
        std::fs::write(&outcome_file, serde_json::to_string(&outcome)?)?;
    }
    // Workers end here; the launcher process writes the component's outputs.
    std::process::exit(0)
}

#[allow(clippy::too_many_arguments)]
fn report(
    outcome: Outcome,
    model: &Output<Model>,
    metrics: &Output<Metrics>,
    curves: &Output<Artifact>,
    lr: f64,
    batch_size: i64,
    hidden_size: i64,
    dropout: f64,
) -> anyhow::Result<f64> {
    std::fs::write(curves.path(), serde_json::to_string(&outcome.curves)?)?;
    metrics.log_metric("best_val_loss", outcome.best_val_loss);
    metrics.log_metric("epochs", outcome.epochs as f64);
    let card = serde_json::json!({
        "framework": "tch 0.26 (libtorch 2.13.0)",
        "architecture": "MLP, 2 hidden layers, ReLU, dropout",
        "params": {"lr": lr, "batch_size": batch_size, "hidden_size": hidden_size, "dropout": dropout},
        "epochs": outcome.epochs,
        "stopped_early": outcome.stopped_early,
        "best_val_loss": outcome.best_val_loss,
    });
    model.set_metadata("model_card", card);
    model.set_metadata("framework", "tch");
    println!("trained {} epochs, best val_loss {:.4}", outcome.epochs, outcome.best_val_loss);
    Ok(outcome.best_val_loss)
}
