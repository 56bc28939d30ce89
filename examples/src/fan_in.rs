//! Fan-in of artifacts: a loop trains one model per seed, and `Collected` hands every model
//! (and every score) to one task and to the pipeline's output, in seed order.

use kfp::prelude::*;

/// Writes a model that names its seed; returns its score.
#[component]
pub fn train_candidate(seed: i64, model: Output<Model>) -> Result<f64> {
    std::fs::write(model.path(), format!("model-{seed}"))?;
    model.set_metadata("seed", seed);
    Ok(1.0 / (1.0 + (seed - 2).abs() as f64))
}

/// Reads every model, in loop order, and names the one with the best score.
#[component]
pub fn pick_best(models: Vec<Input<Model>>, scores: Vec<f64>) -> Result<String> {
    let names = models.iter().map(|m| std::fs::read_to_string(m.path())).collect::<std::io::Result<Vec<_>>>()?;
    anyhow::ensure!(names.len() == scores.len(), "{} models but {} scores", names.len(), scores.len());
    let best = (0..scores.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let best = best.ok_or_else(|| anyhow::anyhow!("no models to pick from"))?;
    Ok(format!("{} -> {}", names.join(","), names[best]))
}

/// Trains a model per seed in parallel and gathers them.
#[pipeline(name = "fan-in")]
pub fn fan_in(#[default(vec![1, 2, 3])] seeds: Vec<i64>) -> ArtifactListRef<Model> {
    let trained = ParallelFor(seeds, |seed| train_candidate(seed));
    let models = Collected(trained.map(|task| task.outputs.model));
    pick_best(models, Collected(trained.map(|task| task.outputs.output)));
    models
}
