//! The minimum: two components, no libtorch, for users who only want the compiler.

use kfp::prelude::*;

/// Says hello to someone and returns the greeting.
#[component]
pub fn say_hello(name: String) -> String {
    let greeting = format!("Hello, {name}!");
    println!("{greeting}");
    greeting
}

/// Writes a message into a Markdown artifact.
#[component]
pub fn write_report(message: String, report: Output<Markdown>) -> Result<()> {
    std::fs::write(report.path(), format!("# Report\n\n{message}\n"))?;
    Ok(())
}

/// Greets, then writes the greeting into a report.
#[pipeline(name = "hello-pipeline")]
pub fn hello_pipeline(#[default("world")] recipient: String) {
    let hello = say_hello(recipient);
    write_report(hello.outputs.output);
}
