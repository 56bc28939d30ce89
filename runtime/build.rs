//! Compiles the c10d shim (runtime/csrc) against libtorch when feature `torch` is on; otherwise
//! does nothing, so the default build needs no libtorch.
use std::env;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=csrc/c10d_shim.cpp");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    if env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let cuda = env::var_os("CARGO_FEATURE_CUDA").is_some();
    // torch-sys (a direct dependency for this reason) reports where it found libtorch.
    let lib_dir = PathBuf::from(
        env::var("DEP_TCH_LIBTORCH_LIB")
            .expect("torch-sys did not report DEP_TCH_LIBTORCH_LIB; is LIBTORCH set?"),
    );
    let libtorch = lib_dir.parent().expect("libtorch lib dir has a parent").to_path_buf();
    let include = libtorch.join("include");
    assert!(
        Path::new("/usr/include/gloo/algorithm.h").exists()
            || env::var_os("GLOO_INCLUDE_DIR").is_some(),
        "gloo headers missing: the torch wheel ships none; run scripts/setup-libtorch.sh \
         (installs Debian's libgloo-dev) or set GLOO_INCLUDE_DIR"
    );
    println!("cargo:rerun-if-env-changed=GLOO_INCLUDE_DIR");

    let mut build = cc::Build::new();
    build
        .cpp(true)
        .file("csrc/c10d_shim.cpp")
        .include(&include)
        .include(include.join("torch/csrc/api/include"))
        .flag("-std=c++17")
        .flag(format!(
            "-D_GLIBCXX_USE_CXX11_ABI={}",
            env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".to_owned())
        ))
        .flag("-DGLOG_USE_GLOG_EXPORT")
        .flag("-DUSE_C10D_GLOO")
        .flag("-Wno-unused-parameter")
        .warnings(false);
    if let Some(gloo) = env::var_os("GLOO_INCLUDE_DIR") {
        build.include(gloo);
    }
    if cuda {
        // ProcessGroupNCCL.hpp needs the CUDA runtime, CRT, CCCL and NCCL headers of the wheel
        // set, which sit beside torch/ in site-packages as nvidia/<package>/include (CUDA 13
        // wheels share nvidia/cu13/include; CCCL adds its own include/cccl below it).
        build.flag("-DUSE_C10D_NCCL").flag("-DUSE_CUDA").flag("-Wno-interference-size");
        let nvidia = libtorch.join("../nvidia");
        let packages = std::fs::read_dir(&nvidia).unwrap_or_else(|e| {
            panic!("feature `cuda` needs the CUDA wheel set beside torch/ ({}): {e}; run scripts/setup-libtorch.sh --cuda", nvidia.display())
        });
        let mut headers = Vec::new();
        for package in packages.flatten() {
            let dir = package.path().join("include");
            for dir in [dir.join("cccl"), dir] {
                if dir.is_dir() {
                    headers.push(dir);
                }
            }
        }
        headers.sort();
        for needed in ["crt/host_config.h", "cuda/std/cstdint", "nccl.h"] {
            assert!(
                headers.iter().any(|dir| dir.join(needed).exists()),
                "feature `cuda`: no {needed} under {}/*/include; run scripts/setup-libtorch.sh --cuda \
                 (it adds the nvidia-cuda-crt and nvidia-cuda-cccl header wheels)",
                nvidia.display()
            );
        }
        build.includes(headers);
    }
    build.compile("kfp_c10d_shim");

    println!("cargo:rustc-link-search=native={}", lib_dir.display());
    println!("cargo:rustc-link-lib=dylib=torch_cpu");
    println!("cargo:rustc-link-lib=dylib=c10");
    if cuda {
        // The shim calls into both (ProcessGroupNCCL, c10::cuda::set_device). As link-lib (not
        // link-arg, which reaches only this package's own targets) they are linked into every
        // binary that uses the trainer, and that NCCL reference keeps libtorch_cuda past rustc's
        // --as-needed: without it libtorch's CUDA hooks never register and CUDA looks absent.
        println!("cargo:rustc-link-lib=dylib=torch_cuda");
        println!("cargo:rustc-link-lib=dylib=c10_cuda");
    }
    // Binaries, tests and benches of this package find libtorch without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib_dir.display());
    // Dependent packages read this as DEP_KFP_C10D_LIBTORCH_LIB to emit the same rpath.
    println!("cargo:libtorch_lib={}", lib_dir.display());
}
