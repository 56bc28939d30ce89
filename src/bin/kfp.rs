fn main() -> std::process::ExitCode {
    kfp::cli::main()
}
