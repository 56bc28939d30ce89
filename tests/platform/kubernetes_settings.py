"""kfp + kfp-kubernetes 2.17.3 twin of examples/src/kubernetes.rs (kfp-rs `kubernetes_settings`)."""
import sys

from google.protobuf import json_format
from kfp import compiler, dsl, kubernetes
from kfp.kubernetes import common


@dsl.component(base_image="python:3.11")
def claim_name(prefix: str) -> str:
    return f"{prefix}-claim"


@dsl.component(base_image="python:3.11")
def inspect(message: str) -> str:
    return message


def set_shared_memory(task, size):
    """kfp-kubernetes 2.17.3 has `enabledSharedMemory` in its proto but no setter; this is how
    its own setters record a field."""
    msg = common.get_existing_kubernetes_config_as_message(task)
    msg.enabled_shared_memory.size = size
    task.platform_config["kubernetes"] = json_format.MessageToDict(msg)
    return task


@dsl.pipeline(name="kubernetes-settings")
def kubernetes_settings(pvc: str = "shared-data", secret: str = "db-creds"):
    claim = claim_name(prefix="run")
    volume = kubernetes.CreatePVC(
        pvc_name_suffix="-scratch", access_modes=["ReadWriteOnce"], size="5Gi", storage_class_name="standard"
    )
    t = inspect(message="all settings")
    kubernetes.mount_pvc(t, pvc_name="static-pvc", mount_path="/data")
    kubernetes.mount_pvc(t, pvc_name=pvc, mount_path="/param", sub_path="sub")
    kubernetes.mount_pvc(t, pvc_name=claim.output, mount_path="/scratch")
    kubernetes.use_secret_as_env(t, secret_name="s1", secret_key_to_env={"user": "USER", "password": "PASSWORD"})
    kubernetes.use_secret_as_env(t, secret_name=secret, secret_key_to_env={"token": "TOKEN"}, optional=True)
    kubernetes.use_secret_as_volume(t, secret_name="s2", mount_path="/secrets")
    kubernetes.use_config_map_as_env(t, config_map_name="cm", config_map_key_to_env={"foo": "FOO"})
    kubernetes.use_config_map_as_volume(t, config_map_name="cm2", mount_path="/cm", optional=True)
    kubernetes.add_node_selector(t, "cloud.google.com/gke-accelerator", "nvidia-tesla-p4")
    kubernetes.add_toleration(t, key="key1", operator="Equal", value="value1", effect="NoExecute", toleration_seconds=10)
    kubernetes.add_toleration(t, key="gpu", operator="Exists")
    kubernetes.add_node_affinity(t, match_expressions=[{"key": "zone", "operator": "In", "values": ["a", "b"]}], weight=10)
    kubernetes.add_node_affinity(t, match_fields=[{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}])
    kubernetes.set_image_pull_secrets(t, ["regcred"])
    kubernetes.set_image_pull_secrets(t, [secret])
    kubernetes.set_image_pull_policy(t, "IfNotPresent")
    kubernetes.add_pod_label(t, "team", "ml")
    kubernetes.add_pod_annotation(t, "note", "hi")
    kubernetes.empty_dir_mount(t, volume_name="cache", mount_path="/cache", medium="Memory", size_limit="1Gi")
    kubernetes.empty_dir_mount(t, volume_name="tmp", mount_path="/tmp2")
    set_shared_memory(t, "2Gi")
    kubernetes.use_field_path_as_env(t, env_name="POD_NAME", field_path="metadata.name")
    kubernetes.set_timeout(t, 3600)
    kubernetes.mount_pvc(t, pvc_name=volume.outputs["name"], mount_path="/volume")
    kubernetes.DeletePVC(pvc_name=volume.outputs["name"]).after(t)
    with dsl.ParallelFor(["a", "b"]) as item:
        looped = inspect(message=item)
        kubernetes.mount_pvc(looped, pvc_name=pvc, mount_path="/shared")
        kubernetes.use_secret_as_volume(looped, secret_name=secret, mount_path="/creds")


if __name__ == "__main__":
    compiler.Compiler().compile(kubernetes_settings, sys.argv[1])
