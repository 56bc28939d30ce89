//! Test-set scores of a binary classifier from its predicted probabilities: accuracy, the
//! confusion matrix and the ROC curve, in the forms the KFP UI shows.

/// Scores of predictions `p(class 1)` against labels 0/1.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub accuracy: f64,
    /// `matrix[actual][predicted]`.
    pub confusion: [[u64; 2]; 2],
    pub roc: RocCurve,
    pub auc: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RocCurve {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

pub fn score(probabilities: &[f64], labels: &[i64]) -> Scores {
    assert_eq!(probabilities.len(), labels.len(), "one probability per label");
    let mut confusion = [[0u64; 2]; 2];
    for (&p, &label) in probabilities.iter().zip(labels) {
        confusion[usize::from(label == 1)][usize::from(p >= 0.5)] += 1;
    }
    let correct = confusion[0][0] + confusion[1][1];
    let roc = roc_curve(probabilities, labels);
    let auc = roc.fpr.windows(2).zip(roc.tpr.windows(2)).map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0).sum();
    Scores { accuracy: correct as f64 / labels.len().max(1) as f64, confusion, roc, auc }
}

/// One point per distinct threshold, from (0, 0) to (1, 1).
fn roc_curve(probabilities: &[f64], labels: &[i64]) -> RocCurve {
    let positives = labels.iter().filter(|&&l| l == 1).count().max(1) as f64;
    let negatives = labels.iter().filter(|&&l| l != 1).count().max(1) as f64;
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    let mut curve = RocCurve { fpr: vec![0.0], tpr: vec![0.0], thresholds: vec![f64::INFINITY] };
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if labels[i] == 1 { tp += 1.0 } else { fp += 1.0 }
        let last_of_threshold = order.get(k + 1).is_none_or(|&next| probabilities[next] != probabilities[i]);
        if last_of_threshold {
            curve.fpr.push(fp / negatives);
            curve.tpr.push(tp / positives);
            curve.thresholds.push(probabilities[i]);
        }
    }
    // The KFP UI cannot show an infinite threshold.
    curve.thresholds[0] = 1.0;
    curve
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_classifier_scores_one() {
        let scores = score(&[0.9, 0.8, 0.2, 0.1], &[1, 1, 0, 0]);
        assert_eq!(scores.accuracy, 1.0);
        assert_eq!(scores.confusion, [[2, 0], [0, 2]]);
        assert_eq!(scores.auc, 1.0);
    }

    #[test]
    fn mistakes_land_in_the_right_cells() {
        let scores = score(&[0.9, 0.4, 0.6, 0.1], &[1, 1, 0, 0]);
        assert_eq!(scores.accuracy, 0.5);
        assert_eq!(scores.confusion, [[1, 1], [1, 1]]);
        assert_eq!(scores.auc, 0.75);
        assert_eq!(scores.roc.fpr.first(), Some(&0.0));
        assert_eq!((scores.roc.fpr.last(), scores.roc.tpr.last()), (Some(&1.0), Some(&1.0)));
    }
}
