//! Raw declarations of the c10d shim (runtime/csrc/c10d_shim.cpp). Use [`super::dist`] instead.
use std::ffi::c_char;

use torch_sys::C_tensor;

#[repr(C)]
pub struct ProcessGroupHandle {
    _private: [u8; 0],
}

#[repr(C)]
pub struct WorkHandle {
    _private: [u8; 0],
}

unsafe extern "C" {
    pub fn kfp_c10d_free_error(message: *mut c_char);
    pub fn kfp_c10d_nccl_compiled() -> i32;
    pub fn kfp_c10d_init(
        master_addr: *const c_char,
        master_port: u16,
        rank: i32,
        world_size: i32,
        timeout_ms: i64,
        backend: i32,
        cuda_device: i32,
        out: *mut *mut ProcessGroupHandle,
    ) -> *mut c_char;
    pub fn kfp_c10d_allreduce_sum_async(
        pg: *mut ProcessGroupHandle,
        tensor: *mut C_tensor,
        out: *mut *mut WorkHandle,
    ) -> *mut c_char;
    pub fn kfp_c10d_work_wait(work: *mut WorkHandle) -> *mut c_char;
    pub fn kfp_c10d_work_free(work: *mut WorkHandle);
    pub fn kfp_c10d_broadcast(
        pg: *mut ProcessGroupHandle,
        tensors: *const *mut C_tensor,
        count: usize,
        root: i32,
    ) -> *mut c_char;
    pub fn kfp_c10d_barrier(pg: *mut ProcessGroupHandle) -> *mut c_char;
    pub fn kfp_c10d_destroy(pg: *mut ProcessGroupHandle);
    pub fn kfp_autocast_set_cuda_bf16(bf16: i32);
}
