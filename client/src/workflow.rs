//! Multi-call operations: name lookups, create-or-version uploads, run submission and waiting.

use crate::api::*;
use crate::config::Config;
use crate::endpoints;
use crate::errors::ApiError;
use crate::http::Client;
use crate::params::{self, ParamError};
use crate::pipeline_file::{PipelineFile, PipelineFileError};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Everything that can go wrong in a client operation.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    File(#[from] PipelineFileError),
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error("{0}")]
    Lookup(String),
    #[error("run {run_id} did not finish within {seconds} s (last state {state})")]
    WaitTimeout {
        run_id: String,
        seconds: u64,
        state: &'static str,
    },
}

/// The pipeline named `name` (by display name), if there is one; several is an error.
pub fn find_pipeline(client: &Client, name: &str) -> Result<Option<Pipeline>, ClientError> {
    let options = ListOptions {
        page_size: Some(2),
        filter: Some(display_name_filter(name)),
        ..Default::default()
    };
    let mut found = endpoints::list_pipelines(client, &options)?.pipelines;
    found.retain(|p| p.display_name == name);
    match found.len() {
        0 | 1 => Ok(found.pop()),
        _ => Err(ClientError::Lookup(format!(
            "several pipelines are named {name:?}; use --pipeline-id"
        ))),
    }
}

/// The ID of the pipeline named `name`; absence is an error.
pub fn pipeline_id_by_name(client: &Client, name: &str) -> Result<String, ClientError> {
    find_pipeline(client, name)?
        .map(|p| p.pipeline_id)
        .ok_or_else(|| ClientError::Lookup(format!("no pipeline is named {name:?}")))
}

/// The newest version of a pipeline, with its spec.
pub fn latest_version(client: &Client, pipeline_id: &str) -> Result<PipelineVersion, ClientError> {
    let options = ListOptions {
        page_size: Some(1),
        sort_by: Some("created_at desc".into()),
        ..Default::default()
    };
    let newest = endpoints::list_pipeline_versions(client, pipeline_id, &options)?
        .pipeline_versions
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::Lookup(format!("pipeline {pipeline_id} has no versions")))?;
    if newest.pipeline_spec.is_some() {
        return Ok(newest);
    }
    Ok(endpoints::get_pipeline_version(
        client,
        pipeline_id,
        &newest.pipeline_version_id,
    )?)
}

/// The experiment named `name`, created when it does not exist; the flag says whether it was.
pub fn ensure_experiment(client: &Client, name: &str) -> Result<(Experiment, bool), ClientError> {
    let options = ListOptions {
        page_size: Some(2),
        filter: Some(display_name_filter(name)),
        ..Default::default()
    };
    let mut found = endpoints::list_experiments(client, &options)?.experiments;
    found.retain(|e| e.display_name == name);
    match found.len() {
        0 => {
            let new = NewExperiment {
                display_name: name.to_string(),
                description: None,
                namespace: client.config().namespace.clone(),
            };
            Ok((endpoints::create_experiment(client, &new)?, true))
        }
        1 => Ok((found.remove(0), false)),
        _ => Err(ClientError::Lookup(format!(
            "several experiments are named {name:?}"
        ))),
    }
}

/// What `upload_or_create_version` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Uploaded {
    Pipeline(Pipeline),
    Version(PipelineVersion),
}

/// Uploads `file` as a new pipeline named `name` (default: the spec's `pipelineInfo.name`), or,
/// when a pipeline of that name exists, as a new version of it named `<name>-<UTC timestamp>`.
pub fn upload_or_create_version(
    config: &Config,
    file: &Path,
    name: Option<&str>,
    description: Option<&str>,
) -> Result<Uploaded, ClientError> {
    let client = Client::new(config.clone());
    let pipeline = PipelineFile::read(file)?;
    let name = pipeline_name(&pipeline, name)?;
    let filename = pipeline.upload_filename();
    if find_pipeline(&client, &name)?.is_none() {
        match endpoints::upload_pipeline(&client, &filename, &pipeline.bytes, &name, description) {
            Ok(created) => return Ok(Uploaded::Pipeline(created)),
            // Someone created it since the lookup: fall through to a new version.
            Err(ApiError::Conflict { .. }) => {}
            Err(other) => return Err(other.into()),
        }
    }
    let pipeline_id = pipeline_id_by_name(&client, &name)?;
    let version_name = format!("{name}-{}", utc_timestamp(SystemTime::now()));
    let version = endpoints::upload_pipeline_version(
        &client,
        &pipeline_id,
        &filename,
        &pipeline.bytes,
        &version_name,
        description,
    )?;
    Ok(Uploaded::Version(version))
}

/// `name`, or the spec's `pipelineInfo.name` when none is given.
pub fn pipeline_name(pipeline: &PipelineFile, name: Option<&str>) -> Result<String, ClientError> {
    name.or(pipeline.pipeline_name())
        .map(str::to_string)
        .ok_or_else(|| {
            ClientError::Lookup(format!(
                "{}: no pipelineInfo.name in the spec; pass --name",
                pipeline.path.display()
            ))
        })
}

/// What a run executes.
pub enum RunSource<'a> {
    File(&'a PipelineFile),
    Version {
        pipeline_id: String,
        version_id: Option<String>,
    },
}

/// A run to submit.
pub struct RunRequest<'a> {
    pub experiment: &'a str,
    pub display_name: &'a str,
    pub source: RunSource<'a>,
    /// Raw `key=value` arguments.
    pub arguments: &'a [String],
}

/// Types the arguments against the pipeline's inputs (rejecting bad ones before anything is
/// created), finds or creates the experiment, and creates the run.
pub fn submit_run(client: &Client, request: RunRequest<'_>) -> Result<Run, ClientError> {
    let assignments = params::split_assignments(request.arguments)?;
    let (spec, pipeline_spec, reference) = match request.source {
        RunSource::File(file) => (
            file.pipeline_spec.clone(),
            Some(file.run_pipeline_spec()),
            None,
        ),
        RunSource::Version {
            pipeline_id,
            version_id,
        } => {
            let version = match version_id {
                Some(id) => endpoints::get_pipeline_version(client, &pipeline_id, &id)?,
                None => latest_version(client, &pipeline_id)?,
            };
            // Older servers may not return the spec; without it arguments cannot be typed.
            let spec = match version.pipeline_spec {
                Some(spec) => unwrap_platform(spec),
                None if assignments.is_empty() => serde_json::Value::Null,
                None => {
                    return Err(ClientError::Lookup(format!(
                        "the server returned pipeline version {} without its pipeline_spec, \
                         so the run's parameters cannot be typed",
                        version.pipeline_version_id
                    )));
                }
            };
            let reference = PipelineVersionReference {
                pipeline_id,
                pipeline_version_id: version.pipeline_version_id,
            };
            (spec, None, Some(reference))
        }
    };
    let parameters = params::type_arguments(&params::input_parameters(&spec)?, &assignments)?;
    let (experiment, _) = ensure_experiment(client, request.experiment)?;
    let run = NewRun {
        display_name: request.display_name.to_string(),
        experiment_id: experiment.experiment_id,
        description: None,
        pipeline_spec,
        pipeline_version_reference: reference,
        runtime_config: RuntimeConfig {
            parameters,
            pipeline_root: None,
        },
        service_account: None,
    };
    Ok(endpoints::create_run(client, &run)?)
}

/// A stored spec may be the `{pipeline_spec, platform_spec}` pair; the inputs live in the first.
fn unwrap_platform(spec: serde_json::Value) -> serde_json::Value {
    match spec {
        serde_json::Value::Object(mut map)
            if !map.contains_key("root") && map.contains_key("pipeline_spec") =>
        {
            map.remove("pipeline_spec").unwrap_or_default()
        }
        other => other,
    }
}

/// Polls `GET /apis/v2beta1/runs/{id}` every `interval` until a final state or `timeout`.
pub fn wait_for_run(
    client: &Client,
    run_id: &str,
    interval: Duration,
    timeout: Duration,
) -> Result<Run, ClientError> {
    let deadline = Instant::now() + timeout;
    loop {
        let run = endpoints::get_run(client, run_id)?;
        if run.state.is_final() {
            return Ok(run);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(ClientError::WaitTimeout {
                run_id: run_id.to_string(),
                seconds: timeout.as_secs(),
                state: run.state.as_str(),
            });
        }
        std::thread::sleep(interval.min(deadline - now));
    }
}

/// `YYYYMMDD-HHMMSS` in UTC, for generated version names.
fn utc_timestamp(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil-from-days (Howard Hinnant's algorithm), valid for all dates after 1970.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(UNIX_EPOCH), "19700101-000000");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3_723)),
            "20000229-010203"
        );
        assert_eq!(
            utc_timestamp(UNIX_EPOCH + Duration::from_secs(1_798_761_599)),
            "20261231-235959"
        );
    }

    #[test]
    fn stored_platform_pairs_are_unwrapped() {
        let pair = serde_json::json!({"pipeline_spec": {"root": {}}, "platform_spec": {}});
        assert_eq!(unwrap_platform(pair), serde_json::json!({"root": {}}));
        let plain = serde_json::json!({"root": {}, "pipeline_spec": 1});
        assert_eq!(unwrap_platform(plain.clone()), plain);
    }
}
