//! Evaluate: test-set metrics for the KFP UI (Metrics, ClassificationMetrics with confusion
//! matrix and ROC) and an HTML report with the loss curves and the tuning history.

use super::model::{Shape, mlp, probabilities, tensors};
use super::report::{Series, html, line_chart};
use super::scores::score;
use super::table::Table;
use anyhow::Context;
use kfp::prelude::*;
use plotters::style::{BLUE, GREEN, RED};

/// Scores the model on the test split; returns its accuracy.
#[component]
#[allow(clippy::too_many_arguments)]
pub fn evaluate_model(
    model: Input<Model>,
    test: Input<Dataset>,
    curves: Input<Artifact>,
    history: Input<Artifact>,
    metrics: Output<Metrics>,
    classification: Output<ClassificationMetrics>,
    report: Output<Html>,
) -> Result<f64> {
    let shape: Shape = serde_json::from_str(
        &std::fs::read_to_string(model.path().join("shape.json")).context("the model has no shape.json")?,
    )?;
    let mut vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let net = mlp(&vs.root(), shape);
    vs.load(model.path().join("weights.safetensors"))?;
    let table = Table::read(test.path())?;
    let (features, _) = tensors(&table);
    let scores = score(&probabilities(&net, &features), &table.labels);

    metrics.log_metric("accuracy", scores.accuracy);
    metrics.log_metric("roc_auc", scores.auc);
    let matrix: Vec<Vec<u64>> = scores.confusion.iter().map(|row| row.to_vec()).collect();
    classification.log_confusion_matrix(&["not good", "good"], &matrix)?;
    classification.log_roc_curve(&scores.roc.fpr, &scores.roc.tpr, &scores.roc.thresholds)?;

    let curves: Vec<(usize, f64, Option<f64>)> = serde_json::from_str(&std::fs::read_to_string(curves.path())?)?;
    let curves_svg = line_chart(
        "Loss per epoch",
        "epoch",
        "loss",
        &[
            Series { label: "train_loss", points: curves.iter().map(|c| (c.0 as f64, c.1)).collect(), color: BLUE },
            Series {
                label: "val_loss",
                points: curves.iter().map(|c| (c.0 as f64, c.2.unwrap_or(f64::NAN))).collect(),
                color: RED,
            },
        ],
    )?;
    let trials: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(history.path())?)?;
    let values: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| Some((t["number"].as_f64()?, t["value"].as_f64()?)))
        .collect();
    let mut best = f64::INFINITY;
    let best_so_far = values.iter().map(|&(n, v)| {
        best = best.min(v);
        (n, best)
    });
    let tuning_svg = line_chart(
        "Tuning history (completed trials)",
        "trial",
        "validation loss",
        &[
            Series { label: "trial", points: values.clone(), color: GREEN },
            Series { label: "best so far", points: best_so_far.collect(), color: BLUE },
        ],
    )?;
    let summary = vec![
        ("test rows".to_owned(), table.rows().to_string()),
        ("trials".to_owned(), trials.len().to_string()),
        ("pruned trials".to_owned(), trials.iter().filter(|t| t["state"] == "Pruned").count().to_string()),
    ];
    report.write(&html(&curves_svg, &tuning_svg, &scores, &summary))?;
    println!("test accuracy {:.4}, ROC AUC {:.4}", scores.accuracy, scores.auc);
    Ok(scores.accuracy)
}
