//! Distributed process group over PyTorch's c10d: env:// rendezvous (torchrun / PyTorchJob /
//! Trainer v2 variables), Gloo on CPU and NCCL on CUDA, a timeout that turns a dead or hung peer
//! into an error on every surviving rank, and bucketed asynchronous gradient allreduce.
use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;
use std::time::Duration;

use tch::Tensor;

use super::ffi;

/// Default collective and rendezvous timeout (NCCL's default; PyTorch's troubleshooting answer to
/// "distributed hang"). Override with [`super::TrainConfig::dist_timeout`] or `KFP_DIST_TIMEOUT_SECS`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Gradient bucket size cap, as `DistributedDataParallel(bucket_cap_mb=25)`.
pub const BUCKET_CAP_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum DistError {
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    BadVar { name: &'static str, value: String, reason: String },
    #[error("environment variable {name} is required when {because}")]
    MissingVar { name: &'static str, because: &'static str },
    #[error("c10d {op} failed on rank {rank}: {message}")]
    Collective { op: &'static str, rank: usize, message: String },
}

/// Where this worker sits in the job: what torchrun exports to each process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerEnv {
    pub rank: usize,
    pub world_size: usize,
    pub local_rank: usize,
    pub local_world_size: usize,
    pub master_addr: String,
    pub master_port: u16,
}

/// What a node-level launcher needs: Trainer v2's `PET_*` variables, or single-node defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEnv {
    pub nnodes: usize,
    pub node_rank: usize,
    /// `PET_NPROC_PER_NODE` when it is a number (torchrun also accepts `auto`/`gpu`/`cpu`, which
    /// leave the choice to the launcher's caller).
    pub nproc_per_node: Option<usize>,
    pub master_addr: Option<String>,
    pub master_port: Option<u16>,
}

/// The process's role, read from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendezvous {
    /// `RANK` is set (torchrun, PyTorchJob, our launcher), or `LOCAL_RANK` with `PET_*`.
    Worker(WorkerEnv),
    /// No rank yet: this process may become the launcher for its node.
    Node(NodeEnv),
}

impl Rendezvous {
    pub fn from_env() -> Result<Self, DistError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Same as [`Rendezvous::from_env`] over any variable source (tests, dry runs).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, DistError> {
        let node = NodeEnv {
            nnodes: parse_or(&get, "PET_NNODES", 1, 1)?,
            node_rank: parse_or(&get, "PET_NODE_RANK", 0, 0)?,
            nproc_per_node: match get("PET_NPROC_PER_NODE") {
                Some(v) if matches!(v.as_str(), "auto" | "gpu" | "cpu") => None,
                Some(_) => Some(parse_or(&get, "PET_NPROC_PER_NODE", 1, 1)?),
                None => None,
            },
            master_addr: get("PET_MASTER_ADDR"),
            master_port: match get("PET_MASTER_PORT") {
                Some(_) => Some(parse_or(&get, "PET_MASTER_PORT", 0, 1)?),
                None => None,
            },
        };
        if node.node_rank >= node.nnodes {
            return Err(bad("PET_NODE_RANK", node.node_rank, format!("must be below PET_NNODES={}", node.nnodes)));
        }
        let because = "RANK or LOCAL_RANK is set (a distributed worker)";
        let master_addr = || {
            get("MASTER_ADDR")
                .or_else(|| node.master_addr.clone())
                .ok_or(DistError::MissingVar { name: "MASTER_ADDR", because })
        };
        let master_port = || -> Result<u16, DistError> {
            match get("MASTER_PORT") {
                Some(_) => parse_or(&get, "MASTER_PORT", 0, 1),
                None => node.master_port.ok_or(DistError::MissingVar { name: "MASTER_PORT", because }),
            }
        };
        // A Training Operator v1 PyTorchJob pod gets the pod's node rank in RANK (and
        // WORLD_SIZE = nodes x nproc), no LOCAL_RANK: with several processes per node it is a
        // node launcher, not a worker.
        let operator_pod = get("RANK").is_some()
            && get("LOCAL_RANK").is_none()
            && node.nproc_per_node.is_some_and(|n| n > 1)
            && get("RANK") == get("PET_NODE_RANK");
        if operator_pod {
            let master_addr = node.master_addr.clone().or_else(|| get("MASTER_ADDR"));
            let master_port = match node.master_port {
                Some(port) => Some(port),
                None if get("MASTER_PORT").is_some() => Some(parse_or(&get, "MASTER_PORT", 0, 1)?),
                None => None,
            };
            return Ok(Rendezvous::Node(NodeEnv { master_addr, master_port, ..node }));
        }
        if get("RANK").is_some() {
            let world_size: usize = parse_or(&get, "WORLD_SIZE", 0, 1)?;
            if get("WORLD_SIZE").is_none() {
                return Err(DistError::MissingVar { name: "WORLD_SIZE", because });
            }
            let rank: usize = parse_or(&get, "RANK", 0, 0)?;
            if rank >= world_size {
                return Err(bad("RANK", rank, format!("must be below WORLD_SIZE={world_size}")));
            }
            let local_world_size = parse_or(&get, "LOCAL_WORLD_SIZE", world_size / node.nnodes.max(1), 1)?;
            let local_rank = parse_or(&get, "LOCAL_RANK", rank % local_world_size.max(1), 0)?;
            return Ok(Rendezvous::Worker(WorkerEnv {
                rank,
                world_size,
                local_rank,
                local_world_size,
                master_addr: master_addr()?,
                master_port: master_port()?,
            }));
        }
        if get("LOCAL_RANK").is_some() && get("PET_NNODES").is_some() {
            // Trainer v2 without torchrun: derive the global rank from the node's position.
            let Some(nproc) = node.nproc_per_node else {
                return Err(DistError::MissingVar { name: "PET_NPROC_PER_NODE", because: "LOCAL_RANK and PET_NNODES are set" });
            };
            let local_rank: usize = parse_or(&get, "LOCAL_RANK", 0, 0)?;
            if local_rank >= nproc {
                return Err(bad("LOCAL_RANK", local_rank, format!("must be below PET_NPROC_PER_NODE={nproc}")));
            }
            return Ok(Rendezvous::Worker(WorkerEnv {
                rank: node.node_rank * nproc + local_rank,
                world_size: node.nnodes * nproc,
                local_rank,
                local_world_size: nproc,
                master_addr: master_addr()?,
                master_port: master_port()?,
            }));
        }
        Ok(Rendezvous::Node(node))
    }
}

fn bad(name: &'static str, value: impl ToString, reason: String) -> DistError {
    DistError::BadVar { name, value: value.to_string(), reason }
}

fn parse_or<T>(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: T, min: T) -> Result<T, DistError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(raw) = get(name) else { return Ok(default) };
    let value: T = raw.trim().parse().map_err(|_| bad(name, &raw, "not a non-negative integer".into()))?;
    if value < min {
        return Err(bad(name, &raw, format!("must be at least {min}")));
    }
    Ok(value)
}

/// Which c10d backend carries the collectives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// CPU tensors.
    Gloo,
    /// CUDA tensors on the given device (needs the `cuda` feature).
    Nccl { device: usize },
}

/// A c10d process group (TCPStore rendezvous + one backend). Dropping it destroys the group.
pub struct ProcessGroup {
    handle: NonNull<ffi::ProcessGroupHandle>,
    rank: usize,
    world_size: usize,
}

// The c10d backend is thread-safe; the handle is only an owning pointer.
unsafe impl Send for ProcessGroup {}

/// An allreduce in flight; [`Work::wait`] completes it. Keeps its tensor alive until then.
pub struct Work<'pg> {
    handle: NonNull<ffi::WorkHandle>,
    _tensor: Tensor,
    group: &'pg ProcessGroup,
}

impl Work<'_> {
    pub fn wait(self) -> Result<(), DistError> {
        let error = unsafe { ffi::kfp_c10d_work_wait(self.handle.as_ptr()) };
        self.group.check("allreduce", error)
    }
}

impl Drop for Work<'_> {
    fn drop(&mut self) {
        unsafe { ffi::kfp_c10d_work_free(self.handle.as_ptr()) }
    }
}

impl ProcessGroup {
    /// Joins the group: rank 0 hosts the TCPStore at `MASTER_ADDR:MASTER_PORT`, every rank waits
    /// at most `timeout` for the others, and every later collective fails after `timeout`.
    pub fn init(env: &WorkerEnv, backend: Backend, timeout: Duration) -> Result<Self, DistError> {
        let addr = CString::new(env.master_addr.as_str())
            .map_err(|_| bad("MASTER_ADDR", &env.master_addr, "contains a NUL byte".into()))?;
        let (backend_id, device) = match backend {
            Backend::Gloo => (0, 0),
            Backend::Nccl { device } => (1, device as i32),
        };
        let mut handle = std::ptr::null_mut();
        let error = unsafe {
            ffi::kfp_c10d_init(
                addr.as_ptr(),
                env.master_port,
                env.rank as i32,
                env.world_size as i32,
                timeout.as_millis().min(i64::MAX as u128) as i64,
                backend_id,
                device,
                &mut handle,
            )
        };
        let rank = env.rank;
        if let Some(message) = take_error(error) {
            return Err(DistError::Collective { op: "init (rendezvous)", rank, message });
        }
        let handle = NonNull::new(handle).expect("c10d init returned no group and no error");
        Ok(ProcessGroup { handle, rank, world_size: env.world_size })
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn world_size(&self) -> usize {
        self.world_size
    }

    /// Whether the shim was compiled with NCCL (feature `cuda`).
    pub fn nccl_available() -> bool {
        unsafe { ffi::kfp_c10d_nccl_compiled() != 0 }
    }

    fn check(&self, op: &'static str, error: *mut c_char) -> Result<(), DistError> {
        match take_error(error) {
            Some(message) => Err(DistError::Collective { op, rank: self.rank, message }),
            None => Ok(()),
        }
    }

    /// Starts an in-place sum over all ranks; the tensor must be contiguous.
    pub fn allreduce_sum_async(&self, tensor: &Tensor) -> Result<Work<'_>, DistError> {
        let mut work = std::ptr::null_mut();
        let error = unsafe {
            ffi::kfp_c10d_allreduce_sum_async(self.handle.as_ptr(), tensor.as_ptr() as *mut _, &mut work)
        };
        self.check("allreduce", error)?;
        Ok(Work {
            handle: NonNull::new(work).expect("c10d allreduce returned no work and no error"),
            _tensor: tensor.shallow_clone(),
            group: self,
        })
    }

    /// In-place sum over all ranks, waiting for the result.
    pub fn allreduce_sum(&self, tensor: &Tensor) -> Result<(), DistError> {
        self.allreduce_sum_async(tensor)?.wait()
    }

    /// Copies `root`'s tensors into every rank's tensors, in order.
    pub fn broadcast(&self, tensors: &[Tensor], root: usize) -> Result<(), DistError> {
        let pointers: Vec<_> = tensors.iter().map(|t| t.as_ptr() as *mut _).collect();
        let error = unsafe {
            ffi::kfp_c10d_broadcast(self.handle.as_ptr(), pointers.as_ptr(), pointers.len(), root as i32)
        };
        self.check("broadcast", error)
    }

    pub fn barrier(&self) -> Result<(), DistError> {
        let error = unsafe { ffi::kfp_c10d_barrier(self.handle.as_ptr()) };
        self.check("barrier", error)
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        unsafe { ffi::kfp_c10d_destroy(self.handle.as_ptr()) }
    }
}

fn take_error(error: *mut c_char) -> Option<String> {
    if error.is_null() {
        return None;
    }
    let message = unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned();
    unsafe { ffi::kfp_c10d_free_error(error) };
    Some(message)
}

/// Averages gradients over ranks as DDP does: gradients are packed into flat buckets of at most
/// [`BUCKET_CAP_BYTES`] in parameter creation order (identical on every rank), every bucket's
/// allreduce is started before the first is awaited, then the mean is copied back.
pub struct GradReducer {
    buckets: Vec<Vec<Tensor>>,
}

impl GradReducer {
    pub fn new(params: &[Tensor]) -> Self {
        let mut buckets: Vec<Vec<Tensor>> = Vec::new();
        let mut bytes = 0usize;
        for param in params {
            let size = param.numel() * param.kind().elt_size_in_bytes();
            if buckets.is_empty() || (bytes + size > BUCKET_CAP_BYTES && bytes > 0) {
                buckets.push(Vec::new());
                bytes = 0;
            }
            bytes += size;
            buckets.last_mut().expect("a bucket exists").push(param.shallow_clone());
        }
        GradReducer { buckets }
    }

    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    pub fn all_reduce_mean(&self, group: &ProcessGroup) -> Result<(), DistError> {
        let _guard = tch::no_grad_guard();
        let flats: Vec<Tensor> = self
            .buckets
            .iter()
            .map(|bucket| {
                let grads: Vec<Tensor> = bucket.iter().map(|p| grad_or_zeros(p).view(-1)).collect();
                Tensor::cat(&grads, 0)
            })
            .collect();
        let works = flats.iter().map(|flat| group.allreduce_sum_async(flat)).collect::<Result<Vec<_>, _>>()?;
        let scale = 1.0 / group.world_size() as f64;
        for ((work, mut flat), bucket) in works.into_iter().zip(flats.iter().map(Tensor::shallow_clone)).zip(&self.buckets) {
            work.wait()?;
            let _ = flat.g_mul_scalar_(scale);
            let mut offset = 0i64;
            for param in bucket {
                let n = param.numel() as i64;
                // A parameter unused by this step has no gradient here: it counted as zero in
                // the sum and keeps none, as with DDP's find_unused_parameters.
                let mut grad = param.grad();
                if grad.defined() {
                    grad.copy_(&flat.narrow(0, offset, n).view_as(&grad));
                }
                offset += n;
            }
        }
        Ok(())
    }
}

fn grad_or_zeros(param: &Tensor) -> Tensor {
    let grad = param.grad();
    if grad.defined() { grad } else { param.zeros_like() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn rendezvous(vars: &[(&str, &str)]) -> Result<Rendezvous, DistError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Rendezvous::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn torchrun_variables_make_a_worker() {
        let r = rendezvous(&[
            ("RANK", "3"),
            ("WORLD_SIZE", "4"),
            ("LOCAL_RANK", "1"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "10.0.0.1"),
            ("MASTER_PORT", "29500"),
        ])
        .unwrap();
        let Rendezvous::Worker(w) = r else { panic!("{r:?}") };
        assert_eq!((w.rank, w.world_size, w.local_rank, w.local_world_size), (3, 4, 1, 2));
        assert_eq!((w.master_addr.as_str(), w.master_port), ("10.0.0.1", 29500));
    }

    #[test]
    fn trainer_v2_pet_variables_give_ranks_per_node() {
        let pet = [
            ("PET_NNODES", "2"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "4"),
            ("PET_MASTER_ADDR", "trainjob-node-0-0.svc"),
            ("PET_MASTER_PORT", "29400"),
        ];
        let Rendezvous::Node(node) = rendezvous(&pet).unwrap() else { panic!() };
        assert_eq!((node.nnodes, node.node_rank, node.nproc_per_node), (2, 1, Some(4)));
        let mut with_local = pet.to_vec();
        with_local.push(("LOCAL_RANK", "2"));
        let Rendezvous::Worker(w) = rendezvous(&with_local).unwrap() else { panic!() };
        assert_eq!((w.rank, w.world_size, w.local_rank, w.local_world_size), (6, 8, 2, 4));
        assert_eq!((w.master_addr.as_str(), w.master_port), ("trainjob-node-0-0.svc", 29400));
    }

    #[test]
    fn a_pytorchjob_pod_with_several_processes_is_a_node_launcher() {
        let pod = [
            ("RANK", "1"),
            ("WORLD_SIZE", "8"),
            ("MASTER_ADDR", "job-master-0"),
            ("MASTER_PORT", "23456"),
            ("PET_NNODES", "2"),
            ("PET_NODE_RANK", "1"),
            ("PET_NPROC_PER_NODE", "4"),
        ];
        let Rendezvous::Node(node) = rendezvous(&pod).unwrap() else { panic!() };
        assert_eq!((node.nnodes, node.node_rank, node.nproc_per_node), (2, 1, Some(4)));
        assert_eq!((node.master_addr.as_deref(), node.master_port), (Some("job-master-0"), Some(23456)));
        // With one process per node the pod itself is the worker.
        let mut single = pod.to_vec();
        single.retain(|(k, _)| *k != "PET_NPROC_PER_NODE");
        single.push(("PET_NPROC_PER_NODE", "1"));
        single.retain(|(k, _)| *k != "WORLD_SIZE");
        single.push(("WORLD_SIZE", "2"));
        let Rendezvous::Worker(w) = rendezvous(&single).unwrap() else { panic!() };
        assert_eq!((w.rank, w.world_size), (1, 2));
    }

    #[test]
    fn bad_variables_are_named() {
        let e = rendezvous(&[("RANK", "2"), ("WORLD_SIZE", "2"), ("MASTER_ADDR", "h"), ("MASTER_PORT", "1")]);
        assert!(e.unwrap_err().to_string().contains("RANK=\"2\""));
        let e = rendezvous(&[("RANK", "0"), ("WORLD_SIZE", "2"), ("MASTER_PORT", "1")]).unwrap_err();
        assert!(e.to_string().contains("MASTER_ADDR"), "{e}");
        let e = rendezvous(&[("PET_NNODES", "two")]).unwrap_err();
        assert!(e.to_string().contains("PET_NNODES=\"two\""), "{e}");
        assert!(matches!(rendezvous(&[]).unwrap(), Rendezvous::Node(NodeEnv { nnodes: 1, .. })));
    }
}
