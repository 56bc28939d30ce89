//! Set-up shared by the local-runner tests: run options whose executor image maps to the
//! `kfp-test-executor` binary built with the tests.

use kfp_compiler::ir::ComponentInputsSpec;
use kfp_runtime::local::{BinaryMap, RunOptions, parse_arguments};
use std::path::Path;

/// The executor path the test fixtures' containers name.
pub const EXECUTOR_IN_IMAGE: &str = "/usr/local/bin/kfp-test-executor";

/// Quiet options under `root` with `args` (`name=value`) parsed against `spec_inputs`, two
/// executors at a time, and the fixtures' image mapped to the test executor.
pub fn options(root: &Path, args: &[&str], spec_inputs: &ComponentInputsSpec) -> RunOptions {
    let mut options = RunOptions::new(root);
    options.binaries = BinaryMap::parse(&[format!("{EXECUTOR_IN_IMAGE}={}", env!("CARGO_BIN_EXE_kfp-test-executor"))]).unwrap();
    options.arguments = parse_arguments(spec_inputs, &args.iter().map(|a| a.to_string()).collect::<Vec<_>>()).unwrap();
    options.quiet = true;
    options.parallelism = 2;
    options
}
