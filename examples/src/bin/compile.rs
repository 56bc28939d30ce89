fn main() -> std::process::ExitCode {
    kfp::app::main(kfp_examples::PIPELINES)
}
