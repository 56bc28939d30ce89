//! Trainer throughput against PyTorch 2.13, side by side in one invocation:
//! MLP 784-512-512-10, Adam, batch 256 per process; 1 process x 1 and 2 threads, and 2-process
//! Gloo DDP x 1 thread. The two sides run alternately (the machine is shared), `--reps` times
//! (default 3), and the medians are compared. Also checks that DDP ranks end bitwise identical
//! and reports DDP scaling efficiency (2-process rate / twice the 1-thread rate).
//!
//!     LIBTORCH=$(scripts/setup-libtorch.sh) cargo bench -p kfp-runtime --features torch --bench trainer
//!
//! The PyTorch side (benches/torch_peer.py) needs the full torch wheel set; the bench installs it
//! into <repo>/.cache/torch-venv on first use (scripts/setup-libtorch.sh --cuda, ~2.7 GB).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kfp_runtime::train::*;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

const BATCH: usize = 256;
/// Batches of data per rank; one epoch is this many steps.
const CHUNKS: usize = 16;
/// Epoch 0 (16 steps) warms up; 13 timed epochs are 208 steps (PyTorch side: 10 + 200).
const EPOCHS: usize = 14;

fn mlp(p: &nn::Path) -> impl Module + use<> {
    nn::seq()
        .add(nn::linear(p / "l1", 784, 512, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(p / "l2", 512, 512, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(p / "l3", 512, 10, Default::default()))
}

fn synthetic(samples: usize) -> Data {
    tch::manual_seed(0);
    let x = Tensor::randn([samples as i64, 784], (Kind::Float, Device::Cpu));
    let y = x.matmul(&Tensor::randn([784, 10], (Kind::Float, Device::Cpu))).argmax(-1, false);
    Data { train: Dataset::new(x, y).expect("same length"), val: None }
}

/// Trains and returns (samples/s over the timed epochs, the fitted var store).
fn train(threads: usize, world_size: usize) -> (f64, nn::VarStore) {
    let config = TrainConfig {
        epochs: EPOCHS,
        batch_size: BATCH,
        lr: 1e-3,
        optimizer: OptimizerKind::adam(),
        threads: Some(threads),
        progress: false,
        ..TrainConfig::default()
    };
    let ends = Arc::new(Mutex::new(Vec::new()));
    let log = ends.clone();
    let fitted = Trainer::new(config)
        .on_epoch_end(move |_| {
            log.lock().expect("lock").push(Instant::now());
            Control::Continue
        })
        .fit(mlp, &synthetic(BATCH * CHUNKS * world_size))
        .expect("training succeeds");
    let ends = ends.lock().expect("lock");
    let timed_samples = (EPOCHS - 1) * CHUNKS * BATCH * world_size;
    let rate = match (ends.first(), ends.last()) {
        (Some(first), Some(last)) if ends.len() == EPOCHS => timed_samples as f64 / last.duration_since(*first).as_secs_f64(),
        _ => f64::NAN, // only rank 0 runs the hook
    };
    (rate, fitted.vs)
}

fn ddp_worker() {
    let out = PathBuf::from(std::env::var("KFP_BENCH_OUT").expect("launcher sets KFP_BENCH_OUT"));
    let (rate, vs) = train(1, 2);
    let rank = std::env::var("RANK").expect("worker");
    let mut named: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Tensor::write_safetensors(&named, out.join(format!("rank{rank}.safetensors"))).expect("write params");
    if rank == "0" {
        std::fs::write(out.join("rate"), rate.to_string()).expect("write rate");
    }
}

fn rust_ddp(out: &Path) -> (f64, bool) {
    let options = LaunchOptions {
        args: Some(vec!["--ddp-worker".into()]),
        threads_per_worker: Some(1),
        env: vec![("KFP_BENCH_OUT".into(), out.display().to_string())],
        ..LaunchOptions::new(2)
    };
    match launch(&options).expect("DDP workers succeed") {
        Launched::Finished(_) => {}
        Launched::Worker(_) => unreachable!("the bench process is no worker"),
    }
    let rate: f64 = std::fs::read_to_string(out.join("rate")).expect("rank 0 wrote its rate").parse().expect("a number");
    let load = |rank: usize| {
        let mut named = Tensor::read_safetensors(out.join(format!("rank{rank}.safetensors"))).expect("params");
        named.sort_by(|a, b| a.0.cmp(&b.0)); // the file's order is not preserved
        named
    };
    let (a, b) = (load(0), load(1));
    let identical = a.len() == b.len() && a.iter().zip(&b).all(|((n, x), (m, y))| n == m && x.equal(y));
    (rate, identical)
}

fn peer(python: &Path, script: &Path, ddp: bool, threads: usize) -> (f64, bool) {
    let mut command = Command::new(python);
    if ddp {
        let port = kfp_runtime::train::launcher::free_port().expect("a free port");
        command.args(["-m", "torch.distributed.run", "--nproc_per_node=2", &format!("--master_port={port}")]);
    }
    command.arg(script).arg(if ddp { "ddp" } else { "single" }).arg(format!("--threads={threads}"));
    let output = command.output().expect("run the PyTorch peer");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "PyTorch peer failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    // Ranks share the pipe: split on the marker rather than on lines.
    let lines: Vec<&str> = stdout.split("PEER ").skip(1).collect();
    let field = |line: &str, key: &str| -> String {
        line.lines().next().unwrap_or_default().split_whitespace().find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_owned)).unwrap_or_default()
    };
    let rank0 = lines
        .iter()
        .find(|l| field(l, "rank") == "0")
        .unwrap_or_else(|| panic!("the PyTorch peer printed no rank-0 result:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr)));
    let rate: f64 = field(rank0, "samples_per_s").parse().expect("a rate");
    (rate, lines.iter().all(|l| field(l, "identical") == "True"))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--ddp-worker") {
        return ddp_worker();
    }
    let reps: usize = std::env::args()
        .skip_while(|a| a != "--reps")
        .nth(1)
        .map(|v| v.parse().expect("--reps takes a number"))
        .unwrap_or(3);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("runtime/ is in the repo").to_path_buf();
    let setup = Command::new(repo.join("scripts/setup-libtorch.sh")).arg("--cuda").status().expect("run setup-libtorch.sh");
    assert!(setup.success(), "scripts/setup-libtorch.sh --cuda failed");
    let python = repo.join(".cache/torch-venv/bin/python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/torch_peer.py");
    let out = std::env::temp_dir().join(format!("kfp-trainer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("scratch dir");

    let configs = ["1 process x 1 thread", "1 process x 2 threads", "2 processes x 1 thread (Gloo DDP)"];
    let mut rust: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut torch: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let (mut rust_identical, mut torch_identical) = (true, true);
    for rep in 0..reps {
        for (i, config) in configs.iter().enumerate() {
            let (r, same) = match i {
                0 => (train(1, 1).0, true),
                1 => (train(2, 1).0, true),
                _ => rust_ddp(&out),
            };
            rust_identical &= same;
            let (t, same) = peer(&python, &script, i == 2, if i == 1 { 2 } else { 1 });
            torch_identical &= same;
            eprintln!("rep {}/{reps} {config}: kfp-rs {r:.0} samples/s, PyTorch {t:.0} samples/s", rep + 1);
            rust[i].push(r);
            torch[i].push(t);
        }
    }
    let _ = std::fs::remove_dir_all(&out);

    println!("\nMLP 784-512-512-10, Adam, batch {BATCH}/process, median of {reps} (samples/s)\n");
    println!("| config | kfp-rs trainer | PyTorch 2.13 | ratio |");
    println!("|---|---|---|---|");
    let medians: Vec<(f64, f64)> = (0..3).map(|i| (median(rust[i].clone()), median(torch[i].clone()))).collect();
    for (config, (r, t)) in configs.iter().zip(&medians) {
        println!("| {config} | {r:.0} | {t:.0} | {:.2} |", r / t);
    }
    let efficiency = |(single, ddp): (f64, f64)| ddp / (2.0 * single);
    println!(
        "\nDDP scaling efficiency (2 x 1-thread processes vs 2 x one 1-thread process): kfp-rs {:.0}%, PyTorch {:.0}%",
        100.0 * efficiency((medians[0].0, medians[2].0)),
        100.0 * efficiency((medians[0].1, medians[2].1))
    );
    println!("DDP ranks bitwise identical at the end: kfp-rs {rust_identical}, PyTorch {torch_identical}");
}
