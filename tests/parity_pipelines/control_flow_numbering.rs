use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn flip(seed: i64) -> String {
    seed.to_string()
}

#[component(image = "python:3.11")]
pub fn say(message: String) -> String {
    message
}

#[pipeline(name = "control-flow-numbering")]
pub fn control_flow_numbering(#[default(vec!["a".to_string(), "b".to_string()])] words: Vec<String>) {
    let coin = flip(1);
    If(coin.outputs.output.eq("heads"), || say("lone if"));
    If(coin.outputs.output.eq("tails"), || say("then")).else_(|| say("else"));
    ParallelFor(words, |word| say(word));
    ParallelFor(vec!["x".to_string(), "y".to_string()], |letter| {
        ParallelFor(words, |inner| {
            say(letter);
            say(inner);
        })
    });
}
