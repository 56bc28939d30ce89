//! The executor's command line, as the compiler writes it into `container.args`:
//! `--executor-input {{$}} --function-to-execute NAME`, and the process entry point built on it.

use super::{ExecutorContext, ExecutorError};
use std::process::ExitCode;

/// The two values the compiled command passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorArgs {
    pub executor_input: String,
    pub function_to_execute: String,
}

impl ExecutorArgs {
    /// Reads `--executor-input X --function-to-execute Y` (also `--flag=value`, in any order)
    /// from the arguments after the program name.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ExecutorError> {
        let mut executor_input = None;
        let mut function = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => {
                    (flag.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let slot = match flag.as_str() {
                "--executor-input" | "--executor_input" => &mut executor_input,
                "--function-to-execute" | "--function_to_execute" => &mut function,
                _ => return Err(ExecutorError::Usage(format!("unexpected argument '{arg}'"))),
            };
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .ok_or_else(|| ExecutorError::Usage(format!("{flag} needs a value")))?,
            };
            *slot = Some(value);
        }
        Ok(Self {
            executor_input: executor_input
                .ok_or_else(|| ExecutorError::Usage("missing --executor-input".into()))?,
            function_to_execute: function
                .ok_or_else(|| ExecutorError::Usage("missing --function-to-execute".into()))?,
        })
    }
}

/// A component entry: builds its inputs from the context, runs the function, finishes.
pub type ComponentEntry = fn(ExecutorContext) -> Result<(), ExecutorError>;

/// The whole executor process: parses the arguments, picks the component by name, runs it.
/// Errors are printed as one `error: ...` line on stderr and give exit status 1.
pub fn executor_main(
    args: impl IntoIterator<Item = String>,
    components: &[(&str, ComponentEntry)],
) -> ExitCode {
    let result = ExecutorArgs::parse(args).and_then(|args| {
        let name = args.function_to_execute.as_str();
        let entry = components
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
            .ok_or_else(|| {
                let known: Vec<&str> = components.iter().map(|(n, _)| *n).collect();
                ExecutorError::Usage(format!(
                    "no component '{name}' in this binary (it has: {})",
                    known.join(", ")
                ))
            })?;
        entry(ExecutorContext::from_json(&args.executor_input, name)?)
    });
    report(result)
}

/// Prints the error, if any, as one line and maps it to the exit status.
pub fn report(result: Result<(), ExecutorError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_both_flag_forms() {
        let args = ExecutorArgs::parse(strings(&[
            "--function-to-execute=add",
            "--executor-input",
            "{}",
        ]))
        .unwrap();
        assert_eq!(
            args,
            ExecutorArgs {
                executor_input: "{}".into(),
                function_to_execute: "add".into()
            }
        );
        let err = ExecutorArgs::parse(strings(&["--executor-input"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "executor arguments: --executor-input needs a value"
        );
        assert!(ExecutorArgs::parse(strings(&["--bogus", "1"])).is_err());
    }
}
