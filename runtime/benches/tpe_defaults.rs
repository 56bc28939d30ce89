//! `cargo bench -p kfp-runtime --bench tpe_defaults [-- --rule gamma|proposal|weights --seeds 200 --seed-base 5000]`
//!
//! The evidence behind three of TPE's defaults that differ from Optuna's: `TpeGamma::ByDimension`,
//! the size of the good group (a share that shrinks with the dimension, against Optuna's 10 %),
//! `TpeProposal::ByDimension`, the candidate draw (recombined coordinates and more candidates
//! from six parameters on, against Optuna's draws around one kernel each), and
//! `TpeGoodWeights::ByRank`, the good trials' weights (by rank, against Optuna's equal weights).
//! Each rule is compared with Optuna's, the other defaults left as they are, on standard test
//! functions in 2 to 20 dimensions that are not the tuning benchmark's (Rosenbrock,
//! Styblinski-Tang, Ackley, Levy, Hartmann, six-hump camel, and an integer and a mixed space),
//! with multivariate TPE. Prints the median regret after 25, 50 and 100 trials of each, the
//! chance that a seed with our rule ends lower (0.5: no difference) and a bootstrap 95 % interval
//! of the difference of the medians. Without `--rule`, all three.

mod common;

use common::{chance_lower, median_difference_interval, parallel, quantiles};
use kfp_runtime::tune::{Direction, OptimizeOptions, Study, TpeGamma, TpeGoodWeights, TpeProposal, TpeSampler, Trial, TuneError};
use std::f64::consts::{E, PI};

type Objective = fn(&mut Trial) -> Result<f64, TuneError>;

/// `d` floats x0.. in [low, high].
fn floats(t: &mut Trial, d: usize, low: f64, high: f64) -> Result<Vec<f64>, TuneError> {
    (0..d).map(|i| t.suggest_float(&format!("x{i}"), low, high)).collect()
}

fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2).map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2)).sum()
}

/// Shifted so that the minimum is 0 (−39.16616570377142 per dimension).
fn styblinski_tang(x: &[f64]) -> f64 {
    x.iter().map(|v| 0.5 * (v.powi(4) - 16.0 * v * v + 5.0 * v)).sum::<f64>() + 39.166_165_703_771_42 * x.len() as f64
}

fn ackley(x: &[f64]) -> f64 {
    let d = x.len() as f64;
    let squares: f64 = x.iter().map(|v| v * v).sum();
    let cosines: f64 = x.iter().map(|v| (2.0 * PI * v).cos()).sum();
    -20.0 * (-0.2 * (squares / d).sqrt()).exp() - (cosines / d).exp() + 20.0 + E
}

fn levy(x: &[f64]) -> f64 {
    let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
    let last = w[w.len() - 1];
    let inner: f64 = w[..w.len() - 1].iter().map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2))).sum();
    (PI * w[0]).sin().powi(2) + inner + (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2))
}

/// Hartmann with the 4 × d matrices `a` and `p`, shifted by its known minimum.
fn hartmann<const D: usize>(x: &[f64], a: [[f64; D]; 4], p: [[f64; D]; 4], minimum: f64) -> f64 {
    let alpha = [1.0, 1.2, 3.0, 3.2];
    let sum: f64 = (0..4).map(|i| alpha[i] * (-(0..D).map(|j| a[i][j] * (x[j] - p[i][j]).powi(2)).sum::<f64>()).exp()).sum();
    -sum - minimum
}

fn hartmann3(x: &[f64]) -> f64 {
    let a = [[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]];
    let p = [[0.3689, 0.1170, 0.2673], [0.4699, 0.4387, 0.7470], [0.1091, 0.8732, 0.5547], [0.0381, 0.5743, 0.8828]];
    hartmann(x, a, p, -3.862_78)
}

fn hartmann6(x: &[f64]) -> f64 {
    let a = [[10.0, 3.0, 17.0, 3.5, 1.7, 8.0], [0.05, 10.0, 17.0, 0.1, 8.0, 14.0], [3.0, 3.5, 1.7, 10.0, 17.0, 8.0], [17.0, 8.0, 0.05, 10.0, 0.1, 14.0]];
    let p = [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ];
    hartmann(x, a, p, -3.322_37)
}

fn six_hump_camel(a: f64, b: f64) -> f64 {
    (4.0 - 2.1 * a * a + a.powi(4) / 3.0) * a * a + a * b + (-4.0 + 4.0 * b * b) * b * b + 1.031_628_453_489_877
}

/// Name, objective (regret: every minimum is 0 up to the published digits).
const FUNCTIONS: [(&str, Objective); 21] = [
    ("rosenbrock2", |t| Ok(rosenbrock(&floats(t, 2, -5.0, 10.0)?))),
    ("rosenbrock5", |t| Ok(rosenbrock(&floats(t, 5, -5.0, 10.0)?))),
    ("styblinski_tang2", |t| Ok(styblinski_tang(&floats(t, 2, -5.0, 5.0)?))),
    ("styblinski_tang5", |t| Ok(styblinski_tang(&floats(t, 5, -5.0, 5.0)?))),
    ("styblinski_tang8", |t| Ok(styblinski_tang(&floats(t, 8, -5.0, 5.0)?))),
    ("ackley2", |t| Ok(ackley(&floats(t, 2, -32.768, 32.768)?))),
    ("ackley6", |t| Ok(ackley(&floats(t, 6, -32.768, 32.768)?))),
    ("levy4", |t| Ok(levy(&floats(t, 4, -10.0, 10.0)?))),
    ("rosenbrock10", |t| Ok(rosenbrock(&floats(t, 10, -5.0, 10.0)?))),
    ("styblinski_tang10", |t| Ok(styblinski_tang(&floats(t, 10, -5.0, 5.0)?))),
    ("ackley10", |t| Ok(ackley(&floats(t, 10, -32.768, 32.768)?))),
    ("levy10", |t| Ok(levy(&floats(t, 10, -10.0, 10.0)?))),
    ("rosenbrock20", |t| Ok(rosenbrock(&floats(t, 20, -5.0, 10.0)?))),
    ("styblinski_tang20", |t| Ok(styblinski_tang(&floats(t, 20, -5.0, 5.0)?))),
    ("ackley20", |t| Ok(ackley(&floats(t, 20, -32.768, 32.768)?))),
    ("levy20", |t| Ok(levy(&floats(t, 20, -10.0, 10.0)?))),
    ("hartmann3", |t| Ok(hartmann3(&floats(t, 3, 0.0, 1.0)?))),
    ("hartmann6", |t| Ok(hartmann6(&floats(t, 6, 0.0, 1.0)?))),
    ("six_hump_camel", |t| {
        let a = t.suggest_float("a", -3.0, 3.0)?;
        let b = t.suggest_float("b", -2.0, 2.0)?;
        Ok(six_hump_camel(a, b))
    }),
    ("int_sphere4", |t| {
        let ks: Vec<i64> = (0..4).map(|i| t.suggest_int(&format!("k{i}"), -20, 20)).collect::<Result<_, _>>()?;
        Ok(ks.iter().map(|&k| ((k - 3) * (k - 3)) as f64).sum())
    }),
    ("mixed3", |t| {
        let offset = match t.suggest_categorical("c", &["a", "b", "c", "d"])? {
            "a" => 0.3,
            "b" => 0.0,
            "c" => 0.1,
            _ => 0.5,
        };
        let x = t.suggest_float_log("x", 1e-4, 1.0)?;
        let k = t.suggest_int("k", 1, 64)?;
        Ok(offset + (x.log10() + 2.5).powi(2) + 0.1 * ((k as f64).log2() - 3.3).powi(2))
    }),
];

const BUDGETS: [usize; 3] = [25, 50, 100];

/// A default of ours that differs from Optuna's.
#[derive(Clone, Copy)]
enum Rule {
    Gamma,
    Proposal,
    Weights,
}

impl Rule {
    fn title(self) -> &'static str {
        match self {
            Rule::Gamma => "good-group size: Optuna's γ against `TpeGamma::ByDimension`",
            Rule::Proposal => "candidate draw: Optuna's against `TpeProposal::ByDimension`",
            Rule::Weights => "good trials' weights: Optuna's against `TpeGoodWeights::ByRank`",
        }
    }

    /// The default sampler with this rule set to ours or to Optuna's.
    fn sampler(self, seed: u64, ours: bool) -> TpeSampler {
        let mut sampler = TpeSampler::new(Some(seed));
        match (self, ours) {
            (Rule::Gamma, false) => sampler.gamma = TpeGamma::Optuna,
            (Rule::Proposal, false) => sampler.proposal = TpeProposal::Optuna,
            (Rule::Weights, false) => sampler.good_weights = TpeGoodWeights::Optuna,
            (_, true) => {}
        }
        sampler
    }
}

/// Best value after each trial of one seeded study.
fn best_trace(name: &str, objective: Objective, sampler: TpeSampler, seed: u64) -> Vec<f64> {
    let study = Study::builder().name(format!("{name}-{seed}")).direction(Direction::Minimize).sampler(sampler).build().expect("in-memory study");
    study.optimize_with(objective, OptimizeOptions::trials(BUDGETS[2]).progress(false)).expect("study runs");
    let mut best = f64::INFINITY;
    study.trials().expect("in-memory trials").iter().map(|t| {
        best = best.min(t.value.unwrap_or(f64::INFINITY));
        best
    }).collect()
}

fn compare(rule: Rule, seeds: &[u64]) {
    println!("# TPE {} ({} seeds from {}, multivariate TPE)\n", rule.title(), seeds.len(), seeds[0]);
    println!("| function | trials | Optuna's | ours | P(ours lower) | ours − Optuna's [95 % interval] |");
    println!("|---|---|---|---|---|---|");
    let (mut lower, mut higher, mut cells) = (0, 0, 0);
    for (name, objective) in FUNCTIONS {
        let run = |ours: bool| parallel(seeds, |&seed| best_trace(name, objective, rule.sampler(seed, ours), seed));
        let (optunas, ours) = (run(false), run(true));
        for budget in BUDGETS {
            let at = |traces: &[Vec<f64>]| traces.iter().map(|t| t[budget - 1]).collect::<Vec<f64>>();
            let (a, b) = (at(&ours), at(&optunas));
            let (ma, mb) = (quantiles(&a)[0], quantiles(&b)[0]);
            lower += usize::from(ma < mb);
            higher += usize::from(ma > mb);
            cells += 1;
            let [low, high] = median_difference_interval(&a, &b);
            println!("| {name} | {budget} | {mb:.4e} | {ma:.4e} | {:.2} | {:.2e} [{low:.2e}, {high:.2e}] |", chance_lower(&a, &b), ma - mb);
        }
    }
    println!("\nOur median lower in {lower} of {cells} cells, higher in {higher} (the rest: the same trials or equal medians).\n");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let number = |name: &str, default: u64| value(name).map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number, got `{v}`")));
    let (n_seeds, seed_base) = (number("--seeds", 200), number("--seed-base", 5000));
    let rules = match value("--rule").map(String::as_str) {
        None => vec![Rule::Gamma, Rule::Proposal, Rule::Weights],
        Some("gamma") => vec![Rule::Gamma],
        Some("proposal") => vec![Rule::Proposal],
        Some("weights") => vec![Rule::Weights],
        Some(other) => panic!("--rule takes gamma, proposal or weights, got `{other}`"),
    };
    let seeds: Vec<u64> = (seed_base..seed_base + n_seeds).collect();
    for rule in rules {
        compare(rule, &seeds);
    }
}
