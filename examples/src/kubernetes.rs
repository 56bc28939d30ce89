//! Kubernetes pod settings, which Python kfp needs the kfp-kubernetes package for: volumes,
//! secrets, config maps, scheduling, pod metadata, shared memory, a timeout, and a volume
//! created for the run and deleted after it.

use kfp::kubernetes::{CreatePvc, EmptyDir, ImagePullPolicy, NodeAffinity, NodeOperator, PvcName, TaintEffect, Toleration};
use kfp::prelude::*;

/// Names the volume claim of a run.
#[component]
pub fn claim_name(prefix: String) -> String {
    format!("{prefix}-claim")
}

/// Lists what the mounted volumes and injected settings hold.
#[component]
pub fn inspect(message: String) -> String {
    let user = std::env::var("USER").unwrap_or_default();
    format!("{message}: user {user}")
}

/// One task with every pod setting, and loop tasks whose volume and secret come from inputs.
#[pipeline(name = "kubernetes-settings")]
pub fn kubernetes_settings(#[default("shared-data")] pvc: String, #[default("db-creds")] secret: String) {
    let claim = claim_name("run");
    // Paths rooted in `kfp` are plain calls inside a pipeline body, not component calls.
    let volume = kfp::kubernetes::create_pvc(
        CreatePvc::new(PvcName::Suffix("-scratch".into()), "ReadWriteOnce", "5Gi").storage_class("standard"),
    );
    let inspected = inspect("all settings")
        .mount_pvc("static-pvc", "/data")
        .mount_pvc_sub_path(pvc, "/param", "sub")
        .mount_pvc(claim.outputs.output, "/scratch")
        .use_secret_as_env("s1", [("user", "USER"), ("password", "PASSWORD")])
        .use_optional_secret_as_env(secret, [("token", "TOKEN")])
        .use_secret_as_volume("s2", "/secrets")
        .use_config_map_as_env("cm", [("foo", "FOO")])
        .use_optional_config_map_as_volume("cm2", "/cm")
        .add_node_selector("cloud.google.com/gke-accelerator", "nvidia-tesla-p4")
        .add_toleration(Toleration::equal("key1", "value1").effect(TaintEffect::NoExecute).for_seconds(10))
        .add_toleration(Toleration::exists("gpu"))
        .add_node_affinity(NodeAffinity::preferred(10).match_expression("zone", NodeOperator::In, ["a", "b"]))
        .add_node_affinity(NodeAffinity::required().match_field("metadata.name", NodeOperator::NotIn, ["n1"]))
        .set_image_pull_secrets(["regcred"])
        .set_image_pull_secrets([secret])
        .set_image_pull_policy(ImagePullPolicy::IfNotPresent)
        .add_pod_label("team", "ml")
        .add_pod_annotation("note", "hi")
        .empty_dir_mount(EmptyDir::new("cache", "/cache").medium("Memory").size_limit("1Gi"))
        .empty_dir_mount(EmptyDir::new("tmp", "/tmp2"))
        .set_shared_memory("2Gi")
        .use_field_path_as_env("POD_NAME", "metadata.name")
        .set_timeout(3600)
        .mount_pvc(volume.outputs.name, "/volume");
    kfp::kubernetes::delete_pvc(volume.outputs.name).after(&inspected);
    ParallelFor(["a".to_string(), "b".to_string()], |item| {
        inspect(item).mount_pvc(pvc, "/shared").use_secret_as_volume(secret, "/creds")
    });
}
