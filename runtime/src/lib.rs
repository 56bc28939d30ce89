//! What runs inside kfp-rs containers and on a laptop: the KFP v2 executor protocol,
//! the local runner, the hyperparameter tuner and (feature `torch`) the tch trainer.

pub mod executor;
pub mod local;
pub mod tune;
/// The launcher always; the trainer with feature `torch`.
pub mod train;
