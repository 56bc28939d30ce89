//! torchrun for kfp-rs binaries: re-executes the current program once per local worker with
//! torchrun's environment, prefixes and forwards their output, forwards SIGINT/SIGTERM, and fails
//! the job when any worker fails (naming the rank, its exit status and its last log lines).
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::dist::{DistError, NodeEnv, Rendezvous, WorkerEnv};

/// How many of a failed worker's last output lines the error carries.
const TAIL_LINES: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    /// Workers on this node (`--nproc-per-node`); `PET_NPROC_PER_NODE` wins when numeric.
    pub nproc_per_node: usize,
    /// Program to run; default `std::env::current_exe()`.
    pub program: Option<PathBuf>,
    /// Its arguments; default this process's arguments.
    pub args: Option<Vec<OsString>>,
    /// Default `PET_MASTER_ADDR`, else 127.0.0.1.
    pub master_addr: Option<String>,
    /// Default `PET_MASTER_PORT`, else a free port.
    pub master_port: Option<u16>,
    /// `OMP_NUM_THREADS` for every worker unless already set; default cores / nproc.
    pub threads_per_worker: Option<usize>,
    /// Extra variables for the workers.
    pub env: Vec<(String, String)>,
}

impl LaunchOptions {
    pub fn new(nproc_per_node: usize) -> Self {
        LaunchOptions { nproc_per_node, ..Default::default() }
    }

    /// One worker per visible CUDA device (at least one: a CPU-only process trains alone).
    pub fn one_per_gpu() -> Self {
        Self::new(tch::Cuda::device_count().max(1) as usize)
    }
}

/// What [`launch`] decided for this process.
#[derive(Debug)]
pub enum Launched {
    /// This process is a worker (or the only process): run the training here.
    Worker(WorkerEnv),
    /// This process was the launcher and every worker exited successfully.
    Finished(JobReport),
}

#[derive(Debug, Clone)]
pub struct JobReport {
    pub workers: usize,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Env(#[from] DistError),
    #[error("--nproc-per-node must be at least 1")]
    NoWorkers,
    #[error("cannot start worker {rank} ({program}): {source}")]
    Spawn { rank: usize, program: String, source: std::io::Error },
    #[error("cannot find a free port for MASTER_PORT: {0}")]
    Port(std::io::Error),
    #[error("worker rank {rank} failed ({status}); its last output lines:\n{tail}")]
    WorkerFailed { rank: usize, status: String, tail: String },
    #[error("interrupted by signal {0}; workers were sent the same signal")]
    Interrupted(i32),
}

/// In a worker (`RANK` set, or `LOCAL_RANK` with `PET_*`) returns [`Launched::Worker`] at once.
/// Otherwise, with more than one process per job, starts the local workers and waits for them;
/// with one, returns a single-process [`Launched::Worker`].
pub fn launch(options: &LaunchOptions) -> Result<Launched, LaunchError> {
    let node = match Rendezvous::from_env()? {
        Rendezvous::Worker(env) => return Ok(Launched::Worker(env)),
        Rendezvous::Node(node) => node,
    };
    let nproc = node.nproc_per_node.unwrap_or(options.nproc_per_node);
    if nproc == 0 {
        return Err(LaunchError::NoWorkers);
    }
    if nproc * node.nnodes == 1 {
        return Ok(Launched::Worker(WorkerEnv {
            rank: 0,
            world_size: 1,
            local_rank: 0,
            local_world_size: 1,
            master_addr: "127.0.0.1".into(),
            master_port: 0,
        }));
    }
    run_workers(options, &node, nproc).map(Launched::Finished)
}

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

fn run_workers(options: &LaunchOptions, node: &NodeEnv, nproc: usize) -> Result<JobReport, LaunchError> {
    let started = Instant::now();
    let program = match &options.program {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|source| LaunchError::Spawn {
            rank: 0,
            program: "current executable".into(),
            source,
        })?,
    };
    let args: Vec<OsString> = options.args.clone().unwrap_or_else(|| std::env::args_os().skip(1).collect());
    let master_addr = options.master_addr.clone().or(node.master_addr.clone()).unwrap_or("127.0.0.1".into());
    let master_port = match options.master_port.or(node.master_port) {
        Some(port) => port,
        None => free_port().map_err(LaunchError::Port)?,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = options.threads_per_worker.unwrap_or((cores / nproc).max(1));
    let world_size = node.nnodes * nproc;

    SIGNAL.store(0, Ordering::SeqCst);
    let handler = remember_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    let previous = unsafe { [libc::signal(libc::SIGINT, handler), libc::signal(libc::SIGTERM, handler)] };

    let mut workers: Vec<(Child, Arc<Mutex<VecDeque<String>>>)> = Vec::new();
    let mut forwarders = Vec::new();
    let mut spawn_error = None;
    for local_rank in 0..nproc {
        let rank = node.node_rank * nproc + local_rank;
        let mut command = Command::new(&program);
        command
            .args(&args)
            .env("RANK", rank.to_string())
            .env("WORLD_SIZE", world_size.to_string())
            .env("LOCAL_RANK", local_rank.to_string())
            .env("LOCAL_WORLD_SIZE", nproc.to_string())
            .env("GROUP_RANK", node.node_rank.to_string())
            .env("MASTER_ADDR", &master_addr)
            .env("MASTER_PORT", master_port.to_string())
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if std::env::var_os("OMP_NUM_THREADS").is_none() {
            command.env("OMP_NUM_THREADS", threads.to_string());
        }
        match command.spawn() {
            Ok(mut child) => {
                let tail = Arc::new(Mutex::new(VecDeque::new()));
                let out = child.stdout.take().expect("stdout is piped");
                let err = child.stderr.take().expect("stderr is piped");
                forwarders.push(forward(out, rank, tail.clone(), false));
                forwarders.push(forward(err, rank, tail.clone(), true));
                workers.push((child, tail));
            }
            Err(source) => {
                spawn_error = Some(LaunchError::Spawn { rank, program: program.display().to_string(), source });
                break;
            }
        }
    }

    let result = match spawn_error {
        Some(error) => {
            terminate(&mut workers, libc::SIGTERM);
            Err(error)
        }
        None => supervise(&mut workers),
    };
    for forwarder in forwarders {
        let _ = forwarder.join();
    }
    unsafe {
        libc::signal(libc::SIGINT, previous[0]);
        libc::signal(libc::SIGTERM, previous[1]);
    }
    let failed = result?;
    match failed {
        None => Ok(JobReport { workers: nproc, seconds: started.elapsed().as_secs_f64() }),
        Some((index, status)) => {
            let tail = workers[index].1.lock().expect("tail lock").iter().cloned().collect::<Vec<_>>().join("\n");
            Err(LaunchError::WorkerFailed { rank: node.node_rank * nproc + index, status, tail })
        }
    }
}

/// Waits for all workers. On the first failure (or a signal) the others get SIGTERM, then
/// SIGKILL after a grace period. Returns the index and status of the first failed worker.
fn supervise(workers: &mut [(Child, Arc<Mutex<VecDeque<String>>>)]) -> Result<Option<(usize, String)>, LaunchError> {
    let mut done: Vec<Option<ExitStatus>> = vec![None; workers.len()];
    let mut first_failure = None;
    loop {
        let signal = SIGNAL.load(Ordering::SeqCst);
        if signal != 0 {
            terminate(workers, signal);
            return Err(LaunchError::Interrupted(signal));
        }
        for (i, (child, _)) in workers.iter_mut().enumerate() {
            if done[i].is_none()
                && let Ok(Some(status)) = child.try_wait()
            {
                done[i] = Some(status);
                if !status.success() && first_failure.is_none() {
                    first_failure = Some((i, describe(status)));
                }
            }
        }
        if first_failure.is_some() {
            terminate(workers, libc::SIGTERM);
            return Ok(first_failure);
        }
        if done.iter().all(Option::is_some) {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn terminate(workers: &mut [(Child, Arc<Mutex<VecDeque<String>>>)], signal: i32) {
    for (child, _) in workers.iter_mut() {
        if matches!(child.try_wait(), Ok(None)) {
            unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (child, _) in workers.iter_mut() {
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

fn forward(
    stream: impl std::io::Read + Send + 'static,
    rank: usize,
    tail: Arc<Mutex<VecDeque<String>>>,
    to_stderr: bool,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let _ = if to_stderr {
                writeln!(std::io::stderr().lock(), "[rank {rank}] {line}")
            } else {
                writeln!(std::io::stdout().lock(), "[rank {rank}] {line}")
            };
            let mut tail = tail.lock().expect("tail lock");
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
}

/// A port the OS just had free on loopback (torchrun does the same for single-node jobs).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
