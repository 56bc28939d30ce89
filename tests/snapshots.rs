//! The exact YAML of every example pipeline. Review changes with `cargo insta review`.

use kfp::compiler::compile::{CompileOptions, compile, sanitize_k8s_name, to_yaml};

#[test]
fn example_pipelines_compile_to_the_reviewed_yaml() {
    for pipeline in kfp_examples::PIPELINES {
        let definition = pipeline.definition();
        let spec = compile(&definition, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let yaml = to_yaml(&spec).expect("yaml");
        insta::assert_snapshot!(sanitize_k8s_name(definition.name), yaml);
    }
}

#[test]
fn compiling_twice_gives_identical_bytes() {
    for pipeline in kfp_examples::PIPELINES {
        let once = to_yaml(&compile(&pipeline.definition(), &CompileOptions::default()).unwrap()).unwrap();
        let twice = to_yaml(&compile(&pipeline.definition(), &CompileOptions::default()).unwrap()).unwrap();
        assert_eq!(once, twice);
    }
}
