//! Katib: a search the user's binary runs as a Katib `Experiment` on the cluster. The compile
//! CLI writes the Experiment next to the IR; in a trial pod the binary runs one trial with the
//! parameters Katib passes (`--name=value`) and prints the metric for Katib's StdOut collector.

use crate::__private::{Component, Implementation};
use indexmap::IndexMap;
use kfp_runtime::tune::ParamValue;
use kfp_runtime::tune::katib::{KatibSpec, TrialTarget, experiment_yaml, metric_line, parse_trial_args};
use std::path::Path;
use std::process::ExitCode;

/// The flag a Katib trial container runs the binary with: `--katib-trial NAME --p=v...`.
pub const TRIAL_FLAG: &str = "--katib-trial";

/// A search to run on Katib: its Experiment, and one trial of it in this binary.
pub struct KatibStudy {
    pub spec: fn() -> KatibSpec,
    /// Runs one trial with Katib's parameter values; returns the objective metric.
    pub trial: fn(&IndexMap<String, ParamValue>) -> anyhow::Result<f64>,
}

/// A trial container that runs this binary as `C`'s component does (same image and path).
pub fn trial_target<C: Component>(study: &str) -> TrialTarget {
    let definition = C::definition();
    let (image, binary) = match &definition.implementation {
        Implementation::Container(container) => (container.image, container.binary),
        _ => panic!("`{}` is not a container component", definition.name),
    };
    TrialTarget {
        image: image.to_owned(),
        command: vec![binary.to_owned(), TRIAL_FLAG.to_owned(), study.to_owned()],
        container_name: "training-container".to_owned(),
    }
}

/// `--katib-trial NAME --p=v...`: one trial, then `metric=value` on stdout.
pub(super) fn run_trial(studies: &[KatibStudy], args: &[String]) -> ExitCode {
    let result = (|| -> anyhow::Result<String> {
        let name = args.get(1).ok_or_else(|| anyhow::anyhow!("{TRIAL_FLAG} needs the study name"))?;
        let spec = studies
            .iter()
            .map(|s| ((s.spec)(), s))
            .find(|(spec, _)| spec.name == *name)
            .ok_or_else(|| anyhow::anyhow!("no Katib study named {name:?} in this binary"))?;
        let params = parse_trial_args(&args[2..], &spec.0.search_space)?;
        let value = (spec.1.trial)(&params)?;
        Ok(metric_line(&spec.0.objective_metric, value)?)
    })();
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: katib trial: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes `<out>/<name>.katib.yaml` for each study (temp file, then rename).
pub(super) fn write(studies: &[KatibStudy], out: &Path) -> anyhow::Result<Vec<String>> {
    let mut written = Vec::new();
    for study in studies {
        let spec = (study.spec)();
        let yaml = experiment_yaml(&spec)?;
        let path = out.join(format!("{}.katib.yaml", spec.name));
        super::compile::write_atomic(&path, yaml.as_bytes())?;
        written.push(path.display().to_string());
    }
    Ok(written)
}
