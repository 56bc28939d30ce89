//! The KFP v2 container executor protocol (issue 3).
