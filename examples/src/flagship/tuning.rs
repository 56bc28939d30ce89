//! Tune: TPE + Hyperband over learning rate, batch size, hidden size and dropout, each trial a
//! short training run that reports its validation loss every epoch so Hyperband can prune it.

use super::model::{Shape, mlp, tensors};
use super::table::Table;
use kfp::prelude::*;
use kfp::runtime::train::{Control, Data, TrainConfig, Trainer};
use indexmap::IndexMap;
use kfp::runtime::tune::{
    Direction, Distribution, HyperbandPruner, ParamValue, SearchSpace, Study, TpeSampler, Trial, TrialOutcome,
};
use std::cell::RefCell;

/// The best parameters found, as the component's named outputs.
#[derive(ComponentOutputs)]
pub struct BestParams {
    pub lr: f64,
    pub batch_size: i64,
    pub hidden_size: i64,
    pub dropout: f64,
    pub best_val_loss: f64,
}

/// The search space, shared by the in-pipeline study and the Katib Experiment: learning rate
/// (log scale), batch size (categorical), hidden size (step 16) and dropout.
pub fn search_space() -> SearchSpace {
    let mut space = SearchSpace::new();
    space.insert("lr".into(), Distribution::Float { low: 1e-4, high: 3e-2, log: true, step: None });
    space.insert(
        "batch_size".into(),
        Distribution::Categorical { choices: vec![ParamValue::Int(32), ParamValue::Int(64), ParamValue::Int(128)] },
    );
    space.insert("hidden_size".into(), Distribution::Int { low: 16, high: 128, log: false, step: 16 });
    space.insert("dropout".into(), Distribution::Float { low: 0.0, high: 0.5, log: false, step: None });
    space
}

/// One point of the space as (lr, batch size, hidden size, dropout).
fn point(params: &IndexMap<String, ParamValue>) -> anyhow::Result<(f64, i64, i64, f64)> {
    let get = |k: &str| params.get(k).ok_or_else(|| anyhow::anyhow!("no value for {k}"));
    let float = |k: &str| get(k)?.as_f64().ok_or_else(|| anyhow::anyhow!("{k} is not a number"));
    let int = |k: &str| get(k)?.as_i64().ok_or_else(|| anyhow::anyhow!("{k} is not an integer"));
    Ok((float("lr")?, int("batch_size")?, int("hidden_size")?, float("dropout")?))
}

/// Suggests every parameter of the space for `trial`.
fn suggest(trial: &mut Trial<'_>) -> anyhow::Result<(f64, i64, i64, f64)> {
    let mut params = IndexMap::new();
    for (name, distribution) in &search_space() {
        params.insert(name.clone(), trial.suggest(name, distribution)?);
    }
    point(&params)
}

/// Searches the space with `n_trials` trials of up to `max_epochs` epochs each, and writes the
/// history (trial number, value, parameters, state) as JSON.
#[component(cpu_limit = "2", memory_limit = "2Gi")]
pub fn tune_model(
    train: Input<Dataset>,
    validation: Input<Dataset>,
    #[default(12)] n_trials: i64,
    #[default(9)] max_epochs: i64,
    #[default(0)] seed: i64,
    history: Output<Artifact>,
) -> Result<BestParams> {
    let (train_table, val_table) = (Table::read(train.path())?, Table::read(validation.path())?);
    let (x, y) = tensors(&train_table);
    let (vx, vy) = tensors(&val_table);
    let data = Data { train: kfp::runtime::train::Dataset::new(x, y).map_err(anyhow::Error::msg)?, val: Some(kfp::runtime::train::Dataset::new(vx, vy).map_err(anyhow::Error::msg)?) };
    let max_epochs = usize::try_from(max_epochs)?;
    let study = Study::builder()
        .name("flagship")
        .direction(Direction::Minimize)
        .sampler(TpeSampler::new(Some(seed as u64)))
        .pruner(HyperbandPruner::new(1, max_epochs as u64, 3, None)?)
        .build()?;
    let shape_of = |hidden, dropout| Shape {
        inputs: train_table.n_features() as i64,
        hidden,
        dropout,
        classes: train_table.n_classes().max(2) as i64,
    };
    // Trials run one after another in this process: tensors are not shared across threads.
    for _ in 0..usize::try_from(n_trials)? {
        let mut trial = study.ask()?;
        let outcome = match run_trial(&mut trial, &data, max_epochs, seed as u64, shape_of) {
            Ok(Some(value)) => TrialOutcome::Complete(value),
            Ok(None) => TrialOutcome::Pruned,
            Err(error) => TrialOutcome::Fail(format!("{error:#}")),
        };
        study.tell(trial, outcome)?;
    }
    let trials: Vec<serde_json::Value> = study
        .trials()?
        .iter()
        .map(|t| {
            let params: serde_json::Map<String, serde_json::Value> =
                t.params.iter().map(|(name, p)| (name.clone(), serde_json::to_value(&p.value).unwrap_or_default())).collect();
            serde_json::json!({"number": t.number, "value": t.value, "state": format!("{:?}", t.state), "params": params})
        })
        .collect();
    std::fs::write(history.path(), serde_json::to_string_pretty(&trials)?)?;
    let best = study.best_params()?;
    let get_f = |k: &str| best.get(k).and_then(|v| v.as_f64()).ok_or_else(|| anyhow::anyhow!("no best {k}"));
    let get_i = |k: &str| best.get(k).and_then(|v| v.as_i64()).ok_or_else(|| anyhow::anyhow!("no best {k}"));
    let result = BestParams {
        lr: get_f("lr")?,
        batch_size: get_i("batch_size")?,
        hidden_size: get_i("hidden_size")?,
        dropout: get_f("dropout")?,
        best_val_loss: study.best_value()?,
    };
    println!(
        "best of {} trials: val_loss {:.4} with lr {:.2e}, batch {}, hidden {}, dropout {:.2}",
        trials.len(), result.best_val_loss, result.lr, result.batch_size, result.hidden_size, result.dropout
    );
    Ok(result)
}


/// One trial: trains up to `max_epochs`, reporting the validation loss each epoch; `None` when
/// Hyperband pruned it.
fn run_trial(
    trial: &mut Trial<'_>,
    data: &Data,
    max_epochs: usize,
    seed: u64,
    shape_of: impl Fn(i64, f64) -> Shape,
) -> anyhow::Result<Option<f64>> {
    let (lr, batch_size, hidden, dropout) = suggest(trial)?;
    let shape = shape_of(hidden, dropout);
    let config = TrainConfig { epochs: max_epochs, batch_size: batch_size as usize, lr, seed, progress: false, ..TrainConfig::default() };
    let trial = RefCell::new(trial);
    let pruned = RefCell::new(false);
    let fitted = Trainer::new(config)
        .on_epoch_end(|m| {
            let mut trial = trial.borrow_mut();
            let loss = m.val_loss.unwrap_or(f64::INFINITY);
            if trial.report(loss, m.epoch as u64).is_err() || trial.should_prune().unwrap_or(false) {
                *pruned.borrow_mut() = true;
                return Control::Stop;
            }
            Control::Continue
        })
        .fit(|p| mlp(p, shape), data)?;
    if *pruned.borrow() {
        return Ok(None);
    }
    Ok(Some(fitted.report.metrics.iter().filter_map(|m| m.val_loss).fold(f64::INFINITY, f64::min)))
}

/// The same search on Kubeflow: a Katib Experiment whose trials run this binary.
pub const KATIB: kfp::app::KatibStudy = kfp::app::KatibStudy { spec: katib_spec, trial: katib_trial };

const KATIB_STUDY: &str = "wine-quality-tuning";

fn katib_spec() -> kfp::runtime::tune::katib::KatibSpec {
    use kfp::runtime::tune::katib::{KatibAlgorithm, KatibSpec};
    KatibSpec {
        name: KATIB_STUDY.into(),
        namespace: None,
        direction: Direction::Minimize,
        objective_metric: "val_loss".into(),
        goal: None,
        algorithm: KatibAlgorithm::MultivariateTpe { n_startup_trials: 10, n_ei_candidates: 24, seed: Some(0) },
        early_stopping: None,
        search_space: search_space(),
        parallel_trial_count: 4,
        max_trial_count: 32,
        max_failed_trial_count: 4,
        target: kfp::app::trial_target::<tune_model>(KATIB_STUDY),
    }
}

/// One Katib trial: the built-in data, the pipeline's default split, a full-length run.
fn katib_trial(params: &IndexMap<String, ParamValue>) -> anyhow::Result<f64> {
    let table = super::data::builtin_wine();
    let [train_rows, val_rows, _] = super::data::split_indices(table.rows(), 42, 0.2, 0.2)?;
    let scaler = super::data::Scaler::fit(&table.select(&train_rows));
    let (train_table, val_table) = (scaler.transform(&table.select(&train_rows)), scaler.transform(&table.select(&val_rows)));
    let (x, y) = tensors(&train_table);
    let (vx, vy) = tensors(&val_table);
    let data = Data {
        train: kfp::runtime::train::Dataset::new(x, y).map_err(anyhow::Error::msg)?,
        val: Some(kfp::runtime::train::Dataset::new(vx, vy).map_err(anyhow::Error::msg)?),
    };
    let (lr, batch_size, hidden, dropout) = point(params)?;
    let shape = Shape { inputs: train_table.n_features() as i64, hidden, dropout, classes: 2 };
    let config = TrainConfig { epochs: 9, batch_size: usize::try_from(batch_size)?, lr, progress: false, ..TrainConfig::default() };
    let fitted = Trainer::new(config).fit(|p| mlp(p, shape), &data)?;
    Ok(fitted.report.metrics.iter().filter_map(|m| m.val_loss).fold(f64::INFINITY, f64::min))
}
