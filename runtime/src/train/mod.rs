//! The tch trainer with DDP over c10d (issue 4).
