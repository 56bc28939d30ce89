//! A compiled pipeline file: the first YAML document is the pipeline spec, an optional second
//! one the platform spec (the layout the KFP compilers write).

use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PipelineFileError {
    #[error("cannot read pipeline file {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: not valid YAML: {reason}", path.display())]
    Yaml { path: PathBuf, reason: String },
    #[error("{}: {problem}", path.display())]
    Shape { path: PathBuf, problem: String },
}

/// A pipeline file read and checked enough to upload or run it.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    pub path: PathBuf,
    /// The file as it is on disk, uploaded unchanged.
    pub bytes: Vec<u8>,
    pub pipeline_spec: Value,
    pub platform_spec: Option<Value>,
}

impl PipelineFile {
    pub fn read(path: &Path) -> Result<PipelineFile, PipelineFileError> {
        let bytes = std::fs::read(path).map_err(|cause| PipelineFileError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        PipelineFile::parse(path, bytes)
    }

    /// Parses `bytes`; `path` is used in messages and for the upload file name.
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<PipelineFile, PipelineFileError> {
        let shape = |problem: String| PipelineFileError::Shape {
            path: path.to_path_buf(),
            problem,
        };
        let text =
            std::str::from_utf8(&bytes).map_err(|e| shape(format!("not UTF-8 text: {e}")))?;
        let mut documents: Vec<Value> =
            kfp_compiler::compile::yaml_documents(text).map_err(|e| PipelineFileError::Yaml {
                path: path.to_path_buf(),
                reason: crate::errors::one_line(&e),
            })?;
        if documents.is_empty() || documents.len() > 2 {
            return Err(shape(format!(
                "expected 1 or 2 YAML documents (pipeline spec, then platform spec), found {}",
                documents.len()
            )));
        }
        let platform_spec = (documents.len() == 2).then(|| documents.remove(1));
        let pipeline_spec = documents.remove(0);
        if !pipeline_spec.get("root").is_some_and(Value::is_object) {
            return Err(shape(
                "the first document has no `root` mapping: is this a compiled KFP pipeline?".into(),
            ));
        }
        if platform_spec.as_ref().is_some_and(|p| !p.is_object()) {
            return Err(shape(
                "the second document (platform spec) is not a mapping".into(),
            ));
        }
        Ok(PipelineFile {
            path: path.to_path_buf(),
            bytes,
            pipeline_spec,
            platform_spec,
        })
    }

    /// `pipelineInfo.name`, the default pipeline name.
    pub fn pipeline_name(&self) -> Option<&str> {
        self.pipeline_spec
            .pointer("/pipelineInfo/name")
            .and_then(Value::as_str)
    }

    /// The name the upload carries: the server picks the format from the extension, so files
    /// without a YAML or JSON extension are sent as `<name>.yaml`.
    pub fn upload_filename(&self) -> String {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "pipeline".into());
        if [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            name
        } else {
            format!("{name}.yaml")
        }
    }

    /// The `pipeline_spec` field of CreateRun: the spec alone, or `{pipeline_spec, platform_spec}`
    /// when a platform document is present (as the Python client sends it).
    pub fn run_pipeline_spec(&self) -> Value {
        match &self.platform_spec {
            None => self.pipeline_spec.clone(),
            Some(platform) => {
                serde_json::json!({ "pipeline_spec": self.pipeline_spec, "platform_spec": platform })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_and_two_document_files() {
        let one = PipelineFile::parse(
            Path::new("p.yaml"),
            b"pipelineInfo:\n  name: demo\nroot:\n  dag: {}\n".to_vec(),
        )
        .unwrap();
        assert_eq!(one.pipeline_name(), Some("demo"));
        assert_eq!(one.run_pipeline_spec()["pipelineInfo"]["name"], "demo");
        let two = PipelineFile::parse(
            Path::new("p.ir"),
            b"root: {}\n---\nplatforms: {kubernetes: {}}\n".to_vec(),
        )
        .unwrap();
        assert_eq!(
            two.run_pipeline_spec()["platform_spec"]["platforms"],
            serde_json::json!({"kubernetes": {}})
        );
        assert_eq!(two.upload_filename(), "p.ir.yaml");
    }

    #[test]
    fn non_pipeline_documents_are_rejected_with_the_file_name() {
        let err = PipelineFile::parse(Path::new("x.yaml"), b"a: 1\n".to_vec()).unwrap_err();
        assert!(
            err.to_string().starts_with("x.yaml: ") && err.to_string().contains("root"),
            "{err}"
        );
        let err =
            PipelineFile::parse(Path::new("x.yaml"), b"root: {}\n---\n- 1\n".to_vec()).unwrap_err();
        assert!(err.to_string().contains("platform"), "{err}");
        let err = PipelineFile::parse(Path::new("x.yaml"), b"root: [\n".to_vec()).unwrap_err();
        assert!(matches!(err, PipelineFileError::Yaml { .. }), "{err}");
    }
}
