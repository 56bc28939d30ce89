//! torchrun for kfp-rs binaries and for any program: starts one process per local worker with
//! torchrun's environment, prefixes and forwards their output, forwards SIGINT/SIGTERM, and fails
//! the job when any worker fails (naming the rank, its exit status and its last log lines).
//! [`launch`] re-executes the current binary (the library use); [`run_node`] runs a resolved
//! [`NodeLaunch`] (what `kfp train` builds from its flags).
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::rendezvous::{DistError, Rendezvous, WorkerEnv};

/// How many of a failed worker's last lines, of stdout and of stderr each, the error carries.
const TAIL_LINES: usize = 20;

/// A worker's last lines of one stream. Its two streams get one each: their relative order is
/// unknowable, and chatty stdout must not push the error on stderr out of a shared tail.
type Tail = Arc<Mutex<VecDeque<String>>>;

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
    /// `OMP_NUM_THREADS` for every worker; default the launcher's own, else cores / nproc.
    pub threads_per_worker: Option<usize>,
    /// Extra variables for the workers.
    pub env: Vec<(String, String)>,
}

impl LaunchOptions {
    pub fn new(nproc_per_node: usize) -> Self {
        LaunchOptions { nproc_per_node, ..Default::default() }
    }

    /// One worker per CUDA device libtorch sees (at least one: a CPU-only process trains alone).
    #[cfg(feature = "torch")]
    pub fn one_per_gpu() -> Self {
        Self::new(tch::Cuda::device_count().max(1) as usize)
    }
}

/// One node's launch with every choice made: what [`launch`] derives from [`LaunchOptions`] and
/// the environment, and what `kfp train` derives from its flags and `PET_*`.
#[derive(Debug, Clone)]
pub struct NodeLaunch {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub nnodes: usize,
    pub node_rank: usize,
    pub nproc_per_node: usize,
    pub master_addr: String,
    pub master_port: u16,
    /// `OMP_NUM_THREADS` of every worker. `None`: the launcher's own `OMP_NUM_THREADS` when it
    /// has one, else cores / `nproc_per_node` (oversubscribed threads slow DDP down 50x).
    pub threads_per_worker: Option<usize>,
    /// Extra variables for the workers.
    pub env: Vec<(String, String)>,
}

/// NVIDIA GPUs visible to this process, counted without loading CUDA: the driver's
/// `/proc/driver/nvidia/gpus` entries (a container sees only its own), narrowed by
/// `CUDA_VISIBLE_DEVICES` as CUDA does (the list ends at its first entry that is not a device).
pub fn visible_gpus() -> usize {
    let installed = std::fs::read_dir("/proc/driver/nvidia/gpus").map_or(0, |dir| dir.count());
    visible_among(installed, std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref())
}

fn visible_among(installed: usize, cuda_visible_devices: Option<&str>) -> usize {
    match cuda_visible_devices {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .take_while(|device| !device.is_empty() && !device.starts_with('-'))
            .count()
            .min(installed),
        None => installed,
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
    #[error("node rank {node_rank} must be below the number of nodes ({nnodes})")]
    NodeRank { node_rank: usize, nnodes: usize },
    #[error("cannot start worker {rank} ({program}): {source}")]
    Spawn { rank: usize, program: String, source: std::io::Error },
    #[error("cannot find a free port for MASTER_PORT: {0}")]
    Port(std::io::Error),
    /// `tail`: the worker's last lines of stdout, then those of stderr.
    #[error("worker rank {rank} failed ({status}); its last output lines:\n{tail}")]
    WorkerFailed {
        rank: usize,
        status: String,
        /// What a shell reports for that status: the exit code, or 128 + the signal.
        exit_code: i32,
        tail: String,
    },
    #[error("interrupted by signal {0}; workers were sent the same signal")]
    Interrupted(i32),
}

impl LaunchError {
    /// The exit code a launcher process should end with, as torchrun and shells do: the failed
    /// worker's own code, 128 + the signal for an interrupted job, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            LaunchError::WorkerFailed { exit_code, .. } => *exit_code,
            LaunchError::Interrupted(signal) => 128 + signal,
            _ => 1,
        }
    }
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
    let plan = NodeLaunch {
        program: match &options.program {
            Some(program) => program.clone(),
            None => std::env::current_exe().map_err(|source| LaunchError::Spawn {
                rank: 0,
                program: "current executable".into(),
                source,
            })?,
        },
        args: options.args.clone().unwrap_or_else(|| std::env::args_os().skip(1).collect()),
        nnodes: node.nnodes,
        node_rank: node.node_rank,
        nproc_per_node: nproc,
        master_addr: options.master_addr.clone().or(node.master_addr).unwrap_or_else(|| "127.0.0.1".into()),
        master_port: match options.master_port.or(node.master_port) {
            Some(port) => port,
            None => free_port().map_err(LaunchError::Port)?,
        },
        threads_per_worker: options.threads_per_worker,
        env: options.env.clone(),
    };
    run_node(&plan).map(Launched::Finished)
}

static SIGNAL: AtomicI32 = AtomicI32::new(0);

extern "C" fn remember_signal(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::SeqCst);
}

/// Starts the node's workers (ranks `node_rank * nproc_per_node ..`), waits for them, and fails
/// as soon as one fails, after terminating the others.
pub fn run_node(plan: &NodeLaunch) -> Result<JobReport, LaunchError> {
    let started = Instant::now();
    let nproc = plan.nproc_per_node;
    if nproc == 0 {
        return Err(LaunchError::NoWorkers);
    }
    if plan.node_rank >= plan.nnodes {
        return Err(LaunchError::NodeRank { node_rank: plan.node_rank, nnodes: plan.nnodes });
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = match plan.threads_per_worker {
        Some(threads) => Some(threads),
        None if std::env::var_os("OMP_NUM_THREADS").is_some() => None,
        None => Some((cores / nproc).max(1)),
    };
    let world_size = plan.nnodes * nproc;

    SIGNAL.store(0, Ordering::SeqCst);
    let handler = remember_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    let previous = unsafe { [libc::signal(libc::SIGINT, handler), libc::signal(libc::SIGTERM, handler)] };

    let mut workers: Vec<(Child, [Tail; 2])> = Vec::new();
    let mut forwarders = Vec::new();
    let mut spawn_error = None;
    for local_rank in 0..nproc {
        let rank = plan.node_rank * nproc + local_rank;
        let mut command = Command::new(&plan.program);
        command
            .args(&plan.args)
            .env("RANK", rank.to_string())
            .env("WORLD_SIZE", world_size.to_string())
            .env("LOCAL_RANK", local_rank.to_string())
            .env("LOCAL_WORLD_SIZE", nproc.to_string())
            .env("GROUP_RANK", plan.node_rank.to_string())
            .env("GROUP_WORLD_SIZE", plan.nnodes.to_string())
            .env("MASTER_ADDR", &plan.master_addr)
            .env("MASTER_PORT", plan.master_port.to_string())
            .envs(plan.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group (as torchrun's start_new_session): signals reach whatever
            // the worker started (a shell's children, data loader processes), and a terminal's
            // Ctrl-C reaches the launcher alone, which forwards it.
            .process_group(0);
        if let Some(threads) = threads {
            command.env("OMP_NUM_THREADS", threads.to_string());
        }
        match command.spawn() {
            Ok(mut child) => {
                let tails: [Tail; 2] = Default::default();
                let out = child.stdout.take().expect("stdout is piped");
                let err = child.stderr.take().expect("stderr is piped");
                forwarders.push(forward(out, rank, tails[0].clone(), false));
                forwarders.push(forward(err, rank, tails[1].clone(), true));
                workers.push((child, tails));
            }
            Err(source) => {
                spawn_error = Some(LaunchError::Spawn { rank, program: plan.program.display().to_string(), source });
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
            let tail = workers[index]
                .1
                .iter()
                .flat_map(|tail| tail.lock().expect("tail lock").iter().cloned().collect::<Vec<_>>())
                .collect::<Vec<_>>()
                .join("\n");
            Err(LaunchError::WorkerFailed {
                rank: plan.node_rank * nproc + index,
                status: describe(status),
                exit_code: shell_code(status),
                tail,
            })
        }
    }
}

/// Waits for all workers. On the first failure (or a signal) the others get SIGTERM, then
/// SIGKILL after a grace period. Returns the index and status of the first failed worker.
fn supervise(workers: &mut [(Child, [Tail; 2])]) -> Result<Option<(usize, ExitStatus)>, LaunchError> {
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
                    first_failure = Some((i, status));
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

/// Sends `signal` to every worker's process group (also an exited worker's: processes it left
/// behind would keep its output pipe, and so the launcher, open), then SIGKILL after 10 s.
fn terminate(workers: &mut [(Child, [Tail; 2])], signal: i32) {
    let group = |child: &Child| -(child.id() as libc::pid_t);
    for (child, _) in workers.iter_mut() {
        // A group id stays taken while any member lives; an empty one's id returns to use only
        // after the PID space wraps, not in the milliseconds since the worker was reaped.
        unsafe { libc::kill(group(child), signal) };
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for (child, _) in workers.iter_mut() {
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                unsafe { libc::kill(group(child), libc::SIGKILL) };
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

fn shell_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.code().or(status.signal().map(|signal| 128 + signal)).unwrap_or(1)
}

fn forward(
    stream: impl std::io::Read + Send + 'static,
    rank: usize,
    tail: Tail,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuda_visible_devices_narrows_the_installed_gpus_as_cuda_does() {
        assert_eq!(visible_among(4, None), 4);
        assert_eq!(visible_among(4, Some("0,2")), 2);
        assert_eq!(visible_among(4, Some("GPU-8f2e,GPU-11aa")), 2);
        // An empty list or -1 hides every device; the list ends at its first invalid entry.
        assert_eq!(visible_among(4, Some("")), 0);
        assert_eq!(visible_among(4, Some("-1")), 0);
        assert_eq!(visible_among(4, Some("1,-1,2")), 1);
        assert_eq!(visible_among(2, Some("0,1,2,3")), 2);
        assert_eq!(visible_among(0, Some("0")), 0);
    }
}
