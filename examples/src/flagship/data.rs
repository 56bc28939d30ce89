//! Load -> Preprocess: the wine-quality data `linfa-datasets` ships (or the user's own CSV),
//! split with a seed, standardised with statistics fitted on the training rows only.

use super::table::Table;
use anyhow::{Context, bail};
use kfp::prelude::*;
use serde::{Deserialize, Serialize};

/// The data set shipped with the binary; any other source is a CSV path.
pub const BUILTIN_WINE: &str = "builtin://winequality";

/// Loads the source into a CSV dataset: features, then a binary label (wine quality >= 6).
#[component]
pub fn load_dataset(#[default(BUILTIN_WINE)] source_uri: String, dataset: Output<Dataset>) -> Result<()> {
    let table = if source_uri == BUILTIN_WINE { builtin_wine() } else { Table::read(std::path::Path::new(&source_uri))? };
    table.write(dataset.path())?;
    dataset.set_metadata("rows", table.rows());
    dataset.set_metadata("columns", table.columns.len());
    dataset.set_metadata("source", source_uri);
    println!("loaded {} rows x {} features", table.rows(), table.n_features());
    Ok(())
}

/// The wine-quality data (1599 red wines, 11 physico-chemical features), labelled good
/// (quality >= 6) or not.
pub fn builtin_wine() -> Table {
    let data = linfa_datasets::winequality();
    let mut columns: Vec<String> = data.feature_names().iter().map(|n| n.replace(' ', "_")).collect();
    columns.push("good".into());
    Table {
        columns,
        features: data.records().outer_iter().map(|row| row.to_vec()).collect(),
        labels: data.targets().iter().map(|&quality| i64::from(quality >= 6)).collect(),
    }
}

/// Per-feature mean and standard deviation, fitted on the training split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    pub columns: Vec<String>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Scaler {
    pub fn fit(table: &Table) -> Scaler {
        let n = table.rows() as f64;
        let features = table.n_features();
        let mut mean = vec![0.0; features];
        for row in &table.features {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v / n;
            }
        }
        let mut std = vec![0.0; features];
        for row in &table.features {
            for ((s, v), m) in std.iter_mut().zip(row).zip(&mean) {
                *s += (v - m).powi(2) / n;
            }
        }
        // A constant column keeps its values centred rather than dividing by zero.
        let std = std.into_iter().map(|s| if s > 0.0 { s.sqrt() } else { 1.0 }).collect();
        Scaler { columns: table.columns[..features].to_vec(), mean, std }
    }

    pub fn transform(&self, table: &Table) -> Table {
        let features = table
            .features
            .iter()
            .map(|row| row.iter().zip(&self.mean).zip(&self.std).map(|((v, m), s)| (v - m) / s).collect())
            .collect();
        Table { features, ..table.clone() }
    }
}

/// Train/validation/test indices: a seeded shuffle, then consecutive slices.
pub fn split_indices(rows: usize, seed: u64, validation: f64, test: f64) -> anyhow::Result<[Vec<usize>; 3]> {
    if !(0.0..1.0).contains(&validation) || !(0.0..1.0).contains(&test) || validation + test >= 1.0 {
        bail!("validation ({validation}) and test ({test}) fractions must be in [0, 1) and leave rows to train on");
    }
    let mut indices: Vec<usize> = (0..rows).collect();
    let mut state = seed;
    // Fisher-Yates with SplitMix64: the same seed gives the same split on every platform.
    for i in (1..rows).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        indices.swap(i, (z % (i as u64 + 1)) as usize);
    }
    let n_test = (rows as f64 * test).round() as usize;
    let n_validation = (rows as f64 * validation).round() as usize;
    let test_rows = indices[..n_test].to_vec();
    let validation_rows = indices[n_test..n_test + n_validation].to_vec();
    let train_rows = indices[n_test + n_validation..].to_vec();
    if train_rows.is_empty() || validation_rows.is_empty() || test_rows.is_empty() {
        bail!("{rows} rows are too few for a train/validation/test split");
    }
    Ok([train_rows, validation_rows, test_rows])
}

/// Splits the dataset with a seed and standardises it with statistics of the training split,
/// which are saved so that serving can apply the same transform.
#[component]
#[allow(clippy::too_many_arguments)]
pub fn preprocess(
    dataset: Input<Dataset>,
    #[default(42)] seed: i64,
    #[default(0.2)] validation_fraction: f64,
    #[default(0.2)] test_fraction: f64,
    train: Output<Dataset>,
    validation: Output<Dataset>,
    test: Output<Dataset>,
    scaler: Output<Artifact>,
) -> Result<()> {
    let table = Table::read(dataset.path())?;
    let seed = u64::try_from(seed).context("the seed must not be negative")?;
    let [train_rows, validation_rows, test_rows] =
        split_indices(table.rows(), seed, validation_fraction, test_fraction)?;
    let fitted = Scaler::fit(&table.select(&train_rows));
    for (output, rows) in [(&train, &train_rows), (&validation, &validation_rows), (&test, &test_rows)] {
        fitted.transform(&table.select(rows)).write(output.path())?;
        output.set_metadata("rows", rows.len());
    }
    std::fs::write(scaler.path(), serde_json::to_string_pretty(&fitted)?)?;
    scaler.set_metadata("fitted_on", "train");
    println!("split {} / {} / {} rows (seed {seed})", train_rows.len(), validation_rows.len(), test_rows.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_data_is_the_wine_quality_set() {
        let table = builtin_wine();
        assert_eq!((table.rows(), table.n_features()), (1599, 11));
        assert_eq!(table.n_classes(), 2);
    }

    #[test]
    fn splits_are_disjoint_complete_and_seeded() {
        let [a, b, c] = split_indices(100, 7, 0.2, 0.1).unwrap();
        assert_eq!((a.len(), b.len(), c.len()), (70, 20, 10));
        let mut all: Vec<usize> = a.iter().chain(&b).chain(&c).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split_indices(100, 7, 0.2, 0.1).unwrap()[0], a);
        assert_ne!(split_indices(100, 8, 0.2, 0.1).unwrap()[0], a);
        assert!(split_indices(100, 7, 0.6, 0.5).is_err());
    }

    #[test]
    fn the_scaler_standardises_the_training_rows() {
        let table = Table::parse("a,b,label\n1,10,0\n3,10,1\n").unwrap();
        let scaler = Scaler::fit(&table);
        assert_eq!(scaler.mean, [2.0, 10.0]);
        assert_eq!(scaler.transform(&table).features, [[-1.0, 0.0], [1.0, 0.0]]);
    }

    #[test]
    fn preprocess_writes_three_splits_and_the_scaler() {
        let dir = std::env::temp_dir().join(format!("kfp-flagship-pre-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("data.csv");
        builtin_wine().write(&source).unwrap();
        let out = |name: &str| Output::<Dataset>::at_path(dir.join(name)).unwrap();
        let (train, validation, test) = (out("train"), out("validation"), out("test"));
        let scaler = Output::<Artifact>::at_path(dir.join("scaler")).unwrap();
        preprocess(Input::at_path(&source), 1, 0.2, 0.2, train.clone(), validation.clone(), test.clone(), scaler.clone())
            .unwrap();
        let rows: Vec<usize> = [&train, &validation, &test].iter().map(|o| Table::read(o.path()).unwrap().rows()).collect();
        assert_eq!(rows, [959, 320, 320]);
        let fitted: Scaler = serde_json::from_str(&std::fs::read_to_string(scaler.path()).unwrap()).unwrap();
        assert_eq!(fitted.mean.len(), 11);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
