fn main() -> std::process::ExitCode {
    #[cfg(feature = "torch")]
    let studies = [kfp_examples::flagship::KATIB];
    #[cfg(not(feature = "torch"))]
    let studies = [];
    kfp::app::main_with_katib(kfp_examples::PIPELINES, &studies)
}
