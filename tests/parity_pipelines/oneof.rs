use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn flip(seed: i64) -> String {
    seed.to_string()
}

#[component(image = "python:3.11")]
pub fn say(message: String) -> String {
    message
}

#[derive(ComponentOutputs)]
pub struct Shouted {
    pub loud: String,
    pub length: i64,
}

#[component(image = "python:3.11")]
pub fn shout(message: String) -> Shouted {
    Shouted { length: message.len() as i64, loud: message.to_uppercase() }
}

#[component(image = "python:3.11")]
pub fn train(tag: String, model: Output<Model>) -> Result<String> {
    let _ = model;
    Ok(tag)
}

#[component(image = "python:3.11")]
pub fn deploy(model: Input<Model>, note: String) -> String {
    let _ = model;
    note
}

#[pipeline(name = "oneof")]
pub fn oneof(#[default(1)] seed: i64, #[default(false)] audit: bool) -> ArtifactRef<Model> {
    let coin = flip(seed);
    let heads = coin.outputs.output.eq("heads");
    let (big, small) = If(heads, || train("big")).else_(|| train("small"));
    let model = OneOf([big.outputs.model, small.outputs.model]);
    let tag = OneOf([big.outputs.output, small.outputs.output]);
    deploy(model, tag);
    If(audit.eq(true), || deploy(model, "audit"));
    let (heads, tails, edge) = If(coin.outputs.output.eq("heads"), || say("heads").outputs.output)
        .elif(coin.outputs.output.eq("tails"), || shout("tails").outputs.loud)
        .else_(|| say("edge").outputs.output);
    let said = OneOf([heads, tails, edge]);
    say(said);
    If(said.eq("edge"), || say("on its edge"));
    model
}
