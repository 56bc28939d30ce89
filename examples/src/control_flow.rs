//! Conditions, loops, fan-in and an exit handler.

use kfp::prelude::*;

/// Tosses a coin.
#[component]
pub fn flip_coin(#[default(7)] seed: i64) -> String {
    if seed % 2 == 1 { "heads".into() } else { "tails".into() }
}

/// Picks a number.
#[component]
pub fn pick_number(#[default(3)] value: i64) -> i64 {
    value
}

/// Repeats a message.
#[component]
pub fn echo(message: String) -> String {
    println!("{message}");
    message
}

/// Joins messages gathered from a loop.
#[component]
pub fn join_messages(messages: Vec<String>) -> String {
    messages.join(",")
}

/// Reports how the guarded tasks ended.
#[component]
pub fn report_status(status: TaskFinalStatus) -> String {
    format!("{} ended {}", status.pipeline_task_name, status.state)
}

/// Branches on task outputs, fans out over a list and back in, and cleans up at the end.
#[pipeline(name = "control-flow")]
pub fn control_flow(
    #[default(vec!["a".to_string(), "b".to_string()])] words: Vec<String>,
    #[default(2)] threshold: i64,
) {
    let cleanup = report_status();
    ExitHandler(&cleanup, || {
        let coin = flip_coin();
        let number = pick_number();
        If(coin.outputs.output.eq("heads"), || echo(coin.outputs.output))
            .elif(number.outputs.output.gt(threshold), || echo("big"))
            .else_(|| echo("tails"));
        let echoes = ParallelFor(words, |word| echo(word).outputs.output).set_parallelism(2);
        join_messages(Collected(echoes));
        ParallelFor(vec![serde_json::json!({"label": "x", "size": 1})], |item| echo(item.field::<String>("label")));
    });
}
