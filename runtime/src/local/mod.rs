//! The local runner: executes a compiled pipeline without a cluster (issue 3).
