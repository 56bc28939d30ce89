//! The trainer end to end on CPU: Gloo DDP with 2 processes on loopback, gradient accumulation,
//! checkpoints, resume and the callbacks. Multi-process tests re-execute this test binary
//! filtered to the same test; the child knows it is a worker from `RANK` (set by the launcher or
//! the test) and trains, the parent checks what the workers wrote.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kfp_runtime::train::*;
use tch::nn::{self, Module};
use tch::{Kind, Tensor};

/// torch's seed and thread count are process-global: in-process runs take turns.
static IN_PROCESS: Mutex<()> = Mutex::new(());

fn in_process<T>(f: impl FnOnce() -> T) -> T {
    let _guard = IN_PROCESS.lock().unwrap_or_else(|p| p.into_inner());
    f()
}

fn mlp(p: &nn::Path) -> impl Module + use<> {
    nn::seq()
        .add(nn::linear(p / "l1", 8, 16, Default::default()))
        .add_fn(|x| x.relu())
        .add(nn::linear(p / "l2", 16, 3, Default::default()))
}

fn mlp_with_dropout(p: &nn::Path) -> impl nn::ModuleT + use<> {
    nn::seq_t()
        .add(nn::linear(p / "l1", 8, 32, Default::default()))
        .add_fn(|x| x.relu())
        .add_fn_t(|x, train| x.dropout(0.2, train))
        .add(nn::linear(p / "l2", 32, 3, Default::default()))
}

/// A learnable 3-class problem: labels from a fixed random linear teacher.
fn data(n: i64, seed: i64) -> Data {
    tch::manual_seed(seed);
    let make = |n: i64| {
        let x = Tensor::randn([n, 8], (Kind::Float, tch::Device::Cpu));
        let teacher = Tensor::ones([8, 3], (Kind::Float, tch::Device::Cpu)).cumsum(0, Kind::Float).sin();
        let y = x.matmul(&teacher).argmax(-1, false);
        Dataset::new(x, y).unwrap()
    };
    Data { train: make(n), val: Some(make(n / 2)) }
}

fn base_config() -> TrainConfig {
    TrainConfig {
        epochs: 3,
        batch_size: 8,
        lr: 0.05,
        optimizer: OptimizerKind::sgd(0.9),
        seed: 11,
        threads: Some(1),
        progress: false,
        dist_timeout: Duration::from_secs(20),
        ..TrainConfig::default()
    }
}

fn params(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut named: Vec<_> = vs.variables().into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

fn max_abs_diff(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|((na, ta), (nb, tb))| {
            assert_eq!(na, nb);
            (ta - tb).abs().max().double_value(&[])
        })
        .fold(0.0, f64::max)
}

fn bitwise_equal(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((na, ta), (nb, tb))| na == nb && ta.equal(tb))
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("train-tests").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Arguments that make this test binary run exactly one test in a child process.
fn only(test: &str) -> Vec<std::ffi::OsString> {
    [test, "--exact", "--nocapture", "--test-threads=1"].iter().map(Into::into).collect()
}

fn is_worker() -> bool {
    std::env::var_os("RANK").is_some()
}

fn out_dir() -> PathBuf {
    PathBuf::from(std::env::var("KFP_TEST_OUT").expect("the parent sets KFP_TEST_OUT"))
}

fn save_params(vs: &nn::VarStore, path: &Path) {
    let named = params(vs);
    Tensor::write_safetensors(&named, path).unwrap();
}

fn load_params(path: &Path) -> Vec<(String, Tensor)> {
    let mut named = Tensor::read_safetensors(path).unwrap();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

#[test]
fn ddp_two_ranks_are_bitwise_identical_and_match_one_process_with_twice_the_batch() {
    const TEST: &str = "ddp_two_ranks_are_bitwise_identical_and_match_one_process_with_twice_the_batch";
    let config = TrainConfig { accumulate_grad_batches: 2, ..base_config() };
    if is_worker() {
        let fitted = Trainer::new(config).fit(mlp, &data(96, 1)).unwrap();
        let out = out_dir();
        save_params(&fitted.vs, &out.join(format!("rank{}.safetensors", fitted.report.rank)));
        std::fs::write(out.join(format!("rank{}.json", fitted.report.rank)), format!("{:?}", fitted.report.metrics))
            .unwrap();
        return;
    }
    let out = scratch("ddp");
    let options = LaunchOptions {
        args: Some(only(TEST)),
        env: vec![("KFP_TEST_OUT".into(), out.display().to_string())],
        ..LaunchOptions::new(2)
    };
    let Launched::Finished(report) = launch(&options).unwrap() else { panic!("the test process is no worker") };
    assert_eq!(report.workers, 2);
    let rank0 = load_params(&out.join("rank0.safetensors"));
    let rank1 = load_params(&out.join("rank1.safetensors"));
    assert!(bitwise_equal(&rank0, &rank1), "ranks diverged: max diff {}", max_abs_diff(&rank0, &rank1));
    // Every rank reports the same (reduced) metrics.
    assert_eq!(std::fs::read(out.join("rank0.json")).unwrap(), std::fs::read(out.join("rank1.json")).unwrap());

    let single = in_process(|| {
        let config = TrainConfig { batch_size: 16, ..config.clone() };
        Trainer::new(config).fit(mlp, &data(96, 1)).unwrap()
    });
    let single = params(&single.vs);
    let diff = max_abs_diff(&rank0, &single);
    assert!(diff < 1e-5, "2 ranks x B differ from 1 process x 2B by {diff}");
    // The runs did move the weights: the comparison is not between two initialisations.
    let init = in_process(|| {
        let fitted = Trainer::new(TrainConfig { epochs: 1, lr: 0.0, ..base_config() }).fit(mlp, &data(96, 1)).unwrap();
        params(&fitted.vs)
    });
    assert!(max_abs_diff(&init, &single) > 1e-2);
}

#[test]
fn accumulating_k_micro_batches_of_b_over_k_equals_batch_b() {
    in_process(|| {
        let run = |batch_size, accumulate_grad_batches| {
            let config = TrainConfig { batch_size, accumulate_grad_batches, ..base_config() };
            params(&Trainer::new(config).fit(mlp, &data(64, 2)).unwrap().vs)
        };
        let whole = run(16, 1);
        let accumulated = run(4, 4);
        let diff = max_abs_diff(&whole, &accumulated);
        assert!(diff < 1e-5, "accumulation differs by {diff}");
        let smaller_steps = run(4, 1);
        assert!(max_abs_diff(&whole, &smaller_steps) > 1e-3, "batch size had no effect: the check is vacuous");
    });
}

/// Starts the 2 workers by hand (not through `launch`, which would terminate the survivor).
fn spawn_pair(test: &str, out: &Path, extra: &[(&str, &str)]) -> Vec<std::process::Child> {
    let port = kfp_runtime::train::launcher::free_port().unwrap().to_string();
    (0..2)
        .map(|rank| {
            Command::new(std::env::current_exe().unwrap())
                .args(only(test))
                .env("RANK", rank.to_string())
                .env("WORLD_SIZE", "2")
                .env("LOCAL_RANK", rank.to_string())
                .env("LOCAL_WORLD_SIZE", "2")
                .env("MASTER_ADDR", "127.0.0.1")
                .env("MASTER_PORT", &port)
                .env("KFP_TEST_OUT", out)
                .envs(extra.iter().copied())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect()
}

fn wait_with_deadline(child: &mut std::process::Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Rank 1 dies (abort) or hangs (sleeps) in its 5th training step; rank 0 must fail by itself.
fn failing_peer_worker() {
    let mode = std::env::var("KFP_TEST_PEER").unwrap();
    let rank: usize = std::env::var("RANK").unwrap().parse().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let loss = Loss::Custom(Arc::new(move |out: &Tensor, y: &Tensor| {
        if rank == 1 && calls.fetch_add(1, Ordering::SeqCst) == 4 {
            match mode.as_str() {
                "die" => std::process::abort(),
                _ => std::thread::sleep(Duration::from_secs(600)),
            }
        }
        out.cross_entropy_for_logits(y)
    }));
    let config = TrainConfig { epochs: 50, dist_timeout: Duration::from_secs(3), ..base_config() };
    let result = Trainer::new(config).loss(loss).fit(mlp, &data(64, 3));
    let error = result.err().expect("training cannot succeed without the peer");
    eprintln!("SURVIVOR ERROR: {error}");
    std::process::exit(7);
}

fn check_survivor(test: &str, mode: &str, within: Duration) {
    let out = scratch(test);
    let started = Instant::now();
    let mut children = spawn_pair(test, &out, &[("KFP_TEST_PEER", mode)]);
    let status0 = wait_with_deadline(&mut children[0], started + within);
    let elapsed = started.elapsed();
    let _ = children[1].kill();
    let _ = children[1].wait();
    let mut stderr = String::new();
    std::io::Read::read_to_string(children[0].stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status0 = status0.unwrap_or_else(|| panic!("rank 0 still running after {within:?} (peer {mode}); stderr:\n{stderr}"));
    assert_eq!(status0.code(), Some(7), "rank 0 should report the failure itself; stderr:\n{stderr}");
    assert!(stderr.contains("SURVIVOR ERROR: c10d"), "{stderr}");
    eprintln!("peer {mode}: rank 0 failed after {elapsed:?}: {}", stderr.lines().find(|l| l.contains("SURVIVOR")).unwrap_or_default());
}

#[test]
fn a_rank_killed_mid_epoch_makes_the_other_fail_within_the_timeout() {
    if is_worker() {
        failing_peer_worker();
    }
    // Startup plus the 3 s timeout at most; a dead peer is normally noticed at once.
    check_survivor("a_rank_killed_mid_epoch_makes_the_other_fail_within_the_timeout", "die", Duration::from_secs(15));
}

#[test]
fn a_hung_rank_makes_the_other_fail_after_the_timeout() {
    if is_worker() {
        failing_peer_worker();
    }
    check_survivor("a_hung_rank_makes_the_other_fail_after_the_timeout", "hang", Duration::from_secs(15));
}

#[test]
fn the_launcher_fails_the_job_with_the_failing_rank_and_its_last_lines() {
    const TEST: &str = "the_launcher_fails_the_job_with_the_failing_rank_and_its_last_lines";
    if is_worker() {
        if std::env::var("RANK").unwrap() == "1" {
            eprintln!("rank 1 gives up: bad shard");
            std::process::exit(3);
        }
        // Rank 0 waits at the rendezvous for a peer that never comes; the launcher ends it.
        let config = TrainConfig { dist_timeout: Duration::from_secs(60), ..base_config() };
        let _ = Trainer::new(config).fit(mlp, &data(16, 4));
        std::process::exit(0);
    }
    let options = LaunchOptions { args: Some(only(TEST)), ..LaunchOptions::new(2) };
    let started = Instant::now();
    let error = launch(&options).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(30));
    match error {
        LaunchError::WorkerFailed { rank, status, exit_code, tail } => {
            assert_eq!((rank, status.as_str(), exit_code), (1, "exit code 3", 3));
            assert!(tail.contains("rank 1 gives up: bad shard"), "{tail}");
        }
        other => panic!("expected WorkerFailed, got {other}"),
    }
}

#[test]
fn a_run_killed_in_epoch_3_and_resumed_ends_bitwise_identical_to_an_uninterrupted_run() {
    const TEST: &str = "a_run_killed_in_epoch_3_and_resumed_ends_bitwise_identical_to_an_uninterrupted_run";
    let config = |dir: &Path| TrainConfig {
        epochs: 4,
        optimizer: OptimizerKind::adamw(),
        weight_decay: 0.01,
        lr: 0.01,
        schedule: LrSchedule::WarmupCosine { warmup_steps: 3, min_lr: 0.001 },
        gradient_clip_norm: Some(1.0),
        checkpoint: Some(ModelCheckpoint::new(dir)),
        ..base_config()
    };
    let steps_per_epoch = 64 / 8;
    if std::env::var_os("KFP_TEST_KILL_AFTER").is_some() {
        // The child: dies in the first step of epoch 3 (0-based 2), after epoch 2's checkpoint.
        let calls = Arc::new(AtomicUsize::new(0));
        let loss = Loss::Custom(Arc::new(move |out: &Tensor, y: &Tensor| {
            if calls.fetch_add(1, Ordering::SeqCst) == 2 * steps_per_epoch {
                std::process::abort();
            }
            out.cross_entropy_for_logits(y)
        }));
        let _ = Trainer::new(config(&out_dir())).loss(loss).fit(mlp_with_dropout, &data(64, 5));
        unreachable!("the run aborts in epoch 3");
    }
    let killed = scratch("resume-killed");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(only(TEST))
        .env("KFP_TEST_KILL_AFTER", "2")
        .env("KFP_TEST_OUT", &killed)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child run was meant to die");
    in_process(|| {
        let resumed = TrainConfig { resume_from: Some(killed.join("last.ckpt")), ..config(&killed) };
        let resumed = Trainer::new(resumed).fit(mlp_with_dropout, &data(64, 5)).unwrap();
        let straight = scratch("resume-straight");
        let straight = Trainer::new(config(&straight)).fit(mlp_with_dropout, &data(64, 5)).unwrap();
        assert_eq!(resumed.report.metrics.len(), 4);
        // Epochs 0-1 of the resumed history come from the killed run (its custom loss reports no
        // accuracy); losses, steps and learning rates must match to the bit.
        let losses = |report: &FitReport| -> Vec<(usize, usize, f64, Option<f64>, f64)> {
            report.metrics.iter().map(|m| (m.epoch, m.step, m.train_loss, m.val_loss, m.lr)).collect()
        };
        assert_eq!(losses(&resumed.report), losses(&straight.report));
        let (a, b) = (params(&resumed.vs), params(&straight.vs));
        assert!(bitwise_equal(&a, &b), "resumed run differs by {}", max_abs_diff(&a, &b));
    });
}

#[test]
fn checkpoint_top_k_keeps_exactly_the_k_best_and_last() {
    in_process(|| {
        let dir = scratch("topk");
        let mut checkpoint = ModelCheckpoint::new(&dir);
        checkpoint.save_top_k = 2;
        // A large learning rate makes val_loss go up and down, so "best" is not just "latest".
        let config = TrainConfig { epochs: 6, lr: 0.3, checkpoint: Some(checkpoint), ..base_config() };
        let fitted = Trainer::new(config).fit(mlp, &data(64, 6)).unwrap();
        let mut files: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        files.sort();
        let mut by_loss: Vec<&EpochMetrics> = fitted.report.metrics.iter().collect();
        by_loss.sort_by(|a, b| a.val_loss.unwrap().total_cmp(&b.val_loss.unwrap()));
        let mut expected: Vec<String> = by_loss[..2]
            .iter()
            .map(|m| format!("epoch={}-val_loss={:.6}.ckpt", m.epoch, m.val_loss.unwrap()))
            .chain(["last.ckpt".to_owned()])
            .collect();
        expected.sort();
        assert_eq!(files, expected, "losses: {:?}", fitted.report.metrics.iter().map(|m| m.val_loss).collect::<Vec<_>>());
        let best = fitted.report.best_checkpoint.unwrap();
        assert!(best.ends_with(format!("epoch={}-val_loss={:.6}.ckpt", by_loss[0].epoch, by_loss[0].val_loss.unwrap())));
        // A checkpoint holds the weights it claims: loading `last` gives the final model.
        let last = kfp_runtime::train::checkpoint::load(&dir.join("last.ckpt")).unwrap();
        assert_eq!(last.state.epochs_done, 6);
        for (name, tensor) in params(&fitted.vs) {
            assert!(last.model[&name].equal(&tensor), "{name}");
        }
    });
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    in_process(|| {
        // Monitoring val_loss with mode Max while training lowers it: epoch 0 stays the best, so
        // with patience 2 training stops after epoch 2 (3 epochs run).
        let mut early = EarlyStopping::new("val_loss", 2);
        early.mode = Mode::Max;
        let config = TrainConfig { epochs: 10, early_stopping: Some(early), ..base_config() };
        let fitted = Trainer::new(config).fit(mlp, &data(64, 7)).unwrap();
        let losses: Vec<f64> = fitted.report.metrics.iter().map(|m| m.val_loss.unwrap()).collect();
        assert_eq!(losses.len(), 3, "{losses:?}");
        assert!(losses[1] < losses[0] && losses[2] < losses[0], "{losses:?}");
        assert!(fitted.report.stopped_early);
    });
}

#[test]
fn an_epoch_hook_sees_metrics_and_can_stop_training() {
    in_process(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let config = TrainConfig { epochs: 10, ..base_config() };
        let fitted = Trainer::new(config)
            .on_epoch_end(move |m| {
                log.lock().unwrap().push((m.epoch, m.val_accuracy.unwrap()));
                if m.epoch == 1 { Control::Stop } else { Control::Continue }
            })
            .fit(mlp, &data(64, 8))
            .unwrap();
        assert_eq!(fitted.report.metrics.len(), 2);
        let seen = seen.lock().unwrap();
        assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), [0, 1]);
        assert!(seen.iter().all(|s| (0.0..=1.0).contains(&s.1)));
        // 3 balanced-ish classes: a model that learned beats chance.
        assert!(seen[1].1 > 0.5, "val_accuracy {:?}", seen[1]);
    });
}

#[test]
fn bad_configuration_is_named() {
    let config = TrainConfig { batch_size: 0, ..base_config() };
    let error = Trainer::new(config).fit(mlp, &data(16, 9)).err().unwrap();
    assert!(error.to_string().contains("TrainConfig.batch_size"), "{error}");
    let error = "fp8".parse::<Precision>().unwrap_err();
    assert!(error.contains("\"fp8\""));
}

/// What a binary built with or without feature `cuda` does on this machine: NCCL is compiled in
/// exactly with `cuda`, and "16-mixed" trains on a GPU when libtorch sees one, else on CPU in
/// 32-bit with the documented message (checked in a child process, whose stderr holds it).
#[test]
fn mixed_precision_uses_a_gpu_when_libtorch_sees_one_else_falls_back_with_a_message() {
    const TEST: &str = "mixed_precision_uses_a_gpu_when_libtorch_sees_one_else_falls_back_with_a_message";
    assert_eq!(ProcessGroup::nccl_available(), cfg!(feature = "cuda"));
    if std::env::var_os("KFP_TEST_PRECISION").is_some() {
        let config = TrainConfig { epochs: 1, precision: "16-mixed".parse().unwrap(), ..base_config() };
        let fitted = Trainer::new(config).fit(mlp, &data(32, 6)).unwrap();
        let device = fitted.vs.device();
        println!("trained on {device:?}");
        return;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(only(TEST))
        .env("KFP_TEST_PRECISION", "1")
        .env_remove("RANK")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    let fallback = "kfp-runtime trainer: precision F16Mixed needs CUDA (libtorch's autocast is CUDA-only here); training on Cpu in 32-bit";
    if tch::Cuda::is_available() {
        assert!(stdout.contains("trained on Cuda(0)") && !stderr.contains(fallback), "{stdout}\n{stderr}");
    } else {
        assert!(stdout.contains("trained on Cpu") && stderr.contains(fallback), "{stdout}\n{stderr}");
    }
}
