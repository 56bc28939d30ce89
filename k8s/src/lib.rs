//! Kubernetes side of kfp-rs: the PyTorchJob a distributed component runs as
//! ([`pytorchjob`]), the launcher that runs it from a pipeline step ([`launcher`], feature
//! `launcher`, kube-rs), the relay that brings the job's outputs back to the step ([`relay`]),
//! and the Dockerfile that builds a pipeline binary into its image ([`dockerfile`]).

pub mod dockerfile;
#[cfg(feature = "launcher")]
pub mod launcher;
#[cfg(feature = "launcher")]
mod launcher_main;
pub mod pytorchjob;
pub mod relay;

#[cfg(feature = "launcher")]
pub use launcher_main::launcher_main;
