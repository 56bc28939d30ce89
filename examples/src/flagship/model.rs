//! The network the flagship tunes and trains: an MLP with dropout, in tch.

use super::table::Table;
use kfp::runtime::train::checkpoint;
use tch::nn::{self, ModuleT};
use tch::{Kind, Tensor};

/// The searched shape of the network.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Shape {
    pub inputs: i64,
    pub hidden: i64,
    pub dropout: f64,
    pub classes: i64,
}

/// Two hidden layers of `hidden` units with ReLU and dropout.
pub fn mlp(p: &nn::Path, shape: Shape) -> impl ModuleT + use<> {
    let dropout = shape.dropout;
    nn::seq_t()
        .add(nn::linear(p / "fc1", shape.inputs, shape.hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add_fn_t(move |x, train| x.dropout(dropout, train))
        .add(nn::linear(p / "fc2", shape.hidden, shape.hidden, Default::default()))
        .add_fn(|x| x.relu())
        .add_fn_t(move |x, train| x.dropout(dropout, train))
        .add(nn::linear(p / "out", shape.hidden, shape.classes, Default::default()))
}

/// Features as float32 `[rows, features]` and labels as int64 `[rows]`.
pub fn tensors(table: &Table) -> (Tensor, Tensor) {
    let flat: Vec<f32> = table.features.iter().flatten().map(|&v| v as f32).collect();
    let features = Tensor::from_slice(&flat).view([table.rows() as i64, table.n_features() as i64]);
    (features, Tensor::from_slice(&table.labels))
}

/// `p(class 1)` for each row.
pub fn probabilities(model: &impl ModuleT, features: &Tensor) -> Vec<f64> {
    let p = tch::no_grad(|| model.forward_t(features, false).softmax(-1, Kind::Float).select(1, 1));
    Vec::<f64>::try_from(p.to_kind(Kind::Double)).unwrap_or_default()
}

/// Loads a trainer checkpoint's weights into `vs`.
pub fn load_weights(vs: &mut nn::VarStore, path: &std::path::Path) -> anyhow::Result<()> {
    let saved = checkpoint::load(path)?;
    tch::no_grad(|| {
        for (name, mut variable) in vs.variables() {
            let value = saved.model.get(&name).ok_or_else(|| anyhow::anyhow!("{}: no weights for {name}", path.display()))?;
            variable.copy_(value);
        }
        anyhow::Ok(())
    })
}
