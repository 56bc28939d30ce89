//! Katib `Experiment` (kubeflow.org/v1beta1) for running a tuned component's search on a
//! cluster: the search space becomes `parameters`, each trial runs the component's own binary
//! with `--name=${trialParameters.name}` arguments, and the binary prints the objective in
//! Katib's StdOut collector format (`name=value`, see [`metric_line`]).

use super::distributions::{Distribution, ParamValue};
use super::error::TuneError;
use super::frozen::Direction;
use super::search_space::SearchSpace;
use indexmap::IndexMap;
use serde::Serialize;

/// The search algorithm Katib runs, with its settings.
#[derive(Debug, Clone, PartialEq)]
pub enum KatibAlgorithm {
    /// Optuna's multivariate TPE (Katib `multivariate-tpe`).
    MultivariateTpe { n_startup_trials: u32, n_ei_candidates: u32, seed: Option<u64> },
    /// Hyperopt's independent TPE (Katib `tpe`).
    Tpe { n_startup_trials: u32, n_ei_candidates: u32, seed: Option<u64> },
    Random { seed: Option<u64> },
    /// Every grid point; float parameters need a step.
    Grid,
    /// Katib's Hyperband: `resource_name` must be an int or float parameter (e.g. epochs),
    /// `r_l` its largest value, `eta` the reduction factor.
    Hyperband { resource_name: String, r_l: u32, eta: u32 },
}

/// Katib's median stopping rule for early stopping (`medianstop`).
#[derive(Debug, Clone, PartialEq)]
pub struct MedianStop {
    pub min_trials_required: u32,
    pub start_step: u32,
}

/// The container that runs one trial: the component's image and binary.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialTarget {
    pub image: String,
    /// The binary and its fixed arguments; `--<param>=<value>` arguments are appended.
    pub command: Vec<String>,
    pub container_name: String,
}

/// Everything an Experiment is built from.
#[derive(Debug, Clone)]
pub struct KatibSpec {
    pub name: String,
    pub namespace: Option<String>,
    pub direction: Direction,
    pub objective_metric: String,
    pub goal: Option<f64>,
    pub algorithm: KatibAlgorithm,
    pub early_stopping: Option<MedianStop>,
    pub search_space: SearchSpace,
    pub parallel_trial_count: u32,
    pub max_trial_count: u32,
    pub max_failed_trial_count: u32,
    pub target: TrialTarget,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Experiment {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: Metadata,
    pub spec: ExperimentSpec,
}

#[derive(Debug, Serialize)]
pub struct Metadata {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExperimentSpec {
    pub objective: Objective,
    pub algorithm: Algorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<Algorithm>,
    pub parallel_trial_count: u32,
    pub max_trial_count: u32,
    pub max_failed_trial_count: u32,
    pub metrics_collector_spec: MetricsCollectorSpec,
    pub parameters: Vec<Parameter>,
    pub trial_template: TrialTemplate,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Objective {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub goal: Option<f64>,
    pub objective_metric_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Algorithm {
    pub algorithm_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub algorithm_settings: Vec<Setting>,
}

#[derive(Debug, Serialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize)]
pub struct MetricsCollectorSpec {
    pub collector: Collector,
}

#[derive(Debug, Serialize)]
pub struct Collector {
    pub kind: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    pub parameter_type: String,
    pub feasible_space: FeasibleSpace,
}

/// Katib keeps every bound as a string.
#[derive(Debug, Serialize, Default)]
pub struct FeasibleSpace {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrialTemplate {
    pub primary_container_name: String,
    pub trial_parameters: Vec<TrialParameter>,
    pub trial_spec: JobSpec,
}

#[derive(Debug, Serialize)]
pub struct TrialParameter {
    pub name: String,
    pub description: String,
    pub reference: String,
}

/// A batch/v1 Job running the trial container once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub spec: JobBody,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobBody {
    pub template: PodTemplate,
}

#[derive(Debug, Serialize)]
pub struct PodTemplate {
    pub spec: PodSpec,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    pub restart_policy: &'static str,
    pub containers: Vec<Container>,
}

#[derive(Debug, Serialize)]
pub struct Container {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
}

fn err(message: String) -> TuneError {
    TuneError::Katib(message)
}

/// Shortest round-tripping decimal form (what Katib parses back).
fn num(v: f64) -> String {
    format!("{v:?}")
}

fn choice_text(value: &ParamValue) -> String {
    match value {
        ParamValue::Float(v) => num(*v),
        other => other.to_string(),
    }
}

fn parameter(name: &str, dist: &Distribution, algorithm: &KatibAlgorithm) -> Result<Parameter, TuneError> {
    let log = |log: bool| log.then(|| "logUniform".to_owned());
    let (parameter_type, feasible_space) = match dist {
        Distribution::Float { low, high, log: is_log, step } => {
            if matches!(algorithm, KatibAlgorithm::Grid) && step.is_none() {
                return Err(err(format!("parameter `{name}`: grid search needs a step for float parameters")));
            }
            ("double", FeasibleSpace { min: Some(num(*low)), max: Some(num(*high)), step: step.map(num), distribution: log(*is_log), ..Default::default() })
        }
        Distribution::Int { low, high, log: is_log, step } => (
            "int",
            FeasibleSpace { min: Some(low.to_string()), max: Some(high.to_string()), step: (*step != 1).then(|| step.to_string()), distribution: log(*is_log), ..Default::default() },
        ),
        Distribution::Categorical { choices } => {
            let list: Vec<String> = choices.iter().map(choice_text).collect();
            for (i, c) in list.iter().enumerate() {
                if list[..i].contains(c) {
                    return Err(err(format!("parameter `{name}`: choices {c} collide once written as Katib strings")));
                }
            }
            ("categorical", FeasibleSpace { list: Some(list), ..Default::default() })
        }
    };
    Ok(Parameter { name: name.to_owned(), parameter_type: parameter_type.to_owned(), feasible_space })
}

fn settings(pairs: &[(&str, Option<String>)]) -> Vec<Setting> {
    pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| Setting { name: (*k).to_owned(), value: v.clone() })).collect()
}

fn algorithm(spec: &KatibSpec) -> Result<Algorithm, TuneError> {
    let seed = |s: &Option<u64>| s.map(|s| s.to_string());
    let (name, settings) = match &spec.algorithm {
        KatibAlgorithm::MultivariateTpe { n_startup_trials, n_ei_candidates, seed: s } => (
            "multivariate-tpe",
            settings(&[("n_startup_trials", Some(n_startup_trials.to_string())), ("n_ei_candidates", Some(n_ei_candidates.to_string())), ("random_state", seed(s))]),
        ),
        KatibAlgorithm::Tpe { n_startup_trials, n_ei_candidates, seed: s } => (
            "tpe",
            settings(&[("n_startup_trials", Some(n_startup_trials.to_string())), ("n_EI_candidates", Some(n_ei_candidates.to_string())), ("random_state", seed(s))]),
        ),
        KatibAlgorithm::Random { seed: s } => ("random", settings(&[("random_state", seed(s))])),
        KatibAlgorithm::Grid => ("grid", Vec::new()),
        KatibAlgorithm::Hyperband { resource_name, r_l, eta } => {
            match spec.search_space.get(resource_name) {
                Some(Distribution::Int { .. } | Distribution::Float { .. }) => {}
                _ => return Err(err(format!("hyperband resource `{resource_name}` must be an int or float parameter of the search space"))),
            }
            if *eta < 2 || *r_l < *eta {
                return Err(err(format!("hyperband needs eta >= 2 and r_l >= eta, got eta={eta}, r_l={r_l}")));
            }
            // Katib requires parallelTrialCount >= eta^floor(log_eta(r_l)).
            let mut needed = 1u32;
            while needed.saturating_mul(*eta) <= *r_l {
                needed *= eta;
            }
            if spec.parallel_trial_count < needed {
                return Err(err(format!("hyperband with eta={eta}, r_l={r_l} needs parallelTrialCount >= {needed}, got {}", spec.parallel_trial_count)));
            }
            ("hyperband", settings(&[("resource_name", Some(resource_name.clone())), ("eta", Some(eta.to_string())), ("r_l", Some(r_l.to_string()))]))
        }
    };
    Ok(Algorithm { algorithm_name: name.to_owned(), algorithm_settings: settings })
}

/// Builds the Experiment, checking names, counts and algorithm constraints.
pub fn experiment(spec: &KatibSpec) -> Result<Experiment, TuneError> {
    let dns = |s: &str| !s.is_empty() && s.len() <= 63 && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !s.starts_with('-') && !s.ends_with('-');
    if !dns(&spec.name) {
        return Err(err(format!("name `{}` must be a DNS label (lowercase letters, digits, '-', at most 63)", spec.name)));
    }
    if spec.search_space.is_empty() {
        return Err(err("the search space has no parameter".into()));
    }
    if spec.target.command.is_empty() || spec.target.image.is_empty() {
        return Err(err("the trial target needs an image and a command".into()));
    }
    if spec.parallel_trial_count == 0 || spec.max_trial_count == 0 || spec.parallel_trial_count > spec.max_trial_count {
        return Err(err(format!("need 1 <= parallelTrialCount ({}) <= maxTrialCount ({})", spec.parallel_trial_count, spec.max_trial_count)));
    }
    let metric_ok = !spec.objective_metric.is_empty() && spec.objective_metric.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !metric_ok {
        return Err(err(format!("objective metric `{}` must match Katib's StdOut name pattern [A-Za-z0-9_-]+", spec.objective_metric)));
    }
    let mut parameters = Vec::new();
    let mut trial_parameters = Vec::new();
    let mut command = spec.target.command.clone();
    for (name, dist) in &spec.search_space {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            return Err(err(format!("parameter `{name}`: Katib parameter names may only use letters, digits, '_' and '-'")));
        }
        parameters.push(parameter(name, dist, &spec.algorithm)?);
        trial_parameters.push(TrialParameter { name: name.clone(), description: format!("{name}: {dist}"), reference: name.clone() });
        command.push(format!("--{name}=${{trialParameters.{name}}}"));
    }
    Ok(Experiment {
        api_version: "kubeflow.org/v1beta1",
        kind: "Experiment",
        metadata: Metadata { name: spec.name.clone(), namespace: spec.namespace.clone() },
        spec: ExperimentSpec {
            objective: Objective { kind: spec.direction.to_string(), goal: spec.goal, objective_metric_name: spec.objective_metric.clone() },
            algorithm: algorithm(spec)?,
            early_stopping: spec.early_stopping.as_ref().map(|m| Algorithm {
                algorithm_name: "medianstop".into(),
                algorithm_settings: settings(&[("min_trials_required", Some(m.min_trials_required.to_string())), ("start_step", Some(m.start_step.to_string()))]),
            }),
            parallel_trial_count: spec.parallel_trial_count,
            max_trial_count: spec.max_trial_count,
            max_failed_trial_count: spec.max_failed_trial_count,
            metrics_collector_spec: MetricsCollectorSpec { collector: Collector { kind: "StdOut".into() } },
            parameters,
            trial_template: TrialTemplate {
                primary_container_name: spec.target.container_name.clone(),
                trial_parameters,
                trial_spec: JobSpec {
                    api_version: "batch/v1",
                    kind: "Job",
                    spec: JobBody {
                        template: PodTemplate {
                            spec: PodSpec {
                                restart_policy: "Never",
                                containers: vec![Container { name: spec.target.container_name.clone(), image: spec.target.image.clone(), command }],
                            },
                        },
                    },
                },
            },
        },
    })
}

/// The Experiment as YAML.
pub fn experiment_yaml(spec: &KatibSpec) -> Result<String, TuneError> {
    let exp = experiment(spec)?;
    serde_saphyr::to_string(&exp).map_err(|e| err(format!("cannot write YAML: {e}")))
}

/// The line a trial prints for Katib's StdOut collector: `name=value`.
pub fn metric_line(name: &str, value: f64) -> Result<String, TuneError> {
    if !value.is_finite() {
        return Err(err(format!("metric `{name}` is {value}; Katib's StdOut collector only parses finite numbers")));
    }
    Ok(format!("{name}={}", num(value)))
}

/// Parses the `--name=value` arguments a Katib trial passes to the binary, by the search space.
pub fn parse_trial_args(args: &[String], space: &SearchSpace) -> Result<IndexMap<String, ParamValue>, TuneError> {
    let mut values = IndexMap::new();
    for arg in args {
        let Some((key, raw)) = arg.strip_prefix("--").and_then(|a| a.split_once('=')) else { continue };
        let Some(dist) = space.get(key) else { continue };
        let parsed = match dist {
            Distribution::Float { .. } => raw.parse::<f64>().ok().map(ParamValue::Float),
            Distribution::Int { .. } => raw.parse::<i64>().ok().map(ParamValue::Int),
            Distribution::Categorical { choices } => choices.iter().find(|c| choice_text(c) == raw).cloned(),
        };
        let value = parsed.ok_or_else(|| err(format!("argument --{key}={raw} is not a value of {dist}")))?;
        dist.to_internal(key, &value)?;
        values.insert(key.to_owned(), value);
    }
    if let Some(missing) = space.keys().find(|k| !values.contains_key(*k)) {
        return Err(err(format!("missing trial argument --{missing}=...")));
    }
    Ok(values)
}
