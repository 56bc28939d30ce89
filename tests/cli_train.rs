//! `kfp train` (torchrun for any program): the workers' environment, flags over `PET_*`, a failing
//! worker failing the job with its exit code and last lines, signal forwarding, bad flags, and
//! (feature `torch`) a real Gloo DDP run of this test binary through the command.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `kfp train ARGS` with no inherited launcher variables, plus `env`.
fn kfp_train(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kfp"));
    command.arg("train").args(args);
    for (name, _) in std::env::vars() {
        let inherited_launch_var = name.starts_with("PET_")
            || ["RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES"]
                .contains(&name.as_str());
        if inherited_launch_var {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    command
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    kfp_train(args, env).output().expect("run the kfp binary")
}

/// A worker that prints what torchrun would have told it, one `key=value` per variable.
const SHOW_ENV: &str = r#"echo "env RANK=$RANK LOCAL_RANK=$LOCAL_RANK WORLD_SIZE=$WORLD_SIZE LOCAL_WORLD_SIZE=$LOCAL_WORLD_SIZE GROUP_RANK=$GROUP_RANK MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT OMP_NUM_THREADS=$OMP_NUM_THREADS KFP_DIST_TIMEOUT_SECS=$KFP_DIST_TIMEOUT_SECS""#;

/// The `[rank N] env ...` line of each rank, sorted by rank, as maps.
fn worker_envs(stdout: &[u8]) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = String::from_utf8_lossy(stdout);
    let mut lines: Vec<_> = text.lines().filter(|l| l.contains("] env ")).collect();
    lines.sort_by_key(|line| line.split(']').next().unwrap_or_default().to_owned());
    lines
        .iter()
        .map(|line| {
            let (prefix, vars) = line.split_once("] env ").unwrap();
            let mut map: std::collections::BTreeMap<String, String> = vars
                .split(' ')
                .map(|kv| kv.split_once('=').unwrap())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            map.insert("prefix".into(), format!("{prefix}]"));
            map
        })
        .collect()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn two_workers_get_torchrun_env_and_cores_divided_into_threads() {
    let out = run(&["--nproc-per-node", "2", "--", "sh", "-c", SHOW_ENV], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let envs = worker_envs(&out.stdout);
    assert_eq!(envs.len(), 2, "{}", String::from_utf8_lossy(&out.stdout));
    let threads = (cores() / 2).max(1).to_string();
    for (rank, env) in envs.iter().enumerate() {
        assert_eq!(env["prefix"], format!("[rank {rank}]"));
        assert_eq!(env["RANK"], rank.to_string());
        assert_eq!(env["LOCAL_RANK"], rank.to_string());
        assert_eq!((env["WORLD_SIZE"].as_str(), env["LOCAL_WORLD_SIZE"].as_str()), ("2", "2"));
        assert_eq!((env["GROUP_RANK"].as_str(), env["MASTER_ADDR"].as_str()), ("0", "127.0.0.1"));
        assert_eq!(env["OMP_NUM_THREADS"], threads);
        assert_eq!(env["KFP_DIST_TIMEOUT_SECS"], "");
    }
    // Both ranks were sent to the same, real port.
    assert_eq!(envs[0]["MASTER_PORT"], envs[1]["MASTER_PORT"]);
    assert!(envs[0]["MASTER_PORT"].parse::<u16>().unwrap() > 0);
}

#[test]
fn threads_flag_beats_inherited_omp_num_threads_which_beats_the_default() {
    let env = worker_envs(&run(&["--nproc-per-node", "2", "--threads-per-worker", "3", "--", "sh", "-c", SHOW_ENV], &[]).stdout);
    assert!(env.iter().all(|e| e["OMP_NUM_THREADS"] == "3"), "{env:?}");
    let env = worker_envs(&run(&["--nproc-per-node", "2", "--", "sh", "-c", SHOW_ENV], &[("OMP_NUM_THREADS", "5")]).stdout);
    assert!(env.len() == 2 && env.iter().all(|e| e["OMP_NUM_THREADS"] == "5"), "{env:?}");
}

#[test]
fn multi_node_flags_give_this_nodes_ranks_and_win_over_pet_variables() {
    let flags = [
        "--nnodes", "2", "--node-rank", "1", "--nproc-per-node", "2", "--master-addr", "10.9.8.7", "--master-port",
        "29555", "--rdzv-timeout", "42", "--", "sh", "-c", SHOW_ENV,
    ];
    let pet = [
        ("PET_NNODES", "4"),
        ("PET_NODE_RANK", "3"),
        ("PET_NPROC_PER_NODE", "3"),
        ("PET_MASTER_ADDR", "elsewhere"),
        ("PET_MASTER_PORT", "1234"),
    ];
    for env in [&[][..], &pet[..]] {
        let out = run(&flags, env);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let envs = worker_envs(&out.stdout);
        assert_eq!(envs.len(), 2);
        for (local_rank, env) in envs.iter().enumerate() {
            assert_eq!(env["RANK"], (2 + local_rank).to_string());
            assert_eq!(env["LOCAL_RANK"], local_rank.to_string());
            assert_eq!((env["WORLD_SIZE"].as_str(), env["GROUP_RANK"].as_str()), ("4", "1"));
            assert_eq!((env["MASTER_ADDR"].as_str(), env["MASTER_PORT"].as_str()), ("10.9.8.7", "29555"));
            assert_eq!(env["KFP_DIST_TIMEOUT_SECS"], "42");
        }
    }
}

#[test]
fn pet_variables_stand_in_for_absent_flags() {
    let pet = [
        ("PET_NNODES", "3"),
        ("PET_NODE_RANK", "2"),
        ("PET_NPROC_PER_NODE", "2"),
        ("PET_MASTER_ADDR", "trainjob-node-0-0.svc"),
        ("PET_MASTER_PORT", "29400"),
    ];
    let out = run(&["--", "sh", "-c", SHOW_ENV], &pet);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let envs = worker_envs(&out.stdout);
    assert_eq!(envs.len(), 2);
    assert_eq!((envs[0]["RANK"].as_str(), envs[1]["RANK"].as_str()), ("4", "5"));
    assert_eq!(envs[1]["WORLD_SIZE"], "6");
    assert_eq!((envs[1]["MASTER_ADDR"].as_str(), envs[1]["MASTER_PORT"].as_str()), ("trainjob-node-0-0.svc", "29400"));
    // Without flags or PET_*: one worker, as torchrun.
    let envs = worker_envs(&run(&["--", "sh", "-c", SHOW_ENV], &[]).stdout);
    assert_eq!((envs.len(), envs[0]["WORLD_SIZE"].as_str()), (1, "1"));
}

#[test]
fn a_failing_worker_fails_the_job_with_its_exit_code_rank_and_last_lines() {
    // Rank 1 fails after some output; rank 0 would run for a minute unless it is terminated.
    let script = r#"if [ "$RANK" = 1 ]; then for i in $(seq 1 30); do echo "step $i"; done; echo "rank 1 gives up: bad shard" >&2; exit 3; fi; echo "rank 0 waiting"; sleep 60"#;
    let started = Instant::now();
    let out = run(&["--nproc-per-node", "2", "--", "sh", "-c", script], &[]);
    assert!(started.elapsed() < Duration::from_secs(30), "rank 0 was not terminated");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let error = stderr.split_once("error: ").map(|(_, e)| e).unwrap_or_else(|| panic!("no error line: {stderr}"));
    assert!(error.starts_with("worker rank 1 failed (exit code 3)"), "{stderr}");
    // Rank 1's last 20 stdout lines (of 30), then its stderr, and nothing of rank 0.
    let tail = error.split_once('\n').unwrap().1;
    let expected: Vec<String> = (11..=30).map(|i| format!("step {i}")).chain(["rank 1 gives up: bad shard".into()]).collect();
    assert_eq!(tail.lines().collect::<Vec<_>>(), expected, "{stderr}");
    // A worker killed by a signal: 128 + the signal, as a shell reports it.
    let out = run(&["--nproc-per-node", "2", "--", "sh", "-c", r#"[ "$RANK" = 0 ] && kill -KILL $$; sleep 60"#], &[]);
    assert_eq!(out.status.code(), Some(128 + 9), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("worker rank 0 failed (killed by signal 9)"));
}

#[test]
fn sigterm_is_forwarded_to_every_worker_and_the_job_exits_143() {
    let script = r#"trap 'echo "got TERM"; kill $child; exit 0' TERM; sleep 60 & child=$!; echo ready; wait"#;
    let mut child = kfp_train(&["--nproc-per-node", "2", "--", "sh", "-c", script], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Lines arrive through kfp's forwarders; `ready` comes after the worker's trap is set.
    let (sender, receiver) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut lines = Vec::new();
    while lines.iter().filter(|l: &&String| l.ends_with("] ready")).count() < 2 {
        lines.push(receiver.recv_timeout(Duration::from_secs(20)).expect("both workers print ready"));
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    lines.extend(receiver.iter());
    assert_eq!(status.code(), Some(128 + 15), "{lines:?}");
    for rank in 0..2 {
        assert!(lines.contains(&format!("[rank {rank}] got TERM")), "rank {rank} did not get SIGTERM: {lines:?}");
    }
}

#[test]
fn bad_invocations_name_the_culprit() {
    // Flags, environment, and what stderr must say.
    type Case = (&'static [&'static str], &'static [(&'static str, &'static str)], &'static str);
    let cases: &[Case] = &[
        (&["--nproc-per-node", "2"], &[], "<PROGRAM>"),
        (&["--nproc-per-node", "0", "--", "true"], &[], "'--nproc-per-node <N|gpu|cpu|auto>': must be at least 1"),
        (&["--nproc-per-node", "many", "--", "true"], &[], "invalid value 'many' for '--nproc-per-node"),
        (&["--nnodes", "0", "--", "true"], &[], "invalid value '0' for '--nnodes"),
        (&["--master-port", "http", "--", "true"], &[], "invalid value 'http' for '--master-port"),
        (&["--nnodes", "2", "--node-rank", "2", "--", "true"], &[], "--node-rank 2 must be below --nnodes 2"),
        (&["--nnodes", "2", "--master-port", "29500", "--", "true"], &[], "--master-addr (or PET_MASTER_ADDR) is required"),
        (&["--nnodes", "2", "--master-addr", "h", "--", "true"], &[], "--master-port (or PET_MASTER_PORT) is required"),
        (&["--", "true"], &[("PET_NPROC_PER_NODE", "lots")], "PET_NPROC_PER_NODE=\"lots\" is invalid"),
        (&["--", "true"], &[("PET_NNODES", "two")], "PET_NNODES=\"two\""),
        (&["--nproc-per-node", "2", "--", "/nonexistent/worker"], &[], "cannot start worker 0 (/nonexistent/worker)"),
    ];
    for (args, env, expected) in cases {
        let out = run(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in:\n{stderr}");
    }
    // No GPU on this machine is an error for `gpu` (CUDA_VISIBLE_DEVICES="" hides any there is).
    let out = run(&["--nproc-per-node", "gpu", "--", "true"], &[("CUDA_VISIBLE_DEVICES", "")]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nproc-per-node gpu: no NVIDIA GPU is visible"));
}

/// A real DDP run through the command: 2 workers of this test binary train with Gloo over the
/// rendezvous `kfp train` set up, and end with bitwise identical weights.
#[cfg(feature = "torch")]
#[test]
fn ddp_through_kfp_train_keeps_two_ranks_bitwise_identical() {
    use kfp::runtime::train::tch::{self, Kind, Tensor, nn};
    use kfp::runtime::train::{Data, Dataset, OptimizerKind, TrainConfig, Trainer};
    const TEST: &str = "ddp_through_kfp_train_keeps_two_ranks_bitwise_identical";
    if let Ok(out) = std::env::var("KFP_TEST_OUT") {
        tch::manual_seed(5);
        let x = Tensor::randn([64, 4], (Kind::Float, tch::Device::Cpu));
        let y = x.sum_dim_intlist(1, false, Kind::Float).gt(0.0).to_kind(Kind::Int64);
        let data = Data { train: Dataset::new(x, y).unwrap(), val: None };
        let config = TrainConfig {
            epochs: 2,
            batch_size: 8,
            lr: 0.1,
            optimizer: OptimizerKind::sgd(0.9),
            progress: false,
            dist_timeout: Duration::from_secs(20),
            ..TrainConfig::default()
        };
        let model = |p: &nn::Path| nn::linear(p / "fc", 4, 2, Default::default());
        let fitted = Trainer::new(config).fit(model, &data).unwrap();
        let mut named: Vec<_> = fitted.vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let path = Path::new(&out).join(format!("rank{}.safetensors", fitted.report.rank));
        Tensor::write_safetensors(&named, path).unwrap();
        return;
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-train-ddp");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let exe = std::env::current_exe().unwrap();
    let result = run(
        &["--nproc-per-node", "2", "--", exe.to_str().unwrap(), TEST, "--exact", "--nocapture", "--test-threads=1"],
        &[("KFP_TEST_OUT", out.to_str().unwrap())],
    );
    assert!(result.status.success(), "{}", String::from_utf8_lossy(&result.stderr));
    let load = |rank: usize| {
        let mut named = Tensor::read_safetensors(out.join(format!("rank{rank}.safetensors"))).unwrap();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    };
    let (rank0, rank1) = (load(0), load(1));
    assert_eq!(rank0.len(), 2);
    for ((name0, t0), (name1, t1)) in rank0.iter().zip(&rank1) {
        assert_eq!(name0, name1);
        assert!(t0.equal(t1), "{name0} differs between ranks");
    }
}
