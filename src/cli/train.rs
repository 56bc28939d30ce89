//! `kfp train`: torchrun for any program. Starts `--nproc-per-node` workers of PROGRAM with
//! torchrun's environment (`RANK`, `LOCAL_RANK`, `WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`,
//! `OMP_NUM_THREADS`, ...), forwards SIGINT/SIGTERM to them, and fails as soon as one fails, with
//! that worker's exit code and last output lines. Flags the command line leaves out come from
//! Trainer v2's `PET_*` variables, as with torchrun.

use anyhow::{Result, bail};
use kfp_runtime::train::NodeEnv;
use kfp_runtime::train::launcher::{self, LaunchError, NodeLaunch};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Workers on this node: a number, `gpu` (one per visible NVIDIA GPU), `cpu` (one per core)
    /// or `auto` (`gpu` when there is one, else `cpu`) [default: PET_NPROC_PER_NODE, else 1]
    #[arg(long, value_name = "N|gpu|cpu|auto", value_parser = parse_nproc)]
    nproc_per_node: Option<Nproc>,
    /// Nodes in the job [default: PET_NNODES, else 1]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    nnodes: Option<u32>,
    /// This node's index, 0-based; its workers get ranks node-rank * nproc-per-node ..
    /// [default: PET_NODE_RANK, else 0]
    #[arg(long)]
    node_rank: Option<u32>,
    /// Address of the node hosting rank 0 [default: PET_MASTER_ADDR, else 127.0.0.1 for one node]
    #[arg(long)]
    master_addr: Option<String>,
    /// Port of rank 0's rendezvous store [default: PET_MASTER_PORT, else a free port for one node]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    master_port: Option<u16>,
    /// Seconds workers wait for each other at the rendezvous and in every collective before
    /// failing (sets KFP_DIST_TIMEOUT_SECS, the trainer's default; 600 unless set)
    #[arg(long, visible_alias = "dist-timeout", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    rdzv_timeout: Option<u64>,
    /// OMP_NUM_THREADS of every worker [default: OMP_NUM_THREADS when set, else cores / nproc-per-node]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    threads_per_worker: Option<u32>,
    /// The program every worker runs, and its arguments (after `--`)
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

/// `--nproc-per-node` as torchrun spells it.
#[derive(Clone, Copy, Debug)]
enum Nproc {
    Count(usize),
    Gpu,
    Cpu,
    Auto,
}

fn parse_nproc(value: &str) -> Result<Nproc, String> {
    match value {
        "gpu" => Ok(Nproc::Gpu),
        "cpu" => Ok(Nproc::Cpu),
        "auto" => Ok(Nproc::Auto),
        number => match number.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) => Ok(Nproc::Count(n)),
            Err(_) => Err("expected a number of workers, `gpu`, `cpu` or `auto`".into()),
        },
    }
}

impl Nproc {
    fn resolve(self, flag: &str) -> Result<usize> {
        let cores = || std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(match self {
            Nproc::Count(n) => n,
            Nproc::Cpu => cores(),
            Nproc::Gpu => match launcher::visible_gpus() {
                0 => bail!("{flag} gpu: no NVIDIA GPU is visible (/proc/driver/nvidia/gpus, CUDA_VISIBLE_DEVICES)"),
                n => n,
            },
            Nproc::Auto => match launcher::visible_gpus() {
                0 => cores(),
                n => n,
            },
        })
    }
}

pub fn run(args: Args) -> Result<ExitCode> {
    let plan = plan(args)?;
    match launcher::run_node(&plan) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(error @ (LaunchError::WorkerFailed { .. } | LaunchError::Interrupted(_))) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1).max(1)))
        }
        Err(error) => Err(error.into()),
    }
}

/// Flags first, then `PET_*`, then torchrun's single-node defaults.
fn plan(args: Args) -> Result<NodeLaunch> {
    let pet = NodeEnv::from_env()?;
    let nproc = match (args.nproc_per_node, std::env::var("PET_NPROC_PER_NODE")) {
        (Some(nproc), _) => nproc.resolve("--nproc-per-node")?,
        (None, Ok(value)) => parse_nproc(&value)
            .map_err(|reason| anyhow::anyhow!("environment variable PET_NPROC_PER_NODE={value:?} is invalid: {reason}"))?
            .resolve("PET_NPROC_PER_NODE")?,
        (None, Err(_)) => 1,
    };
    let nnodes = args.nnodes.map_or(pet.nnodes, |n| n as usize);
    let node_rank = args.node_rank.map_or(pet.node_rank, |n| n as usize);
    if node_rank >= nnodes {
        bail!("--node-rank {node_rank} must be below --nnodes {nnodes} (flags, else PET_NODE_RANK and PET_NNODES)");
    }
    let master_addr = args.master_addr.or(pet.master_addr);
    let master_port = args.master_port.or(pet.master_port);
    // Other nodes must be told where rank 0 listens: there is nothing to default to.
    let (master_addr, master_port) = match (master_addr, master_port) {
        (Some(addr), Some(port)) => (addr, port),
        (addr, port) if nnodes == 1 => {
            let port = match port {
                Some(port) => port,
                None => launcher::free_port().map_err(LaunchError::Port)?,
            };
            (addr.unwrap_or_else(|| "127.0.0.1".into()), port)
        }
        (None, _) => bail!("--master-addr (or PET_MASTER_ADDR) is required with --nnodes {nnodes}"),
        (Some(_), None) => bail!("--master-port (or PET_MASTER_PORT) is required with --nnodes {nnodes}"),
    };
    let mut command = args.command.into_iter();
    let program = PathBuf::from(command.next().expect("clap requires PROGRAM"));
    let env = args.rdzv_timeout.map(|secs| ("KFP_DIST_TIMEOUT_SECS".to_owned(), secs.to_string())).into_iter().collect();
    Ok(NodeLaunch {
        program,
        args: command.collect(),
        nnodes,
        node_rank,
        nproc_per_node: nproc,
        master_addr,
        master_port,
        threads_per_worker: args.threads_per_worker.map(|n| n as usize),
        env,
    })
}
