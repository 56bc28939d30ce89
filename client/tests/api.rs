//! The client against a fake KFP API server (tests/support) that checks every request's shape.

mod support;

use kfp_client::api::{NewRun, PipelineVersionReference, RuntimeConfig, RuntimeState};
use kfp_client::params::ParamError;
use kfp_client::workflow::{self, ClientError, RunRequest, RunSource};
use kfp_client::{
    ApiError, Client, Config, PipelineFile, RetryPolicy, Token, Uploaded, endpoints,
    upload_or_create_version,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::FakeKfp;

const TOKEN: &str = "tok-3f9a.secret";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn config(fake: &FakeKfp, token: Option<&str>) -> Config {
    let mut config = Config::new(&fake.endpoint).unwrap();
    config.token = token.map(|t| Token::new(t, "test").unwrap());
    config.retry = RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(4),
    };
    config
}

fn assert_clean(fake: &FakeKfp) {
    assert_eq!(fake.violations(), Vec::<String>::new());
    for request in fake.requests() {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{request:?}"
        );
    }
}

fn query_of(upload: &support::Upload) -> Vec<(&str, &str)> {
    upload
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn upload_creates_a_pipeline_then_a_version_with_multipart_uploadfile() {
    let fake = FakeKfp::start(Some(TOKEN));
    let config = config(&fake, Some(TOKEN));
    let file = data("train.yaml");

    let first = upload_or_create_version(&config, &file, None, Some("trains it")).unwrap();
    let Uploaded::Pipeline(pipeline) = first else {
        panic!("expected a new pipeline, got {first:?}")
    };
    assert_eq!(pipeline.display_name, "train-pipeline");

    let second = upload_or_create_version(&config, &file, None, None).unwrap();
    let Uploaded::Version(version) = second else {
        panic!("expected a new version, got {second:?}")
    };
    assert_eq!(version.pipeline_id, pipeline.pipeline_id);
    assert!(
        version.display_name.starts_with("train-pipeline-20"),
        "{}",
        version.display_name
    );

    let uploads = fake.uploads();
    assert_eq!(uploads.len(), 2);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(uploads[0].path, "/apis/v2beta1/pipelines/upload");
    assert_eq!(uploads[0].filename, "train.yaml");
    assert_eq!(uploads[0].content, bytes);
    assert_eq!(
        query_of(&uploads[0]),
        [
            ("name", "train-pipeline"),
            ("display_name", "train-pipeline"),
            ("description", "trains it")
        ]
    );
    assert_eq!(uploads[1].path, "/apis/v2beta1/pipelines/upload_version");
    assert_eq!(uploads[1].content, bytes);
    let version_query = query_of(&uploads[1]);
    assert_eq!(
        version_query[0],
        ("pipelineid", pipeline.pipeline_id.as_str())
    );
    assert_eq!(
        version_query.iter().map(|q| q.0).collect::<Vec<_>>(),
        ["pipelineid", "name", "display_name"]
    );
    assert_eq!(
        fake.request_lines(),
        [
            "GET /apis/v2beta1/pipelines",
            "POST /apis/v2beta1/pipelines/upload",
            "GET /apis/v2beta1/pipelines",
            "GET /apis/v2beta1/pipelines",
            "POST /apis/v2beta1/pipelines/upload_version"
        ]
    );
    assert_clean(&fake);
}

#[test]
fn duplicate_pipeline_name_is_a_conflict_with_the_server_message() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    let bytes = std::fs::read(data("train.yaml")).unwrap();
    endpoints::upload_pipeline(&client, "train.yaml", &bytes, "dup", None).unwrap();
    let err = endpoints::upload_pipeline(&client, "train.yaml", &bytes, "dup", None).unwrap_err();
    assert!(matches!(err, ApiError::Conflict { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "POST /apis/v2beta1/pipelines/upload: name already taken (409 Conflict): \
         Failed to create a pipeline and a pipeline version. The pipeline already exists."
    );
    assert_clean(&fake);
}

#[test]
fn run_from_file_types_parameters_creates_the_experiment_and_waits_for_success() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    let file = PipelineFile::read(&data("train.yaml")).unwrap();
    let arguments: Vec<String> = [
        "dataset=s3://b/d.csv",
        "epochs=5",
        "learning_rate=0.5",
        "shuffle=false",
        "layers=[8,4]",
        "options={\"seed\":1}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let request = RunRequest {
        experiment: "nightly",
        display_name: "train 1",
        source: RunSource::File(&file),
        arguments: &arguments,
    };
    let run = workflow::submit_run(&client, request).unwrap();
    assert_eq!(run.state, RuntimeState::Pending);
    assert_eq!(fake.experiment_names(), ["nightly"]);

    let body = &fake.run_bodies()[0];
    assert_eq!(body["display_name"], "train 1");
    assert_eq!(
        body["pipeline_spec"]["pipelineInfo"]["name"],
        "train-pipeline"
    );
    assert!(body.get("pipeline_version_reference").is_none());
    assert_eq!(
        body["runtime_config"]["parameters"],
        json!({"dataset": "s3://b/d.csv", "epochs": 5, "learning_rate": 0.5, "shuffle": false, "layers": [8, 4], "options": {"seed": 1}})
    );

    let done = workflow::wait_for_run(
        &client,
        &run.run_id,
        Duration::from_millis(1),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(done.state, RuntimeState::Succeeded);
    assert_eq!(
        fake.request_lines(),
        [
            "GET /apis/v2beta1/experiments",
            "POST /apis/v2beta1/experiments",
            "POST /apis/v2beta1/runs",
            &format!("GET /apis/v2beta1/runs/{}", run.run_id),
            &format!("GET /apis/v2beta1/runs/{}", run.run_id),
            &format!("GET /apis/v2beta1/runs/{}", run.run_id),
        ]
    );
    assert_clean(&fake);
}

#[test]
fn run_with_platform_document_sends_the_spec_pair() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    fake.add_experiment("gpu");
    let file = PipelineFile::read(&data("train_with_platform.yaml")).unwrap();
    let arguments = vec!["dataset=x".to_string()];
    let request = RunRequest {
        experiment: "gpu",
        display_name: "r",
        source: RunSource::File(&file),
        arguments: &arguments,
    };
    workflow::submit_run(&client, request).unwrap();
    let spec = &fake.run_bodies()[0]["pipeline_spec"];
    assert_eq!(
        spec["pipeline_spec"]["pipelineInfo"]["name"],
        "train-on-gpu"
    );
    assert_eq!(
        spec["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]["exec-train"]
            ["nodeSelector"]["labels"]["accelerator"],
        "nvidia-h100"
    );
    // The existing experiment is reused, not created again.
    assert_eq!(
        fake.request_lines(),
        ["GET /apis/v2beta1/experiments", "POST /apis/v2beta1/runs"]
    );
    assert_clean(&fake);
}

#[test]
fn run_of_an_uploaded_pipeline_uses_a_version_reference_typed_from_the_stored_spec() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    let spec = PipelineFile::read(&data("train.yaml"))
        .unwrap()
        .pipeline_spec;
    let (pipeline_id, version_id) = fake.add_pipeline("train", spec);
    let arguments = vec!["dataset=d".to_string(), "epochs=9".to_string()];
    let source = RunSource::Version {
        pipeline_id: pipeline_id.clone(),
        version_id: None,
    };
    workflow::submit_run(
        &client,
        RunRequest {
            experiment: "e",
            display_name: "r",
            source,
            arguments: &arguments,
        },
    )
    .unwrap();
    let body = &fake.run_bodies()[0];
    assert_eq!(
        body["pipeline_version_reference"],
        json!({"pipeline_id": pipeline_id, "pipeline_version_id": version_id})
    );
    assert!(body.get("pipeline_spec").is_none());
    assert_eq!(
        body["runtime_config"]["parameters"],
        json!({"dataset": "d", "epochs": 9})
    );
    let versions = fake
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/versions"))
        .unwrap();
    assert!(
        versions
            .query
            .contains(&("sort_by".to_string(), "created_at desc".to_string())),
        "{versions:?}"
    );
    assert_clean(&fake);
}

#[test]
fn bad_parameters_are_rejected_before_any_request() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    let file = PipelineFile::read(&data("train.yaml")).unwrap();
    let cases: [(&[&str], ParamError); 3] = [
        (
            &["dataset=d", "epochs=3.5"],
            ParamError::Invalid {
                name: "epochs".into(),
                kind: "NUMBER_INTEGER".into(),
                value: "3.5".into(),
                expected: "an integer",
            },
        ),
        (
            &["dataset=d", "epoch=3"],
            ParamError::Unknown {
                name: "epoch".into(),
                known: "dataset, epochs, learning_rate, shuffle, layers, options".into(),
            },
        ),
        (&["epochs=3"], ParamError::Missing("dataset".into())),
    ];
    for (args, expected) in cases {
        let arguments: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let request = RunRequest {
            experiment: "e",
            display_name: "r",
            source: RunSource::File(&file),
            arguments: &arguments,
        };
        match workflow::submit_run(&client, request) {
            Err(ClientError::Param(err)) => assert_eq!(err, expected),
            other => panic!("{args:?}: expected {expected}, got {other:?}"),
        }
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.request_lines());
}

#[test]
fn failed_run_and_wait_timeout_are_reported() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    fake.set_run_outcome("FAILED");
    let file = PipelineFile::read(&data("train_with_platform.yaml")).unwrap();
    let arguments = vec!["dataset=x".to_string()];
    let run = workflow::submit_run(
        &client,
        RunRequest {
            experiment: "e",
            display_name: "r",
            source: RunSource::File(&file),
            arguments: &arguments,
        },
    )
    .unwrap();
    let done = workflow::wait_for_run(
        &client,
        &run.run_id,
        Duration::from_millis(1),
        Duration::from_secs(10),
    )
    .unwrap();
    assert_eq!(done.state, RuntimeState::Failed);
    assert!(done.state.is_failure());
    assert_eq!(
        done.error.and_then(|e| e.message).as_deref(),
        Some("task train failed")
    );

    let second = workflow::submit_run(
        &client,
        RunRequest {
            experiment: "e",
            display_name: "r2",
            source: RunSource::File(&file),
            arguments: &arguments,
        },
    )
    .unwrap();
    let err = workflow::wait_for_run(
        &client,
        &second.run_id,
        Duration::from_millis(1),
        Duration::ZERO,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "run {} did not finish within 0 s (last state PENDING)",
            second.run_id
        )
    );
    assert_clean(&fake);
}

#[test]
fn server_error_classes_become_one_clear_line() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));

    let err = endpoints::get_run(&client, "nope").unwrap_err();
    assert_eq!(
        err.to_string(),
        "GET /apis/v2beta1/runs/nope: not found (404 Not Found): Run nope not found"
    );

    fake.fail_next(
        "POST",
        "/apis/v2beta1/experiments",
        400,
        r#"{"code":3,"message":"Invalid input error: display_name\nis too long"}"#,
        1,
    );
    let new = kfp_client::api::NewExperiment {
        display_name: "x".into(),
        description: None,
        namespace: None,
    };
    let err = endpoints::create_experiment(&client, &new).unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST /apis/v2beta1/experiments: rejected as invalid (400 Bad Request): Invalid input error: display_name is too long"
    );

    fake.fail_next(
        "GET",
        "/apis/v2beta1/experiments",
        403,
        r#"{"code":7,"message":"User is not authorized"}"#,
        1,
    );
    let err = endpoints::list_experiments(&client, &Default::default()).unwrap_err();
    assert!(
        matches!(err, ApiError::PermissionDenied { .. })
            && err.to_string().contains("User is not authorized"),
        "{err}"
    );

    let wrong = Client::new(config(&fake, Some("wrong-token-value")));
    let err = endpoints::list_pipelines(&wrong, &Default::default()).unwrap_err();
    assert!(matches!(err, ApiError::Unauthenticated { .. }), "{err}");
    assert!(
        !err.to_string().contains("wrong-token-value")
            && err.to_string().contains("--existing-token"),
        "{err}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn get_is_retried_after_503_but_post_is_not() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    fake.fail_next(
        "GET",
        "/apis/v2beta1/pipelines",
        503,
        r#"{"code":14,"message":"upstream connect error"}"#,
        2,
    );
    let listed = endpoints::list_pipelines(&client, &Default::default()).unwrap();
    assert!(listed.pipelines.is_empty());
    assert_eq!(fake.request_lines().len(), 3);

    fake.fail_next("GET", "/apis/v2beta1/pipelines", 503, "", 10);
    let err = endpoints::list_pipelines(&client, &Default::default()).unwrap_err();
    assert!(matches!(err, ApiError::Server { status: 503, .. }), "{err}");
    assert_eq!(fake.request_lines().len(), 3 + 4, "bounded to max_attempts");

    fake.add_experiment("e");
    fake.fail_next(
        "POST",
        "/apis/v2beta1/runs",
        503,
        r#"{"code":14,"message":"unavailable"}"#,
        1,
    );
    let file = PipelineFile::read(&data("train_with_platform.yaml")).unwrap();
    let arguments = vec!["dataset=x".to_string()];
    let err = workflow::submit_run(
        &client,
        RunRequest {
            experiment: "e",
            display_name: "r",
            source: RunSource::File(&file),
            arguments: &arguments,
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "POST /apis/v2beta1/runs: server error (HTTP 503): unavailable"
    );
    let posts = fake
        .request_lines()
        .iter()
        .filter(|l| *l == "POST /apis/v2beta1/runs")
        .count();
    assert_eq!(posts, 1, "a POST must not be retried");
    assert!(fake.run_bodies().is_empty());
}

#[test]
fn unreachable_server_is_a_transport_error_after_bounded_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = Config::new(&format!("http://127.0.0.1:{port}")).unwrap();
    config.token = Some(Token::new(TOKEN, "test").unwrap());
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };
    let err = endpoints::get_run(&Client::new(config), "r").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApiError::Transport { .. }), "{text}");
    assert!(
        text.contains("after 3 attempts") && !text.contains(TOKEN),
        "{text}"
    );
}

#[test]
fn a_token_echoed_by_the_server_is_redacted() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    fake.fail_next(
        "GET",
        "/apis/v2beta1/runs",
        401,
        &format!(r#"{{"code":16,"message":"token {TOKEN} expired"}}"#),
        1,
    );
    let err = endpoints::list_runs(&client, None, &Default::default()).unwrap_err();
    assert!(!err.to_string().contains(TOKEN), "{err}");
    assert!(
        err.to_string().contains("token <redacted> expired"),
        "{err}"
    );
}

#[test]
fn namespace_goes_to_uploads_lists_and_new_experiments() {
    let fake = FakeKfp::start(Some(TOKEN));
    fake.expect_namespace("team-a");
    let mut config = config(&fake, Some(TOKEN));
    config.namespace = Some("team-a".into());
    let client = Client::new(config.clone());
    upload_or_create_version(&config, &data("train.yaml"), Some("ns-pipe"), None).unwrap();
    let (experiment, created) = workflow::ensure_experiment(&client, "exp").unwrap();
    assert!(created);
    assert_eq!(experiment.namespace.as_deref(), Some("team-a"));
    endpoints::list_runs(
        &client,
        Some(&experiment.experiment_id),
        &Default::default(),
    )
    .unwrap();
    assert_clean(&fake);

    // The fake's namespace check can fail: a client without --namespace is caught.
    let bare = Client::new(config_without_namespace(&fake));
    assert!(matches!(
        endpoints::list_experiments(&bare, &Default::default()),
        Err(ApiError::BadRequest { .. })
    ));
    assert_eq!(fake.violations().len(), 1);
}

fn config_without_namespace(fake: &FakeKfp) -> Config {
    config(fake, Some(TOKEN))
}

#[test]
fn the_fake_rejects_a_malformed_run_body() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    let experiment_id = fake.add_experiment("e");
    let spec = PipelineFile::read(&data("train.yaml"))
        .unwrap()
        .pipeline_spec;
    let (pipeline_id, version_id) = fake.add_pipeline("p", spec.clone());
    let both = NewRun {
        display_name: "r".into(),
        experiment_id,
        description: None,
        pipeline_spec: Some(spec),
        pipeline_version_reference: Some(PipelineVersionReference {
            pipeline_id,
            pipeline_version_id: version_id,
        }),
        runtime_config: RuntimeConfig::default(),
        service_account: None,
    };
    let err = endpoints::create_run(&client, &both).unwrap_err();
    assert!(matches!(err, ApiError::BadRequest { .. }), "{err}");
    assert!(
        fake.violations()[0]
            .contains("exactly one of pipeline_spec and pipeline_version_reference"),
        "{:?}",
        fake.violations()
    );
}

#[test]
fn a_redirect_is_reported_not_followed() {
    let fake = FakeKfp::start(Some(TOKEN));
    let client = Client::new(config(&fake, Some(TOKEN)));
    fake.fail_next("GET", "/apis/v2beta1/runs/r1", 302, "<html>login</html>", 1);
    let err = endpoints::get_run(&client, "r1").unwrap_err();
    assert!(
        matches!(err, ApiError::Redirected { status: 302, .. }),
        "{err}"
    );
    assert_eq!(fake.request_lines(), ["GET /apis/v2beta1/runs/r1"]);
}

#[test]
fn https_endpoints_speak_tls_and_handshake_failures_are_not_retried() {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A plain-HTTP server: a TLS client must fail the handshake on its answer.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let mut config = Config::new(&format!("https://127.0.0.1:{port}")).unwrap();
    config.token = Some(Token::new(TOKEN, "test").unwrap());
    let err = endpoints::list_runs(&Client::new(config), None, &Default::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApiError::Transport { .. }), "{text}");
    assert!(
        !text.contains("attempts") && !text.contains(TOKEN),
        "{text}"
    );
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "a TLS failure is not retried"
    );
}
