//! Artifact URI -> local path, as the KFP launcher's `LocalPathForURI` maps it, plus the
//! local-root override used by tests, `sim_launcher.py --rooted` and the local runner.

use std::path::{Path, PathBuf};

/// Environment variable naming a directory that every launcher path (`/gcs/...`, `/minio/...`,
/// `/s3/...`, `/oci/...`) is placed under. Unset in a real KFP pod.
pub const LOCAL_ROOT_ENV: &str = "KFP_LOCAL_PATH_ROOT";

/// The launcher path for `uri`: `gs://b/k` -> `/gcs/b/k`, `minio://b/k` -> `/minio/b/k`,
/// `s3://b/k` -> `/s3/b/k`, `oci://reg/img` -> `/oci/reg_img/models`. A URI that already is an
/// absolute local path (what the local runner writes) maps to itself. Anything else has no
/// local path.
pub fn launcher_path_for_uri(uri: &str) -> Option<String> {
    const MOUNTS: [(&str, &str); 3] = [
        ("gs://", "/gcs/"),
        ("minio://", "/minio/"),
        ("s3://", "/s3/"),
    ];
    for (scheme, mount) in MOUNTS {
        if let Some(rest) = uri.strip_prefix(scheme) {
            return Some(format!("{mount}{rest}"));
        }
    }
    if let Some(rest) = uri.strip_prefix("oci://") {
        return Some(format!("/oci/{}/models", rest.replace('/', "_")));
    }
    uri.starts_with('/').then(|| uri.to_owned())
}

/// Where the artifact at `uri` lives on this machine: the launcher path, placed under
/// `local_root` when there is one. Local-path URIs are never re-rooted: they already are
/// where the file is.
pub fn local_path_for_uri(uri: &str, local_root: Option<&Path>) -> Option<PathBuf> {
    let launcher_path = launcher_path_for_uri(uri)?;
    match local_root {
        Some(root) if !uri.starts_with('/') => {
            Some(root.join(launcher_path.trim_start_matches('/')))
        }
        _ => Some(PathBuf::from(launcher_path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_like_the_launcher() {
        assert_eq!(
            launcher_path_for_uri("gs://b/k/x").as_deref(),
            Some("/gcs/b/k/x")
        );
        assert_eq!(
            launcher_path_for_uri("minio://mlpipeline/v2/a").as_deref(),
            Some("/minio/mlpipeline/v2/a")
        );
        assert_eq!(
            launcher_path_for_uri("s3://b/k").as_deref(),
            Some("/s3/b/k")
        );
        assert_eq!(
            launcher_path_for_uri("oci://reg/img:1").as_deref(),
            Some("/oci/reg_img:1/models")
        );
        assert_eq!(
            launcher_path_for_uri("/tmp/run/a").as_deref(),
            Some("/tmp/run/a")
        );
        assert_eq!(launcher_path_for_uri("http://x/y"), None);
    }

    #[test]
    fn root_override_prefixes_mount_paths_only() {
        let root = Path::new("/r");
        assert_eq!(
            local_path_for_uri("minio://b/k", Some(root)),
            Some(PathBuf::from("/r/minio/b/k"))
        );
        assert_eq!(
            local_path_for_uri("/abs/k", Some(root)),
            Some(PathBuf::from("/abs/k"))
        );
        assert_eq!(
            local_path_for_uri("gs://b/k", None),
            Some(PathBuf::from("/gcs/b/k"))
        );
    }
}
