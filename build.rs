//! Binaries and tests of this crate find libtorch without LD_LIBRARY_PATH when kfp-runtime
//! is built with its `torch` feature.
fn main() {
    if let Ok(lib) = std::env::var("DEP_KFP_C10D_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
