//! The flagship: Load -> Preprocess -> Tune -> Train (DDP) -> Evaluate -> Register, on the
//! wine-quality data, with registration gated on the test accuracy.

mod data;
mod evaluation;
mod model;
mod register;
mod registry;
mod report;
mod scores;
mod table;
mod training;
mod tuning;

pub use data::{BUILTIN_WINE, load_dataset, preprocess};
pub use evaluation::evaluate_model;
pub use register::register_model;
pub use training::train_model;
pub use tuning::{KATIB, tune_model};

use kfp::prelude::*;

/// A tuned, distributed training pipeline from raw data to a registered model.
#[pipeline(name = "wine-quality", description = "Tune, train with DDP, evaluate and register a wine-quality classifier")]
pub fn wine_quality(
    #[default(BUILTIN_WINE)] source_uri: String,
    #[default(8)] n_trials: i64,
    #[default(0.7)] accuracy_threshold: f64,
    #[default("model-registry")] registry: String,
) {
    let data = load_dataset(source_uri);
    let split = preprocess(data.outputs.dataset);
    let tuned = tune_model(split.outputs.train, split.outputs.validation, n_trials);
    let best = tuned.outputs.output;
    let trained = train_model(
        split.outputs.train,
        split.outputs.validation,
        best.lr,
        best.batch_size,
        best.hidden_size,
        best.dropout,
    );
    let evaluated = evaluate_model(trained.outputs.model, split.outputs.test, trained.outputs.curves, tuned.outputs.history);
    If(evaluated.outputs.output.ge(accuracy_threshold), || {
        register_model(
            trained.outputs.model,
            evaluated.outputs.output,
            registry,
            source_uri = source_uri,
            run = placeholders::PIPELINE_JOB_RESOURCE_NAME,
        )
    });
}
