//! The flagship end to end with tiny settings: every step's artifacts, metadata and metric
//! ranges, the gated registration, and the Katib side (Experiment file and one trial).
#![cfg(feature = "torch")]

use kfp::app::{CompileArgs, compile_all};
use kfp::runtime::local::{BinaryMap, LocalRunner, RunOptions, load_pipeline, parse_arguments};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kfp-flagship-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn metadata(run: &Path, task: &str, artifact: &str) -> Value {
    json(&run.join(task).join("output_metadata.json"))["artifacts"][artifact]["artifacts"][0]["metadata"].clone()
}

#[test]
fn the_flagship_runs_end_to_end_and_registers_its_model() {
    let dir = scratch("run");
    let args = CompileArgs {
        out: dir.join("compiled"),
        pipelines: vec!["wine-quality".into()],
        list: false,
        check: false,
        disable_caching: false,
    };
    compile_all(kfp_examples::PIPELINES, &args).unwrap();
    let spec = load_pipeline(&dir.join("compiled/wine-quality.yaml")).unwrap();
    let registry = dir.join("registry");
    let arguments = ["n_trials=2".to_owned(), "accuracy_threshold=0.0".to_owned(), format!("registry={}", registry.display())];
    let mut options = RunOptions::new(dir.join("root"));
    options.arguments = parse_arguments(&spec.root.input_definitions, &arguments).unwrap();
    options.binaries = BinaryMap::parse(&[env!("CARGO_BIN_EXE_compile").to_owned()]).unwrap();
    options.run_id = Some("e2e".into());
    options.quiet = true;
    let summary = LocalRunner::new(spec, options).run().unwrap_or_else(|e| panic!("{e}"));
    let run = summary.run_dir;

    let dataset = metadata(&run, "load-dataset", "dataset");
    assert_eq!((dataset["rows"].as_f64(), dataset["columns"].as_f64()), (Some(1599.0), Some(12.0)));
    let split: Vec<usize> = ["train", "validation", "test"]
        .iter()
        .map(|name| read(&run.join("preprocess/artifacts").join(name)).lines().count() - 1)
        .collect();
    assert_eq!(split, [959, 320, 320]);
    let scaler = json(&run.join("preprocess/artifacts/scaler"));
    assert_eq!(scaler["mean"].as_array().map(Vec::len), Some(11));

    let lr: f64 = read(&run.join("tune-model/outputs/lr")).parse().unwrap();
    assert!((1e-4..=3e-2).contains(&lr), "lr {lr}");
    let batch: i64 = read(&run.join("tune-model/outputs/batch_size")).trim().parse().unwrap();
    assert!([32, 64, 128].contains(&batch));
    let hidden: i64 = read(&run.join("tune-model/outputs/hidden_size")).trim().parse().unwrap();
    assert!((16..=128).contains(&hidden) && hidden % 16 == 0);
    assert_eq!(json(&run.join("tune-model/artifacts/history")).as_array().map(Vec::len), Some(2));

    let model = run.join("train-model/artifacts/model");
    assert!(model.join("weights.safetensors").is_file() && model.join("shape.json").is_file());
    let kept = std::fs::read_dir(model.join("checkpoints")).unwrap().filter_map(|e| e.ok()).count();
    assert!((2..=4).contains(&kept), "top-3 checkpoints plus last, got {kept}");
    let card = &metadata(&run, "train-model", "model")["model_card"];
    assert_eq!(card["params"]["batch_size"].as_i64(), Some(batch));
    let best_val_loss = metadata(&run, "train-model", "metrics")["best_val_loss"].as_f64().unwrap();
    assert!(best_val_loss > 0.0 && best_val_loss < 1.0, "{best_val_loss}");

    let scores = metadata(&run, "evaluate-model", "metrics");
    let accuracy = scores["accuracy"].as_f64().unwrap();
    assert!((0.6..=1.0).contains(&accuracy), "accuracy {accuracy}");
    assert!((0.5..=1.0).contains(&scores["roc_auc"].as_f64().unwrap()));
    let classification = metadata(&run, "evaluate-model", "classification");
    let counted: f64 = classification["confusionMatrix"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["row"].as_array().unwrap().iter().map(|n| n.as_f64().unwrap()))
        .sum();
    assert_eq!(counted, 320.0);
    assert!(classification["confidenceMetrics"].as_array().is_some_and(|points| points.len() > 2));
    let report = read(&run.join("evaluate-model/artifacts/report"));
    assert!(report.matches("<svg").count() == 2 && report.contains("train_loss") && report.contains("best so far"));

    let version = registry.join("wine-quality/v1");
    let card = json(&version.join("card.json"));
    assert_eq!(card["metrics"]["test_accuracy"].as_f64(), Some(accuracy));
    assert_eq!(card["lineage"]["pipeline_run"], "e2e");
    assert_eq!(card["lineage"]["data_source"], kfp_examples::flagship::BUILTIN_WINE);
    assert!(version.join("model/weights.safetensors").is_file());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_katib_experiment_and_one_trial_run_from_the_same_binary() {
    let dir = scratch("katib");
    let compile = Command::new(env!("CARGO_BIN_EXE_compile")).arg("--out").arg(&dir).output().unwrap();
    assert!(compile.status.success(), "{}", String::from_utf8_lossy(&compile.stderr));
    let experiment: Value = kfp::compiler::compile::yaml_documents(&read(&dir.join("wine-quality-tuning.katib.yaml")))
        .unwrap()
        .remove(0);
    assert_eq!(experiment["kind"], "Experiment");
    assert_eq!(experiment["spec"]["objective"]["objectiveMetricName"], "val_loss");
    let names: Vec<&str> =
        experiment["spec"]["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["lr", "batch_size", "hidden_size", "dropout"]);

    let trial = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_compile")).args(["--katib-trial", "wine-quality-tuning"]).args(args).output().unwrap()
    };
    let ok = trial(&["--lr=0.003", "--batch_size=64", "--hidden_size=32", "--dropout=0.1"]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    let value: f64 = stdout.trim().strip_prefix("val_loss=").unwrap_or_else(|| panic!("{stdout}")).parse().unwrap();
    assert!(value > 0.0 && value < 1.0, "{value}");
    let bad = trial(&["--lr=abc", "--batch_size=64", "--hidden_size=32", "--dropout=0.1"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--lr=abc"));
    std::fs::remove_dir_all(dir).unwrap();
}
