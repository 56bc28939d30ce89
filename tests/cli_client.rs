//! The `kfp pipeline|run|experiment` commands against the fake KFP API server of
//! client/tests/support: exit codes, table and JSON output, and that the token never shows.

#[path = "../client/tests/support/mod.rs"]
mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::FakeKfp;

const TOKEN: &str = "cli-token-7d1e.secret";

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("client/tests/data")
        .join(name)
        .display()
        .to_string()
}

/// Runs `kfp` with a clean KFP/proxy environment plus `env`.
fn kfp(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kfp"));
    command.args(args);
    for var in [
        "KF_PIPELINES_ENDPOINT",
        "KF_PIPELINES_SA_TOKEN_PATH",
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run the kfp binary")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Checks the exit status and that the token appears nowhere in what the command printed.
fn expect(output: &Output, success: bool) {
    let (out, err) = (stdout(output), stderr(output));
    assert_eq!(
        output.status.success(),
        success,
        "status {:?}\nstdout:\n{out}\nstderr:\n{err}",
        output.status
    );
    assert!(
        !out.contains(TOKEN) && !err.contains(TOKEN),
        "token leaked:\nstdout:\n{out}\nstderr:\n{err}"
    );
}

fn with_token<'a>(fake: &'a FakeKfp, args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--endpoint", &fake.endpoint, "--existing-token", TOKEN]);
    all
}

fn token_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!("kfp-cli-client-token-{}", std::process::id()));
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    path
}

#[test]
fn pipeline_create_then_create_version_with_table_and_json_output() {
    let fake = FakeKfp::start(Some(TOKEN));
    let file = fixture("train.yaml");
    let created = kfp(
        &with_token(
            &fake,
            &["pipeline", "create", "--description", "demo", &file],
        ),
        &[],
    );
    expect(&created, true);
    let table = stdout(&created);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(
        lines[0].starts_with("PIPELINE ID") && lines[0].contains("NAME"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("pipeline-") && lines[1].contains("train-pipeline"),
        "{table}"
    );

    let version = kfp(
        &with_token(
            &fake,
            &[
                "pipeline",
                "create-version",
                "--pipeline-name",
                "train-pipeline",
                "--version",
                "v2",
                "-o",
                "json",
                &file,
            ],
        ),
        &[],
    );
    expect(&version, true);
    let json: Value = serde_json::from_str(&stdout(&version)).expect("JSON output");
    assert_eq!(json["display_name"], "v2");
    assert!(
        json["pipeline_version_id"]
            .as_str()
            .unwrap()
            .starts_with("version-")
    );
    assert_eq!(fake.version_count(), 2);

    let listed = kfp(&with_token(&fake, &["pipeline", "list", "-o", "json"]), &[]);
    expect(&listed, true);
    let json: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(json.as_array().map(Vec::len), Some(1));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn pipeline_name_conflict_is_one_line_with_a_hint() {
    let fake = FakeKfp::start(Some(TOKEN));
    let file = fixture("train.yaml");
    expect(
        &kfp(
            &with_token(&fake, &["pipeline", "create", "--name", "dup", &file]),
            &[],
        ),
        true,
    );
    let again = kfp(
        &with_token(&fake, &["pipeline", "create", "--name", "dup", &file]),
        &[],
    );
    expect(&again, false);
    let err = stderr(&again);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "error: POST /apis/v2beta1/pipelines/upload: name already taken (409 Conflict)"
        ),
        "{err}"
    );
    assert!(
        err.contains("kfp pipeline create-version --pipeline-name \"dup\""),
        "{err}"
    );
    assert!(stdout(&again).is_empty());
}

#[test]
fn run_create_waits_using_the_environment_for_endpoint_and_token() {
    let fake = FakeKfp::start(Some(TOKEN));
    let token_path = token_file();
    let env = [
        ("KF_PIPELINES_ENDPOINT", fake.endpoint.as_str()),
        ("KF_PIPELINES_SA_TOKEN_PATH", token_path.to_str().unwrap()),
    ];
    let file = fixture("train.yaml");
    let args = [
        "run",
        "create",
        "-e",
        "nightly",
        "-r",
        "first",
        "--wait",
        "--poll-interval",
        "0.01",
        "-o",
        "json",
        &file,
        "dataset=s3://d",
        "epochs=4",
        "shuffle=true",
    ];
    let output = kfp(&args, &env);
    expect(&output, true);
    let run: Value = serde_json::from_str(&stdout(&output)).expect("JSON output");
    assert_eq!(run["state"], "SUCCEEDED");
    assert_eq!(run["display_name"], "first");
    let body = &fake.run_bodies()[0];
    assert_eq!(
        body["runtime_config"]["parameters"],
        serde_json::json!({"dataset": "s3://d", "epochs": 4, "shuffle": true})
    );
    assert_eq!(fake.experiment_names(), ["nightly"]);
    for request in fake.requests() {
        assert_eq!(request.authorization, Some(format!("Bearer {TOKEN}")));
    }

    let listed = kfp(&["run", "list"], &env);
    expect(&listed, true);
    let table = stdout(&listed);
    assert!(
        table.starts_with("RUN ID") && table.contains("first") && table.contains("SUCCEEDED"),
        "{table}"
    );
    std::fs::remove_file(token_path).unwrap();
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn a_failed_run_exits_non_zero_after_waiting() {
    let fake = FakeKfp::start(Some(TOKEN));
    fake.set_run_outcome("FAILED");
    let file = fixture("train_with_platform.yaml");
    let output = kfp(
        &with_token(
            &fake,
            &[
                "run",
                "create",
                "-e",
                "e",
                "--timeout",
                "30",
                "--poll-interval",
                "0.01",
                &file,
                "dataset=x",
            ],
        ),
        &[],
    );
    expect(&output, false);
    assert!(stdout(&output).contains("FAILED"), "{}", stdout(&output));
    let err = stderr(&output);
    assert!(
        err.starts_with("error: run run-")
            && err
                .trim_end()
                .ends_with("finished FAILED: task train failed"),
        "{err}"
    );
    assert!(fake.run_bodies()[0]["pipeline_spec"]["platform_spec"].is_object());
}

#[test]
fn bad_parameters_fail_before_any_request() {
    let fake = FakeKfp::start(Some(TOKEN));
    let file = fixture("train.yaml");
    for (param, needle) in [
        (
            "epochs=3.5",
            "\"epochs\" (NUMBER_INTEGER): \"3.5\" is not an integer",
        ),
        ("epoch=3", "no parameter \"epoch\""),
        ("dataset", "unexpected argument \"dataset\""),
    ] {
        let output = kfp(
            &with_token(
                &fake,
                &["run", "create", "-e", "e", &file, "dataset=d", param],
            ),
            &[],
        );
        expect(&output, false);
        assert!(
            stderr(&output).contains(needle),
            "{param}: {}",
            stderr(&output)
        );
    }
    let missing = kfp(
        &with_token(&fake, &["run", "create", "-e", "e", &file]),
        &[],
    );
    expect(&missing, false);
    assert!(
        stderr(&missing).contains("missing required parameter(s): dataset"),
        "{}",
        stderr(&missing)
    );
    assert!(fake.requests().is_empty(), "{:?}", fake.request_lines());
}

#[test]
fn run_of_an_uploaded_pipeline_by_name() {
    let fake = FakeKfp::start(Some(TOKEN));
    let spec = kfp_client::PipelineFile::read(Path::new(&fixture("train.yaml")))
        .unwrap()
        .pipeline_spec;
    let (pipeline_id, version_id) = fake.add_pipeline("trainer", spec);
    let output = kfp(
        &with_token(
            &fake,
            &[
                "run",
                "create",
                "-e",
                "e",
                "--pipeline-name",
                "trainer",
                "dataset=d",
                "layers=[1,2]",
            ],
        ),
        &[],
    );
    expect(&output, true);
    let body = &fake.run_bodies()[0];
    assert_eq!(
        body["pipeline_version_reference"]["pipeline_id"],
        pipeline_id.as_str()
    );
    assert_eq!(
        body["pipeline_version_reference"]["pipeline_version_id"],
        version_id.as_str()
    );
    assert_eq!(
        body["runtime_config"]["parameters"]["layers"],
        serde_json::json!([1, 2])
    );
    assert!(stdout(&output).contains("PENDING"));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn experiments_are_created_and_listed_in_the_namespace() {
    let fake = FakeKfp::start(Some(TOKEN));
    fake.expect_namespace("team-a");
    let created = kfp(
        &with_token(
            &fake,
            &["experiment", "create", "--namespace", "team-a", "exp-1"],
        ),
        &[],
    );
    expect(&created, true);
    assert!(stdout(&created).contains("exp-1"));
    let listed = kfp(
        &with_token(
            &fake,
            &["experiment", "list", "--namespace", "team-a", "-o", "json"],
        ),
        &[],
    );
    expect(&listed, true);
    let json: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(json[0]["display_name"], "exp-1");
    let duplicate = kfp(
        &with_token(
            &fake,
            &["experiment", "create", "--namespace", "team-a", "exp-1"],
        ),
        &[],
    );
    expect(&duplicate, false);
    assert!(
        stderr(&duplicate).contains("409 Conflict"),
        "{}",
        stderr(&duplicate)
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn connection_errors_are_clear_and_token_free() {
    let fake = FakeKfp::start(Some(TOKEN));
    let none = kfp(&["run", "list"], &[]);
    expect(&none, false);
    assert_eq!(
        stderr(&none).trim_end(),
        "error: no KFP endpoint: pass --endpoint or set KF_PIPELINES_ENDPOINT"
    );

    let wrong = kfp(
        &[
            "run",
            "get",
            "run-1",
            "--endpoint",
            &fake.endpoint,
            "--existing-token",
            "not-the-token",
        ],
        &[],
    );
    expect(&wrong, false);
    let err = stderr(&wrong);
    assert!(
        err.contains("401 Unauthorized") && !err.contains("not-the-token"),
        "{err}"
    );

    let missing = kfp(&with_token(&fake, &["run", "get", "run-404"]), &[]);
    expect(&missing, false);
    assert_eq!(
        stderr(&missing).trim_end(),
        "error: GET /apis/v2beta1/runs/run-404: not found (404 Not Found): Run run-404 not found"
    );

    let unreadable = kfp(
        &["run", "list"],
        &[
            ("KF_PIPELINES_ENDPOINT", &fake.endpoint),
            ("KF_PIPELINES_SA_TOKEN_PATH", "/nonexistent/kfp/token"),
        ],
    );
    expect(&unreadable, false);
    assert!(
        stderr(&unreadable).contains("cannot read the KFP token file /nonexistent/kfp/token"),
        "{}",
        stderr(&unreadable)
    );
}
