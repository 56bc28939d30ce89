//! Compile errors that name the pipeline, the task and the field.

use std::fmt;

/// One problem found while compiling a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub pipeline: String,
    /// The task key (`train-2`) or the path of nested tasks (`inner/train`), if task-specific.
    pub task: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pipeline '{}'", self.pipeline)?;
        if let Some(task) = &self.task {
            write!(f, ", task '{task}'")?;
        }
        write!(f, ", {}: {}", self.field, self.message)
    }
}

/// Every problem found in one pipeline; compilation reports them all at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CompileErrors(pub Vec<CompileError>);

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}
