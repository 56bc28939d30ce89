// A thin C ABI over PyTorch's own c10d (TCPStore + ProcessGroupGloo / ProcessGroupNCCL), so the
// Rust trainer uses the same collectives as torch.distributed. Every entry point catches C++
// exceptions and returns them as a malloc'd message (NULL on success) that Rust frees with
// kfp_c10d_free_error. Tensors arrive as `at::Tensor*`, which is what tch's Tensor::as_ptr() is.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

struct kfp_pg {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
};

struct kfp_work {
  c10::intrusive_ptr<c10d::Work> work;
};

namespace {

char* dup_message(const std::string& message) {
  char* out = static_cast<char*>(std::malloc(message.size() + 1));
  if (out != nullptr) std::memcpy(out, message.c_str(), message.size() + 1);
  return out;
}

template <typename F>
char* guarded(F&& body) {
  try {
    body();
    return nullptr;
  } catch (const c10::Error& e) {
    return dup_message(e.what_without_backtrace());
  } catch (const std::exception& e) {
    return dup_message(e.what());
  } catch (...) {
    return dup_message("unknown C++ exception in the c10d shim");
  }
}

}  // namespace

extern "C" {

void kfp_c10d_free_error(char* message) { std::free(message); }

int kfp_c10d_nccl_compiled() {
#ifdef USE_C10D_NCCL
  return 1;
#else
  return 0;
#endif
}

// backend: 0 = Gloo (CPU tensors), 1 = NCCL (CUDA tensors on `cuda_device`).
char* kfp_c10d_init(const char* master_addr, uint16_t master_port, int rank, int world_size,
                    int64_t timeout_ms, int backend, int cuda_device, kfp_pg** out) {
  return guarded([&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions store_options;
    store_options.port = master_port;
    store_options.isServer = rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(std::string(master_addr), store_options);

    c10::intrusive_ptr<c10d::Backend> pg;
    if (backend == 0) {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world_size, options);
    } else {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(cuda_device));
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
#else
      (void)cuda_device;
      throw std::runtime_error("NCCL requested but kfp-runtime was built without the `cuda` feature");
#endif
    }
    *out = new kfp_pg{store, pg};
  });
}

// Starts a sum-allreduce of one tensor in place; wait on the returned work before reading it.
char* kfp_c10d_allreduce_sum_async(kfp_pg* pg, at::Tensor* tensor, kfp_work** out) {
  return guarded([&] {
    std::vector<at::Tensor> tensors{*tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    *out = new kfp_work{pg->backend->allreduce(tensors, options)};
  });
}

char* kfp_c10d_work_wait(kfp_work* work) {
  return guarded([&] { work->work->wait(); });
}

void kfp_c10d_work_free(kfp_work* work) { delete work; }

char* kfp_c10d_broadcast(kfp_pg* pg, at::Tensor** tensors, size_t count, int root) {
  return guarded([&] {
    for (size_t i = 0; i < count; ++i) {
      std::vector<at::Tensor> one{*tensors[i]};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      options.rootTensor = 0;
      pg->backend->broadcast(one, options)->wait();
    }
  });
}

char* kfp_c10d_barrier(kfp_pg* pg) {
  return guarded([&] { pg->backend->barrier(c10d::BarrierOptions())->wait(); });
}

void kfp_c10d_destroy(kfp_pg* pg) { delete pg; }

// tch's autocast only toggles it; the reduced type (f16 by default) is chosen here.
void kfp_autocast_set_cuda_bf16(int bf16) {
  at::autocast::set_autocast_dtype(at::kCUDA, bf16 != 0 ? at::kBFloat16 : at::kHalf);
}

}  // extern "C"
