//! Typed request and response bodies of the KFP v2beta1 REST API (snake_case JSON), as defined
//! in kubeflow/pipelines backend/api/v2beta1/swagger/{pipeline,pipeline.upload,experiment,run}.swagger.json.
//! Output-only fields are `Option` so that older servers that omit them still decode.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `v2beta1Pipeline`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Pipeline {
    pub pipeline_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `v2beta1PipelineVersion`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineVersion {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Output: the compiled spec this version runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<Value>,
}

/// `v2beta1ListPipelinesResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListPipelinesResponse {
    pub pipelines: Vec<Pipeline>,
    pub total_size: Option<i64>,
    pub next_page_token: Option<String>,
}

/// `v2beta1ListPipelineVersionsResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListPipelineVersionsResponse {
    pub pipeline_versions: Vec<PipelineVersion>,
    pub total_size: Option<i64>,
    pub next_page_token: Option<String>,
}

/// `v2beta1Experiment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Experiment {
    pub experiment_id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_state: Option<String>,
}

/// The input fields of `v2beta1Experiment` for CreateExperiment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewExperiment {
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `v2beta1ListExperimentsResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListExperimentsResponse {
    pub experiments: Vec<Experiment>,
    pub total_size: Option<i64>,
    pub next_page_token: Option<String>,
}

/// `v2beta1PipelineVersionReference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PipelineVersionReference {
    pub pipeline_id: String,
    pub pipeline_version_id: String,
}

/// `v2beta1RuntimeConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RuntimeConfig {
    pub parameters: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_root: Option<String>,
}

/// `v2beta1RuntimeState`. Unknown future values decode as `Unknown` instead of failing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RuntimeState {
    #[default]
    RuntimeStateUnspecified,
    Pending,
    Running,
    Succeeded,
    Skipped,
    Failed,
    Canceling,
    Canceled,
    Paused,
    #[serde(other)]
    Unknown,
}

impl RuntimeState {
    /// The run will not change state any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RuntimeState::Succeeded
                | RuntimeState::Skipped
                | RuntimeState::Failed
                | RuntimeState::Canceled
        )
    }

    /// A final state that a script should treat as failure.
    pub fn is_failure(self) -> bool {
        matches!(self, RuntimeState::Failed | RuntimeState::Canceled)
    }

    /// The swagger spelling, e.g. `SUCCEEDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeState::RuntimeStateUnspecified => "RUNTIME_STATE_UNSPECIFIED",
            RuntimeState::Pending => "PENDING",
            RuntimeState::Running => "RUNNING",
            RuntimeState::Succeeded => "SUCCEEDED",
            RuntimeState::Skipped => "SKIPPED",
            RuntimeState::Failed => "FAILED",
            RuntimeState::Canceling => "CANCELING",
            RuntimeState::Canceled => "CANCELED",
            RuntimeState::Paused => "PAUSED",
            RuntimeState::Unknown => "UNKNOWN",
        }
    }
}

/// `googleRpcStatus` as embedded in a run's `error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RpcStatus {
    pub code: Option<i64>,
    pub message: Option<String>,
}

/// `v2beta1Run` (the fields this client shows; the echoed pipeline spec is dropped).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    pub run_id: String,
    pub display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_reference: Option<PipelineVersionReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_config: Option<RuntimeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub state: RuntimeState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcStatus>,
}

/// The input fields of `v2beta1Run` for CreateRun: exactly one of `pipeline_spec` and
/// `pipeline_version_reference` is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewRun {
    pub display_name: String,
    pub experiment_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_spec: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_version_reference: Option<PipelineVersionReference>,
    pub runtime_config: RuntimeConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

/// `v2beta1ListRunsResponse`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ListRunsResponse {
    pub runs: Vec<Run>,
    pub total_size: Option<i64>,
    pub next_page_token: Option<String>,
}

/// Paging and filtering shared by the list calls.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub page_size: Option<u32>,
    pub page_token: Option<String>,
    pub sort_by: Option<String>,
    /// A JSON-serialized `Filter` message (backend/api/v2beta1/filter.proto).
    pub filter: Option<String>,
}

/// The filter selecting objects whose `display_name` equals `name`, in the snake_case JSON
/// form of filter.proto that the server parses with protojson.
pub fn display_name_filter(name: &str) -> String {
    serde_json::json!({
        "predicates": [{ "operation": "EQUALS", "key": "display_name", "string_value": name }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_decodes_swagger_json_and_unknown_states() {
        let run: Run = serde_json::from_value(serde_json::json!({
            "run_id": "r1", "display_name": "d", "experiment_id": "e1", "state": "SUCCEEDED",
            "pipeline_spec": {"root": {}}, "storage_state": "AVAILABLE", "state_history": []
        }))
        .unwrap();
        assert_eq!(run.state, RuntimeState::Succeeded);
        assert!(run.state.is_final() && !run.state.is_failure());
        let odd: Run =
            serde_json::from_value(serde_json::json!({"run_id": "r", "state": "NEW_STATE"}))
                .unwrap();
        assert_eq!(odd.state, RuntimeState::Unknown);
        assert!(!odd.state.is_final());
    }

    #[test]
    fn new_run_serializes_only_input_fields() {
        let run = NewRun {
            display_name: "d".into(),
            experiment_id: "e".into(),
            description: None,
            pipeline_spec: None,
            pipeline_version_reference: Some(PipelineVersionReference {
                pipeline_id: "p".into(),
                pipeline_version_id: "v".into(),
            }),
            runtime_config: RuntimeConfig::default(),
            service_account: None,
        };
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"display_name": "d", "experiment_id": "e",
                "pipeline_version_reference": {"pipeline_id": "p", "pipeline_version_id": "v"},
                "runtime_config": {"parameters": {}}})
        );
    }

    #[test]
    fn display_name_filter_is_filter_proto_json() {
        let filter: Value = serde_json::from_str(&display_name_filter("a \"b\"")).unwrap();
        assert_eq!(filter["predicates"][0]["string_value"], "a \"b\"");
        assert_eq!(filter["predicates"][0]["operation"], "EQUALS");
    }
}
