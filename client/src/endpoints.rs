//! One function per v2beta1 endpoint this client uses. Paths and query names follow
//! kubeflow/pipelines backend/api/v2beta1/swagger/{pipeline.upload,pipeline,experiment,run}.swagger.json.

use crate::api::*;
use crate::errors::ApiError;
use crate::http::{Client, FilePart, percent_encode};

/// Query pairs for `ListOptions` plus the client's namespace where the endpoint takes one.
fn list_query<'a>(
    options: &'a ListOptions,
    page_size: &'a str,
    namespace: Option<&'a str>,
) -> Vec<(&'a str, &'a str)> {
    let mut query = vec![
        ("page_size", page_size),
        ("page_token", options.page_token.as_deref().unwrap_or("")),
        ("sort_by", options.sort_by.as_deref().unwrap_or("")),
        ("filter", options.filter.as_deref().unwrap_or("")),
    ];
    if let Some(namespace) = namespace {
        query.push(("namespace", namespace));
    }
    query
}

fn page_size(options: &ListOptions) -> String {
    options.page_size.map(|n| n.to_string()).unwrap_or_default()
}

/// `POST /apis/v2beta1/pipelines/upload` (UploadPipeline): multipart field `uploadfile`.
pub fn upload_pipeline(
    client: &Client,
    filename: &str,
    content: &[u8],
    name: &str,
    description: Option<&str>,
) -> Result<Pipeline, ApiError> {
    let namespace = client.config().namespace.as_deref().unwrap_or("");
    let query = [
        ("name", name),
        ("display_name", name),
        ("description", description.unwrap_or("")),
        ("namespace", namespace),
    ];
    let part = FilePart {
        field: "uploadfile",
        filename,
        content,
    };
    client.post_multipart("/apis/v2beta1/pipelines/upload", &query, &part)
}

/// `POST /apis/v2beta1/pipelines/upload_version` (UploadPipelineVersion).
pub fn upload_pipeline_version(
    client: &Client,
    pipeline_id: &str,
    filename: &str,
    content: &[u8],
    version_name: &str,
    description: Option<&str>,
) -> Result<PipelineVersion, ApiError> {
    let query = [
        ("pipelineid", pipeline_id),
        ("name", version_name),
        ("display_name", version_name),
        ("description", description.unwrap_or("")),
    ];
    let part = FilePart {
        field: "uploadfile",
        filename,
        content,
    };
    client.post_multipart("/apis/v2beta1/pipelines/upload_version", &query, &part)
}

/// `GET /apis/v2beta1/pipelines` (ListPipelines).
pub fn list_pipelines(
    client: &Client,
    options: &ListOptions,
) -> Result<ListPipelinesResponse, ApiError> {
    let size = page_size(options);
    let query = list_query(options, &size, client.config().namespace.as_deref());
    client.get_json("/apis/v2beta1/pipelines", &query)
}

/// `GET /apis/v2beta1/pipelines/{pipeline_id}/versions` (ListPipelineVersions; no namespace).
pub fn list_pipeline_versions(
    client: &Client,
    pipeline_id: &str,
    options: &ListOptions,
) -> Result<ListPipelineVersionsResponse, ApiError> {
    let size = page_size(options);
    let query = list_query(options, &size, None);
    client.get_json(
        &format!(
            "/apis/v2beta1/pipelines/{}/versions",
            percent_encode(pipeline_id)
        ),
        &query,
    )
}

/// `GET /apis/v2beta1/pipelines/{pipeline_id}/versions/{pipeline_version_id}` (GetPipelineVersion).
pub fn get_pipeline_version(
    client: &Client,
    pipeline_id: &str,
    version_id: &str,
) -> Result<PipelineVersion, ApiError> {
    let path = format!(
        "/apis/v2beta1/pipelines/{}/versions/{}",
        percent_encode(pipeline_id),
        percent_encode(version_id)
    );
    client.get_json(&path, &[])
}

/// `POST /apis/v2beta1/experiments` (CreateExperiment); the body is the experiment itself.
pub fn create_experiment(
    client: &Client,
    experiment: &NewExperiment,
) -> Result<Experiment, ApiError> {
    client.post_json("/apis/v2beta1/experiments", &[], experiment)
}

/// `GET /apis/v2beta1/experiments` (ListExperiments).
pub fn list_experiments(
    client: &Client,
    options: &ListOptions,
) -> Result<ListExperimentsResponse, ApiError> {
    let size = page_size(options);
    let query = list_query(options, &size, client.config().namespace.as_deref());
    client.get_json("/apis/v2beta1/experiments", &query)
}

/// `POST /apis/v2beta1/runs` (CreateRun); the body is the run itself.
pub fn create_run(client: &Client, run: &NewRun) -> Result<Run, ApiError> {
    client.post_json("/apis/v2beta1/runs", &[], run)
}

/// `GET /apis/v2beta1/runs/{run_id}` (GetRun).
pub fn get_run(client: &Client, run_id: &str) -> Result<Run, ApiError> {
    client.get_json(
        &format!("/apis/v2beta1/runs/{}", percent_encode(run_id)),
        &[],
    )
}

/// `GET /apis/v2beta1/runs` (ListRuns), optionally within one experiment.
pub fn list_runs(
    client: &Client,
    experiment_id: Option<&str>,
    options: &ListOptions,
) -> Result<ListRunsResponse, ApiError> {
    let size = page_size(options);
    let mut query = list_query(options, &size, client.config().namespace.as_deref());
    if let Some(id) = experiment_id {
        query.push(("experiment_id", id));
    }
    client.get_json("/apis/v2beta1/runs", &query)
}
