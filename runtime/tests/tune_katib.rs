//! Katib Experiments validate against Katib v0.19.0's OpenAPI schema (vendored in
//! schemas/vendor/katib), also with unknown fields rejected, and bad specs give clear errors.

use kfp_runtime::tune::katib::*;
use kfp_runtime::tune::*;
use serde_json::Value;

fn schema(strict: bool) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/vendor/katib/experiment_schema.json");
    let mut vendored: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    if strict {
        forbid_unknown_fields(&mut vendored);
    }
    serde_json::json!({"$ref": "#/components/schemas/v1beta1.Experiment", "components": vendored["components"]})
}

/// What `kubectl --validate=strict` does: a field the schema does not list is an error.
fn forbid_unknown_fields(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(forbid_unknown_fields);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_unknown_fields),
        _ => {}
    }
}

fn errors(strict: bool, doc: &Value) -> Vec<String> {
    let validator = jsonschema::draft4::new(&schema(strict)).unwrap();
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

fn mlp_space() -> SearchSpace {
    parse_search_space(
        r#"{
        "lr": {"name": "FloatDistribution", "attributes": {"low": 1e-05, "high": 0.01, "log": true, "step": null}},
        "batch_size": {"name": "CategoricalDistribution", "attributes": {"choices": [16, 32, 64]}},
        "hidden_size": {"name": "IntDistribution", "attributes": {"low": 64, "high": 512, "step": 64, "log": false}},
        "epochs": {"name": "IntDistribution", "attributes": {"low": 1, "high": 27, "step": 1, "log": false}},
        "dropout": {"name": "FloatDistribution", "attributes": {"low": 0.0, "high": 0.5, "log": false, "step": null}}
    }"#,
    )
    .unwrap()
}

fn spec(algorithm: KatibAlgorithm) -> KatibSpec {
    KatibSpec {
        name: "mlp-tpe".into(),
        namespace: Some("kubeflow".into()),
        direction: Direction::Minimize,
        objective_metric: "val_loss".into(),
        goal: Some(0.1),
        algorithm,
        early_stopping: Some(MedianStop { min_trials_required: 3, start_step: 4 }),
        search_space: mlp_space(),
        parallel_trial_count: 9,
        max_trial_count: 100,
        max_failed_trial_count: 5,
        target: TrialTarget { image: "registry.local/train:1".into(), command: vec!["/app/train".into(), "--katib".into()], container_name: "trainer".into() },
    }
}

fn as_json(spec: &KatibSpec) -> Value {
    // Through YAML, as the file is written.
    let yaml = experiment_yaml(spec).unwrap();
    serde_saphyr::from_str(&yaml).unwrap()
}

#[test]
fn every_algorithm_gives_a_valid_experiment() {
    for algorithm in [
        KatibAlgorithm::MultivariateTpe { n_startup_trials: 10, n_ei_candidates: 24, seed: Some(1) },
        KatibAlgorithm::Tpe { n_startup_trials: 10, n_ei_candidates: 24, seed: None },
        KatibAlgorithm::Random { seed: Some(3) },
        KatibAlgorithm::Hyperband { resource_name: "epochs".into(), r_l: 9, eta: 3 },
    ] {
        let doc = as_json(&spec(algorithm.clone()));
        assert_eq!(errors(false, &doc), Vec::<String>::new(), "{algorithm:?}");
        assert_eq!(errors(true, &doc), Vec::<String>::new(), "{algorithm:?} (strict)");
    }
}

#[test]
fn the_experiment_carries_the_search_and_the_trial_command() {
    let doc = as_json(&spec(KatibAlgorithm::MultivariateTpe { n_startup_trials: 10, n_ei_candidates: 24, seed: Some(1) }));
    let s = &doc["spec"];
    assert_eq!(doc["apiVersion"], "kubeflow.org/v1beta1");
    assert_eq!(s["objective"]["type"], "minimize");
    assert_eq!(s["objective"]["objectiveMetricName"], "val_loss");
    assert_eq!(s["algorithm"]["algorithmName"], "multivariate-tpe");
    assert_eq!((s["parallelTrialCount"].as_u64(), s["maxTrialCount"].as_u64(), s["maxFailedTrialCount"].as_u64()), (Some(9), Some(100), Some(5)));
    assert_eq!(s["metricsCollectorSpec"]["collector"]["kind"], "StdOut");
    let lr = &s["parameters"][0];
    assert_eq!((lr["parameterType"].as_str(), lr["feasibleSpace"]["min"].as_str(), lr["feasibleSpace"]["distribution"].as_str()), (Some("double"), Some("1e-5"), Some("logUniform")));
    assert_eq!(s["parameters"][1]["feasibleSpace"]["list"], serde_json::json!(["16", "32", "64"]));
    assert_eq!(s["parameters"][2]["feasibleSpace"]["step"], "64");
    let command: Vec<&str> = s["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0]["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(command[..3], ["/app/train", "--katib", "--lr=${trialParameters.lr}"]);
    assert_eq!(s["trialTemplate"]["primaryContainerName"], "trainer");
    assert_eq!(s["earlyStopping"]["algorithmName"], "medianstop");

    // The trial binary reads the arguments back, and prints its metric in StdOut format.
    let args: Vec<String> = ["--lr=0.001", "--batch_size=32", "--hidden_size=320", "--epochs=27", "--dropout=0.25"].map(String::from).to_vec();
    let values = parse_trial_args(&args, &mlp_space()).unwrap();
    assert_eq!(values["batch_size"], ParamValue::Int(32));
    assert_eq!(metric_line("val_loss", 0.125).unwrap(), "val_loss=0.125");
    assert!(metric_line("val_loss", f64::NAN).is_err());
    let err = parse_trial_args(&args[..2], &mlp_space()).unwrap_err().to_string();
    assert!(err.contains("--hidden_size"), "{err}");
    assert!(parse_trial_args(&["--batch_size=33".into()], &mlp_space()).is_err());
}

#[test]
fn the_schema_check_catches_what_we_must_not_emit() {
    let mut doc = as_json(&spec(KatibAlgorithm::Random { seed: None }));
    doc["spec"]["parameters"][0]["feasibleSpace"]["min"] = serde_json::json!(0.01);
    assert!(errors(false, &doc).iter().any(|e| e.contains("feasibleSpace/min")), "numbers must be strings");
    let mut doc = as_json(&spec(KatibAlgorithm::Random { seed: None }));
    doc["spec"]["parallelTrialCount"] = serde_json::json!("two");
    assert!(!errors(false, &doc).is_empty());
    let mut doc = as_json(&spec(KatibAlgorithm::Random { seed: None }));
    doc["spec"]["paralelTrialCount"] = serde_json::json!(3);
    assert!(errors(false, &doc).is_empty() && !errors(true, &doc).is_empty(), "strict mode rejects typos");
}

#[test]
fn bad_specs_are_refused_with_the_reason() {
    let check = |mutate: &dyn Fn(&mut KatibSpec), needle: &str| {
        let mut s = spec(KatibAlgorithm::Random { seed: None });
        mutate(&mut s);
        let err = experiment(&s).unwrap_err().to_string();
        assert!(err.contains(needle), "{err} lacks {needle}");
    };
    check(&|s| s.name = "MLP_tpe".into(), "DNS label");
    check(&|s| s.parallel_trial_count = 0, "parallelTrialCount");
    check(&|s| s.algorithm = KatibAlgorithm::Hyperband { resource_name: "steps".into(), r_l: 27, eta: 3 }, "`steps`");
    check(&|s| {
        s.algorithm = KatibAlgorithm::Hyperband { resource_name: "epochs".into(), r_l: 27, eta: 3 };
        s.parallel_trial_count = 3;
    }, "needs parallelTrialCount >= 27");
    check(&|s| s.algorithm = KatibAlgorithm::Grid, "grid search needs a step");
    check(&|s| s.objective_metric = "val loss".into(), "StdOut name pattern");
    check(&|s| s.target.command.clear(), "command");
}
