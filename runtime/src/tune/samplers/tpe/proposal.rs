//! How TPE draws its candidates from l, the good trials' estimator, before picking the one with
//! the best ratio l(x)/g(x).

/// Fewest jointly drawn parameters for which `TpeProposal::ByDimension` recombines.
const RECOMBINE_FROM: usize = 6;
/// Candidates per parameter when recombining.
const CANDIDATES_PER_PARAMETER: usize = 6;

/// The candidate draw of multivariate TPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpeProposal {
    /// Optuna's: `n_ei_candidates` draws, each around one kernel of l, so every coordinate of a
    /// candidate lies near the same good trial (or comes from the prior).
    Optuna,
    /// Optuna's below six jointly drawn parameters. From six on, each coordinate of a candidate
    /// comes from its own kernel of l, so candidates recombine the good trials' coordinates
    /// (still scored by the joint ratio), and there are at least six candidates per parameter.
    /// With few good trials in many dimensions, Optuna's candidates stay close to those few
    /// points. Measured by `cargo bench --bench tpe_defaults -- --rule proposal` (21 test
    /// functions in 2 to 20 dimensions, 200 seeds from 5000, the other defaults in place): below
    /// six parameters the same trials; after 100 trials lower on all eight 10- and
    /// 20-dimensional functions (P(lower) 0.53–0.69, most on Ackley-20); lower in 26 of the 33
    /// cells where it differs (P 0.46–0.69). When it was introduced (equal weights in the good
    /// group), on the tuning benchmark's log_sphere10 (d = 10), median regret after 25 / 50 /
    /// 100 trials over seeds 100..399 went from 9.49 / 4.24 / 1.47 to 8.46 / 3.38 / 1.02
    /// (Optuna: 9.32 / 3.88 / 1.37).
    ByDimension,
}

impl TpeProposal {
    /// Whether the candidates recombine kernels, and how many to draw, for `n_dims` jointly
    /// drawn parameters.
    pub(super) fn plan(self, n_dims: usize, n_ei_candidates: usize) -> (bool, usize) {
        match self {
            TpeProposal::ByDimension if n_dims >= RECOMBINE_FROM => (true, n_ei_candidates.max(CANDIDATES_PER_PARAMETER * n_dims)),
            _ => (false, n_ei_candidates),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recombination_starts_at_six_parameters() {
        assert_eq!(TpeProposal::ByDimension.plan(5, 24), (false, 24));
        assert_eq!(TpeProposal::ByDimension.plan(6, 24), (true, 36));
        assert_eq!(TpeProposal::ByDimension.plan(10, 24), (true, 60));
        assert_eq!(TpeProposal::ByDimension.plan(6, 100), (true, 100));
        assert_eq!(TpeProposal::Optuna.plan(20, 24), (false, 24));
    }
}
