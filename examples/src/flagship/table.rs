//! The tabular data the flagship passes between steps: a CSV with a header, features first and
//! the integer class label last.

use anyhow::{Context, bail};
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    /// One row per sample: the features.
    pub features: Vec<Vec<f64>>,
    pub labels: Vec<i64>,
}

impl Table {
    pub fn read(path: &Path) -> anyhow::Result<Table> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Table::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Table> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines.next().context("the file is empty")?.split(',').map(|c| c.trim().to_owned()).collect();
        if header.len() < 2 {
            bail!("the header needs at least one feature column and a label column");
        }
        let mut table = Table { columns: header, features: Vec::new(), labels: Vec::new() };
        for (i, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != table.columns.len() {
                bail!("line {}: {} cells, the header has {}", i + 2, cells.len(), table.columns.len());
            }
            let (label, features) = cells.split_last().expect("at least two cells");
            let features = features
                .iter()
                .map(|c| c.parse::<f64>().with_context(|| format!("line {}: {c:?} is not a number", i + 2)))
                .collect::<anyhow::Result<Vec<f64>>>()?;
            let label = label.parse::<f64>().ok().filter(|l| l.fract() == 0.0).map(|l| l as i64);
            let label = label.with_context(|| format!("line {}: label {label:?} is not a whole number", i + 2))?;
            table.features.push(features);
            table.labels.push(label);
        }
        if table.labels.is_empty() {
            bail!("no data rows");
        }
        Ok(table)
    }

    pub fn to_csv(&self) -> String {
        let mut out = self.columns.join(",");
        out.push('\n');
        for (row, label) in self.features.iter().zip(&self.labels) {
            let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            out.push_str(&cells.join(","));
            out.push_str(&format!(",{label}\n"));
        }
        out
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, self.to_csv()).with_context(|| format!("writing {}", path.display()))
    }

    pub fn rows(&self) -> usize {
        self.labels.len()
    }

    pub fn n_features(&self) -> usize {
        self.columns.len() - 1
    }

    pub fn n_classes(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| m as usize + 1)
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Table {
        Table {
            columns: self.columns.clone(),
            features: indices.iter().map(|&i| self.features[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips() {
        let table = Table::parse("a,b,label\n1,2.5,0\n3,4,1\n").unwrap();
        assert_eq!(table.rows(), 2);
        assert_eq!(table.n_features(), 2);
        assert_eq!(table.n_classes(), 2);
        assert_eq!(Table::parse(&table.to_csv()).unwrap(), table);
    }

    #[test]
    fn bad_cells_are_named() {
        let error = Table::parse("a,label\nx,1\n").unwrap_err();
        assert!(format!("{error:#}").contains("line 2: \"x\" is not a number"), "{error:#}");
        let error = Table::parse("a,label\n1,0.5\n").unwrap_err();
        assert!(format!("{error:#}").contains("is not a whole number"), "{error:#}");
    }
}
