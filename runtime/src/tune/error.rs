//! Errors of the tuner. Every message names the culprit (parameter, trial, file, line).

use std::path::PathBuf;

/// What went wrong in a study, a trial, a storage or a search space.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    #[error("parameter `{name}`: {reason}")]
    InvalidDistribution { name: String, reason: String },
    #[error(
        "parameter `{name}`: distribution {new} conflicts with {old} used earlier for this name"
    )]
    DistributionConflict { name: String, old: String, new: String },
    #[error("parameter `{name}`: value {value} is not in {distribution}")]
    ValueOutOfRange { name: String, value: String, distribution: String },
    #[error("search space: {0}")]
    SearchSpace(String),
    #[error("study `{study}` does not exist in {storage}")]
    NoSuchStudy { study: String, storage: String },
    #[error("study `{study}` already exists in {storage} (load it to resume)")]
    StudyExists { study: String, storage: String },
    #[error("study `{study}` was created with direction {existing}, not {requested}")]
    DirectionMismatch { study: String, existing: String, requested: String },
    #[error("study `{study}` has no trial {number}")]
    NoSuchTrial { study: String, number: u64 },
    #[error("trial {number} of study `{study}` is {state}, it can no longer be changed")]
    TrialFinished { study: String, number: u64, state: String },
    #[error("study `{0}` has no completed trial yet")]
    NoCompletedTrial(String),
    #[error("objective value of trial {number} is {value}; a trial's value must be a finite number")]
    NonFiniteValue { number: u64, value: f64 },
    #[error("invalid setting `{name}`: {reason}")]
    InvalidSetting { name: &'static str, reason: String },
    #[error("journal {path}: line {line}: {reason}")]
    MalformedJournal { path: PathBuf, line: usize, reason: String },
    #[error("journal {path}: {source}")]
    JournalIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Katib experiment: {0}")]
    Katib(String),
}

/// Returned (through `anyhow`) by an objective that stops a trial early: `return Err(TrialPruned.into())`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("trial pruned")]
pub struct TrialPruned;
