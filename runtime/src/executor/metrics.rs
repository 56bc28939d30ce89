//! Typed helpers for the artifacts the KFP UI renders. The metadata keys are the ones kfp's
//! `dsl/types/artifact_types.py` writes and the UI reads: scalar metrics by name,
//! `confusionMatrix {annotationSpecs: [{displayName}], rows: [{row: [..]}]}` and
//! `confidenceMetrics [{confidenceThreshold, recall, falsePositiveRate}]`.

use super::artifact::Output;
use super::fsio::write_atomic;
use kfp_compiler::dsl::{ClassificationMetrics, Html, Markdown, Metrics};
use serde_json::{Value, json};

/// A metrics call with inconsistent dimensions.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("confusion matrix has {rows} rows for {categories} categories")]
    MatrixRows { rows: usize, categories: usize },
    #[error("confusion matrix row {row} has {len} values for {categories} categories")]
    MatrixRow {
        row: usize,
        len: usize,
        categories: usize,
    },
    #[error("ROC curve needs equal lengths, got fpr {fpr}, tpr {tpr}, thresholds {thresholds}")]
    RocLengths {
        fpr: usize,
        tpr: usize,
        thresholds: usize,
    },
}

impl Output<Metrics> {
    /// A scalar shown in the run's "Scalar metrics" table.
    pub fn log_metric(&self, name: impl Into<String>, value: f64) {
        self.set_metadata(name, value);
    }
}

impl Output<ClassificationMetrics> {
    /// Replaces the confusion matrix: `matrix[i][j]` counts items of `categories[i]` predicted
    /// as `categories[j]`.
    pub fn log_confusion_matrix(
        &self,
        categories: &[impl AsRef<str>],
        matrix: &[Vec<u64>],
    ) -> Result<(), MetricsError> {
        let n = categories.len();
        if matrix.len() != n {
            return Err(MetricsError::MatrixRows {
                rows: matrix.len(),
                categories: n,
            });
        }
        if let Some((row, values)) = matrix.iter().enumerate().find(|(_, r)| r.len() != n) {
            return Err(MetricsError::MatrixRow {
                row,
                len: values.len(),
                categories: n,
            });
        }
        let specs: Vec<Value> = categories
            .iter()
            .map(|c| json!({"displayName": c.as_ref()}))
            .collect();
        let rows: Vec<Value> = matrix.iter().map(|r| json!({"row": r})).collect();
        self.set_metadata(
            "confusionMatrix",
            json!({"annotationSpecs": specs, "rows": rows}),
        );
        Ok(())
    }

    /// Appends ROC points: false positive rate, true positive rate (recall) and the confidence
    /// threshold of each.
    pub fn log_roc_curve(
        &self,
        fpr: &[f64],
        tpr: &[f64],
        thresholds: &[f64],
    ) -> Result<(), MetricsError> {
        if fpr.len() != tpr.len() || fpr.len() != thresholds.len() {
            return Err(MetricsError::RocLengths {
                fpr: fpr.len(),
                tpr: tpr.len(),
                thresholds: thresholds.len(),
            });
        }
        for ((f, t), th) in fpr.iter().zip(tpr).zip(thresholds) {
            self.log_roc_data_point(*f, *t, *th);
        }
        Ok(())
    }

    /// Appends one ROC point.
    pub fn log_roc_data_point(&self, fpr: f64, tpr: f64, threshold: f64) {
        self.update_metadata(|metadata| {
            let point =
                json!({"confidenceThreshold": threshold, "recall": tpr, "falsePositiveRate": fpr});
            match metadata.get_mut("confidenceMetrics") {
                Some(Value::Array(points)) => points.push(point),
                _ => {
                    metadata.insert("confidenceMetrics".into(), Value::Array(vec![point]));
                }
            }
        });
    }
}

impl Output<Html> {
    /// Writes the page the KFP UI renders.
    pub fn write(&self, html: &str) -> std::io::Result<()> {
        write_atomic(self.path(), html.as_bytes())
    }
}

impl Output<Markdown> {
    /// Writes the document the KFP UI renders.
    pub fn write(&self, markdown: &str) -> std::io::Result<()> {
        write_atomic(self.path(), markdown.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_metadata_has_the_ui_keys() {
        let dir = tempfile::tempdir().unwrap();
        let out = Output::<ClassificationMetrics>::at_path(dir.path().join("m")).unwrap();
        out.log_confusion_matrix(&["cat", "dog"], &[vec![5, 1], vec![2, 7]])
            .unwrap();
        out.log_roc_curve(&[0.0, 0.5], &[0.0, 0.9], &[1.0, 0.5])
            .unwrap();
        assert_eq!(
            Value::Object(out.metadata()).to_string(),
            r#"{"confusionMatrix":{"annotationSpecs":[{"displayName":"cat"},{"displayName":"dog"}],"rows":[{"row":[5,1]},{"row":[2,7]}]},"confidenceMetrics":[{"confidenceThreshold":1.0,"recall":0.0,"falsePositiveRate":0.0},{"confidenceThreshold":0.5,"recall":0.9,"falsePositiveRate":0.5}]}"#
        );
        assert!(out.log_confusion_matrix(&["a"], &[vec![1, 2]]).is_err());
        assert!(out.log_roc_curve(&[0.0], &[], &[1.0]).is_err());
    }
}
