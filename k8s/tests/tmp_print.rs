#[test]
fn print() {
    let spec = kfp_compiler::compile::LaunchSpec { nodes: 2, nproc_per_node: 8, image: "img:1".into(), resources: kfp_compiler::dsl::Resources { cpu_limit: Some("8".into()), accelerator_type: Some("nvidia.com/gpu".into()), ..Default::default() }, env: vec![("A".into(), "yes".into())] };
    let t = kfp_k8s::pytorchjob::JobTarget { name: "train-abc".into(), namespace: None, component: "train".into(), binary: "/usr/local/bin/x".into(), executor_input: "{{$}}".into(), backoff_limit: 0, active_deadline_seconds: None };
    println!("{}", kfp_k8s::pytorchjob::to_yaml(&kfp_k8s::pytorchjob::build(&spec, &t)).unwrap());
}
