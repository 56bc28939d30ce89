#!/usr/bin/env python3
"""Optuna 5.0.0 side of `cargo bench -p kfp-runtime --bench tune`.

Does the same work as the Rust bench (problems, spaces, seeds and statistics of
shared/hpo/BASELINE.md) and prints one JSON object on stdout with the parts asked for:
suite (regret quantiles at 25/50/100 trials), overhead (ms per trial), prune and
prune_budget (pruning with a fixed trial count and at equal compute), and jobs (wall time of
a study with a CPU-bound objective for each n_jobs).
"""
import argparse
import json
import math
import multiprocessing
import sys
import time
import warnings

import numpy as np
import optuna

EPOCHS = 27
BATCH_TERM = {16: 0.02, 32: 0.0, 64: 0.01}
CURVE_OPTIMUM = 0.10174493030703267


def branin(x0, x1):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x1 - b * x0 * x0 + c * x0 - 6) ** 2 + 10 * (1 - t) * math.cos(x0) + 10


def log_sphere10(xs):
    return sum((math.log10(x) - (-2 + 4 * i / 9)) ** 2 for i, x in enumerate(xs))


def mlp_loss(lr, bs, hidden, dropout):
    du = math.log10(lr) - (-3 + 0.25 * math.log2(bs / 32))
    d_star = 0.05 + 0.35 * (hidden - 64) / 448
    return (0.1 + 0.08 * du * du + 0.12 * max(du, 0) ** 2 + 0.05 * (math.log2(hidden) - 8.4) ** 2
            + (dropout - d_star) ** 2 + BATCH_TERM[bs])


def mlp_optimum():
    return min(0.1 + 0.05 * (math.log2(h) - 8.4) ** 2 + BATCH_TERM[bs]
               for bs in (16, 32, 64) for h in range(64, 513, 64))


def curve(p, epoch):
    u = math.log10(p[0])
    tau = -5 - 3 * u
    wiggle = 0.02 * (EPOCHS - epoch) / (EPOCHS - 1) * math.sin(1.7 * epoch + 31 * u + 0.013 * p[2] + 5 * p[3])
    return mlp_loss(*p) + math.exp(-(epoch - 1) / tau) + wiggle


def suggest_mlp(t):
    return (t.suggest_float("lr", 1e-5, 1e-2, log=True), t.suggest_categorical("batch_size", [16, 32, 64]),
            t.suggest_int("hidden_size", 64, 512, step=64), t.suggest_float("dropout", 0.0, 0.5))


def evaluate(problem, t):
    if problem == "branin":
        return branin(t.suggest_float("x0", -5.0, 10.0), t.suggest_float("x1", 0.0, 15.0))
    if problem == "log_sphere10":
        return log_sphere10([t.suggest_float(f"x{i}", 1e-3, 1e3, log=True) for i in range(10)])
    return mlp_loss(*suggest_mlp(t))


OPTIMA = {"branin": 5 / (4 * math.pi), "log_sphere10": 0.0, "mlp_mixed": mlp_optimum()}


def sampler(name, seed):
    if name in ("tpe_default", "tpe_multivariate"):
        return optuna.samplers.TPESampler(seed=seed)
    if name == "tpe_univariate":
        return optuna.samplers.TPESampler(seed=seed, multivariate=False)
    return optuna.samplers.RandomSampler(seed=seed)


def pruner(name):
    return {"none": optuna.pruners.NopPruner(), "median": optuna.pruners.MedianPruner(),
            "hyperband": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS, reduction_factor=3)}[name]


def quiet():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")


def stats(values):
    q25, q50, q75 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75), "values": [float(v) for v in values]}


def suite_job(job):
    quiet()
    problem, name, seed, n = job
    study = optuna.create_study(sampler=sampler(name, seed), study_name=f"{problem}-{name}-{seed}")
    study.optimize(lambda t: evaluate(problem, t), n_trials=n)
    return np.minimum.accumulate([t.value for t in study.trials]).tolist()


def prune_job(job):
    quiet()
    name, pruner_name, seed, n, budget = job
    used = [0]

    def objective(t):
        p = suggest_mlp(t)
        for e in range(1, EPOCHS + 1):
            used[0] += 1
            t.report(curve(p, e), e)
            if e < EPOCHS and t.should_prune():
                raise optuna.TrialPruned()
        return curve(p, EPOCHS)

    def stop_when_spent(study, _trial):
        if used[0] >= budget:
            study.stop()

    study = optuna.create_study(sampler=sampler(name, seed), pruner=pruner(pruner_name),
                                study_name=f"prune-{name}-{pruner_name}-{seed}")
    if n is not None:
        study.optimize(objective, n_trials=n)
    else:
        study.optimize(objective, n_trials=5000, callbacks=[stop_when_spent])
    epochs, trace, cum, best, complete = [], [], 0, math.inf, 0
    for t in study.trials:
        cum += len(t.intermediate_values)
        if t.state == optuna.trial.TrialState.COMPLETE:
            complete += 1
            best = min(best, t.value)
        epochs.append(len(t.intermediate_values))
        trace.append((cum, best))
    return epochs, trace, complete


def run_suite(seeds, n, pool):
    jobs = [(p, s, seed, n) for p in OPTIMA for s in ("tpe_default", "tpe_univariate", "random") for seed in seeds]
    traces = pool.map(suite_job, jobs, chunksize=1)
    out = {}
    for (p, s, _, _), trace in zip(jobs, traces):
        out.setdefault(p, {}).setdefault(s, []).append(trace)
    return {p: {s: {f"regret@{c}": stats([tr[c - 1] - OPTIMA[p] for tr in trs]) for c in (25, 50, 100) if c <= n}
                for s, trs in by_s.items()} for p, by_s in out.items()}


def run_prune(seeds, n, budget, pool):
    jobs = [(s, p, seed, n, budget) for s in ("tpe_default", "random") for p in ("none", "median", "hyperband") for seed in seeds]
    results = pool.map(prune_job, jobs, chunksize=1)
    grouped = {}
    for (s, p, _, _, _), r in zip(jobs, results):
        grouped.setdefault(s, {}).setdefault(p, []).append(r)
    out = {}
    for s, by_p in grouped.items():
        for p, rs in by_p.items():
            final = [r[1][-1][1] for r in rs]
            row = {"total_epochs": stats([sum(r[0]) for r in rs]), "n_trials": stats([len(r[0]) for r in rs]),
                   "n_complete": stats([r[2] for r in rs]), "best_final": stats(final),
                   "regret_final": stats([v - CURVE_OPTIMUM for v in final])}
            for b in (300, 600, 1000):
                row[f"best_within_{b}_epochs"] = stats([([bv for ce, bv in r[1] if ce <= b] or [math.inf])[-1] for r in rs])
            out.setdefault(s, {})[p] = row
    return out


def run_overhead(ns, repeats):
    out = {}
    for name in ("tpe_univariate", "tpe_multivariate", "random"):
        for n in ns:
            means, margs = [], []
            for seed in range(repeats):
                stamps = []
                study = optuna.create_study(sampler=sampler(name, seed))
                t0 = time.perf_counter()
                study.optimize(lambda t: mlp_loss(*suggest_mlp(t)), n_trials=n,
                               callbacks=[lambda _s, _t: stamps.append(time.perf_counter())])
                means.append((time.perf_counter() - t0) / n)
                k = max(1, n // 10)
                margs.append((stamps[-1] - stamps[-1 - k]) / k)
            out.setdefault(name, {})[str(n)] = {"mean_ms_per_trial": 1e3 * float(np.median(means)),
                                                "marginal_ms_per_trial_last10pct": 1e3 * float(np.median(margs))}
    return out


JOBS_OBJECTIVE_MS = 2.0


def burn(steps):
    """The Rust bench's `burn`: steps of a 32-bit LCG, pure Python CPU work."""
    x = 0
    for _ in range(steps):
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
    return x


def burn_steps_per_ms():
    steps = 200_000
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        burn(steps)
        best = max(best, steps / (1e3 * (time.perf_counter() - t0)))
    return best


def run_jobs(job_counts, repeats, n_trials):
    steps = int(burn_steps_per_ms() * JOBS_OBJECTIVE_MS)

    def objective(t):
        params = suggest_mlp(t)
        burn(steps)
        return mlp_loss(*params)

    by_jobs = {}
    for n_jobs in job_counts:
        walls = []
        for seed in range(repeats):
            study = optuna.create_study(sampler=sampler("tpe_default", seed))
            t0 = time.perf_counter()
            study.optimize(objective, n_trials=n_trials, n_jobs=n_jobs)
            walls.append(time.perf_counter() - t0)
        by_jobs[str(n_jobs)] = {"wall_s": float(np.median(walls))}
    return {"objective_ms": JOBS_OBJECTIVE_MS, "by_jobs": by_jobs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="suite,overhead,prune,prune_budget")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seeds", type=int, help="how many seeds (default 20, 3 with --quick)")
    ap.add_argument("--seed-base", type=int, default=0)
    ap.add_argument("--jobs", default="1,2", help="n_jobs values of the jobs part")
    args = ap.parse_args()
    quiet()
    parts = args.parts.split(",")
    n_seeds = args.seeds if args.seeds is not None else (3 if args.quick else 20)
    seeds = list(range(args.seed_base, args.seed_base + n_seeds))
    n = 30 if args.quick else 100
    result = {"optuna": optuna.__version__, "seeds": seeds}
    with multiprocessing.get_context("fork").Pool(2) as pool:
        if "suite" in parts:
            result["suite"] = run_suite(seeds, n, pool)
        if "prune" in parts:
            result["prune"] = run_prune(seeds, n, None, pool)
        if "prune_budget" in parts:
            result["prune_budget"] = run_prune(seeds, None, 300 if args.quick else EPOCHS * 100, pool)
    if "overhead" in parts:
        result["overhead"] = run_overhead((50, 100) if args.quick else (100, 500, 1000), 1 if args.quick else 3)
    if "jobs" in parts:
        result["jobs"] = run_jobs([int(j) for j in args.jobs.split(",")], 1 if args.quick else 3, 40 if args.quick else 200)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
