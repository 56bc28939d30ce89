//! `OneOf`: the output of whichever branch of an If/Else ran, for later tasks and as a
//! pipeline's output (of the run, and of a pipeline used as a task).

use kfp::prelude::*;

/// Heads for an odd seed, tails for an even one.
#[component]
pub fn toss(seed: i64) -> String {
    if seed % 2 == 1 { "heads".into() } else { "tails".into() }
}

/// Writes a model of the given size and describes it.
#[component]
pub fn fit(size: String, model: Output<Model>) -> Result<String> {
    std::fs::write(model.path(), format!("{size} weights"))?;
    Ok(format!("{size} model"))
}

/// Reports a model with its description.
#[component]
pub fn publish(model: Input<Model>, description: String) -> Result<String> {
    let weights = std::fs::read_to_string(model.path())?;
    Ok(format!("{description}: {weights}"))
}

/// Announces a message.
#[component]
pub fn announce(message: String) -> String {
    format!("announced: {message}")
}

/// Announces the side a coin shows; its output is whichever branch's announcement ran.
#[pipeline(name = "call-side")]
pub fn call_side(seed: i64) -> Param<String> {
    let coin = toss(seed);
    let (heads, tails) = If(coin.outputs.output.eq("heads"), || announce("heads")).else_(|| announce("tails"));
    OneOf([heads.outputs.output, tails.outputs.output])
}

/// Fits a big model on heads and a small one on tails, publishes whichever was fitted, and
/// returns it; announces the side again through a pipeline that returns a OneOf.
#[pipeline(name = "branch-outputs")]
pub fn branch_outputs(#[default(7)] seed: i64) -> ArtifactRef<Model> {
    let coin = toss(seed);
    let (big, small) = If(coin.outputs.output.eq("heads"), || fit("big")).else_(|| fit("small"));
    let model = OneOf([big.outputs.model, small.outputs.model]);
    publish(model, OneOf([big.outputs.output, small.outputs.output]));
    announce(call_side(seed).outputs.output);
    model
}
