//! kfp-rs attribute macros.
