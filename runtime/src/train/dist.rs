//! Distributed process group over PyTorch's c10d: Gloo on CPU and NCCL on CUDA, joined through
//! the env:// rendezvous of [`super::rendezvous`], a timeout that turns a dead or hung peer into
//! an error on every surviving rank, and bucketed asynchronous gradient allreduce.
use std::ffi::{CStr, CString, c_char};
use std::ptr::NonNull;
use std::time::Duration;

use tch::Tensor;

use super::ffi;
use super::rendezvous::bad;
pub use super::rendezvous::{DistError, NodeEnv, Rendezvous, WorkerEnv};

/// Default collective and rendezvous timeout (NCCL's default; PyTorch's troubleshooting answer to
/// "distributed hang"). Override with [`super::TrainConfig::dist_timeout`] or `KFP_DIST_TIMEOUT_SECS`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Gradient bucket size cap, as `DistributedDataParallel(bucket_cap_mb=25)`.
pub const BUCKET_CAP_BYTES: usize = 25 * 1024 * 1024;

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
