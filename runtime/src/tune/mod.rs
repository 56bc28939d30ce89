//! Hyperparameter tuning: studies, TPE and random samplers, Hyperband and median pruners (issue 5).
