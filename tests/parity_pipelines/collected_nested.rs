use kfp::prelude::*;

#[component(image = "python:3.11")]
pub fn train(seed: i64, lr: f64, model: Output<Model>) -> f64 {
    let _ = (seed, model);
    lr
}

#[component(image = "python:3.11")]
pub fn pick_best(models: Vec<Input<Model>>) -> String {
    models.len().to_string()
}

#[component(image = "python:3.11")]
pub fn add(nums: Vec<f64>) -> f64 {
    nums.iter().sum()
}

#[component(image = "python:3.11")]
pub fn add_all(nums: Vec<Vec<f64>>) -> f64 {
    nums.iter().flatten().sum()
}

#[pipeline(name = "collected-nested")]
pub fn collected_nested(#[default("x")] flag: String) -> Param<Vec<Vec<f64>>> {
    let trained = ParallelFor([1i64, 2], |seed| {
        let inner = ParallelFor([0.1, 0.2], |lr| train(seed, lr));
        pick_best(Collected(inner.map(|task| task.outputs.model)));
        inner
    });
    pick_best(Collected(trained.map(|inner| inner.map(|task| task.outputs.model))));
    let scores = Collected(trained.map(|inner| inner.map(|task| task.outputs.output)));
    add_all(scores);
    // A task inside a condition inside the loop: the If body hands its task out.
    let guarded = ParallelFor([3i64, 4], |seed| {
        let mut guarded = None;
        If(flag.eq("x"), || guarded = Some(train(seed, 0.5)));
        guarded.expect("If runs its body while the pipeline is built")
    });
    pick_best(Collected(guarded.map(|task| task.outputs.model)));
    If(flag.eq("y"), || add(Collected(guarded.map(|task| task.outputs.output))));
    scores
}
