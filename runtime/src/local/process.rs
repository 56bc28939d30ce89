//! Running a task's executor command as a subprocess: finding the binary for the image path,
//! logging, retries with backoff, and killing it when the run is cancelled.

use kfp_compiler::ir::RetryPolicy;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How an executor's `command[0]` (a path inside the image) maps to a local binary.
///
/// In order: an exact `--binary IMAGE_PATH=LOCAL_PATH` mapping; a plain `--binary PATH`, used
/// for every executor; `command[0]` itself if it exists here; a file of the same name next to
/// the running program (the `kfp` binary, so `cargo build` output works as is); a file of the
/// same name on `PATH`.
#[derive(Debug, Clone, Default)]
pub struct BinaryMap {
    mappings: Vec<(String, PathBuf)>,
    all: Option<PathBuf>,
}

impl BinaryMap {
    /// Parses `--binary` values: `IMAGE_PATH=LOCAL_PATH` or `LOCAL_PATH`.
    pub fn parse(specs: &[String]) -> Result<Self, String> {
        let mut map = Self::default();
        for spec in specs {
            match spec.split_once('=') {
                Some((from, to)) => map.mappings.push((from.to_owned(), PathBuf::from(to))),
                None if map.all.is_none() => map.all = Some(PathBuf::from(spec)),
                None => {
                    return Err(format!(
                        "--binary '{spec}': only one binary may apply to every executor; map the others as IMAGE_PATH=LOCAL_PATH"
                    ));
                }
            }
        }
        Ok(map)
    }

    pub fn resolve(&self, command: &str) -> Result<PathBuf, String> {
        if let Some((_, to)) = self.mappings.iter().find(|(from, _)| from == command) {
            return Ok(to.clone());
        }
        if let Some(all) = &self.all {
            return Ok(all.clone());
        }
        let path = Path::new(command);
        if path.is_file() {
            return Ok(path.to_owned());
        }
        let file_name = path
            .file_name()
            .ok_or_else(|| format!("executor command '{command}' has no file name"))?;
        let beside_us = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(file_name)));
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(file_name))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        beside_us.into_iter().chain(on_path).find(|candidate| candidate.is_file()).ok_or_else(|| {
            format!(
                "executor command '{command}' does not exist here, and no '{}' was found next to this program or on PATH; pass --binary {command}=LOCAL_PATH",
                file_name.to_string_lossy()
            )
        })
    }
}

/// A failed attempt sequence: the last cause, and whether the run was cancelled meanwhile.
pub struct ProcessFailure {
    pub cause: String,
    pub cancelled: bool,
    pub attempts: u32,
}

/// Runs `argv` until it succeeds, at most `1 + maxRetryCount` times, appending its stdout and
/// stderr to `log`. `before_attempt` resets the task's outputs before each attempt. Returns
/// the number of attempts made.
pub fn run_with_retries(
    argv: &[String],
    env: &[(String, String)],
    log: &Path,
    retry: Option<&RetryPolicy>,
    deadline: Option<Duration>,
    cancel: &AtomicBool,
    mut before_attempt: impl FnMut() -> std::io::Result<()>,
) -> Result<u32, ProcessFailure> {
    let max_attempts = 1 + retry.map_or(0, |r| r.max_retry_count.max(0) as u32);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let failure = |cause: String| ProcessFailure {
            cause,
            cancelled: cancel.load(Ordering::SeqCst),
            attempts: attempt,
        };
        before_attempt().map_err(|e| failure(format!("cannot prepare the task folder: {e}")))?;
        let cause = match run_once(argv, env, log, attempt, deadline, cancel) {
            Ok(status) if status.success() => return Ok(attempt),
            Ok(status) => describe_status(status),
            Err(err) => err,
        };
        if cancel.load(Ordering::SeqCst) {
            return Err(ProcessFailure {
                cause: "cancelled after another task failed".into(),
                cancelled: true,
                attempts: attempt,
            });
        }
        if attempt >= max_attempts {
            let cause = if attempt > 1 {
                format!("{cause} (after {attempt} attempts)")
            } else {
                cause
            };
            return Err(failure(cause));
        }
        if let Some(policy) = retry {
            wait_cancellable(backoff(policy, attempt), cancel);
        }
    }
}

fn run_once(
    argv: &[String],
    env: &[(String, String)],
    log: &Path,
    attempt: u32,
    deadline: Option<Duration>,
    cancel: &AtomicBool,
) -> Result<ExitStatus, String> {
    let mut log_file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    if attempt > 1 {
        let _ = writeln!(log_file, "--- attempt {attempt} ---");
    }
    let stderr = log_file
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", log.display()))?;
    let mut command = Command::new(&argv[0]);
    if deadline.is_some() {
        // Its own process group, so the deadline also ends what the executor started.
        command.process_group(0);
    }
    let mut child = command
        .args(&argv[1..])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove(crate::executor::LOCAL_ROOT_ENV)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child
            .try_wait()
            .map_err(|e| format!("cannot wait for {}: {e}", argv[0]))?
        {
            return Ok(status);
        }
        if cancel.load(Ordering::SeqCst) {
            kill(&mut child, deadline.is_some());
            return child
                .wait()
                .map_err(|e| format!("cannot wait for {}: {e}", argv[0]));
        }
        if let Some(limit) = deadline.filter(|limit| started.elapsed() >= *limit) {
            kill(&mut child, true);
            let _ = child.wait();
            return Err(format!("deadline exceeded after {} s", limit.as_secs()));
        }
        std::thread::sleep(poll_interval(started.elapsed()));
    }
}

unsafe extern "C" {
    /// POSIX `kill(2)`; a negative pid names a process group.
    #[link_name = "kill"]
    fn posix_kill(pid: i32, signal: i32) -> i32;
}

/// Kills the child, and its whole process group when it leads one.
fn kill(child: &mut Child, group: bool) {
    const SIGKILL: i32 = 9;
    if group && let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) only reads its two integer arguments.
        unsafe { posix_kill(-pid, SIGKILL) };
    }
    let _ = child.kill();
}

/// How long to sleep between checks of a running process: short tasks are noticed within
/// 0.1 ms (a no-op executor takes about 1 ms), long ones cost next to nothing to watch. Polling
/// keeps the child killable from this thread when the run is cancelled.
fn poll_interval(running_for: Duration) -> Duration {
    if running_for < Duration::from_millis(5) {
        Duration::from_micros(100)
    } else if running_for < Duration::from_millis(200) {
        Duration::from_millis(1)
    } else {
        Duration::from_millis(10)
    }
}

fn describe_status(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => {
            let name = match signal {
                6 => "aborted",
                9 => "killed",
                11 => "segmentation fault",
                15 => "terminated",
                _ => return format!("killed by signal {signal}"),
            };
            format!("signal: {name}")
        }
        (None, None) => "ended without a status".into(),
    }
}

/// `backoffDuration * backoffFactor^(attempt-1)`, at most `backoffMaxDuration`.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let base = parse_duration(&policy.backoff_duration).unwrap_or(0.0);
    let max = parse_duration(&policy.backoff_max_duration).unwrap_or(f64::INFINITY);
    let factor = if policy.backoff_factor > 0.0 {
        policy.backoff_factor
    } else {
        1.0
    };
    let seconds = (base * factor.powi(attempt as i32 - 1)).min(max);
    Duration::from_secs_f64(seconds.clamp(0.0, 3600.0))
}

/// A proto3 JSON duration such as `0s` or `1.5s`.
pub fn parse_duration(text: &str) -> Option<f64> {
    text.strip_suffix('s')?.parse().ok()
}

fn wait_cancellable(total: Duration, cancel: &AtomicBool) {
    let deadline = std::time::Instant::now() + total;
    while std::time::Instant::now() < deadline && !cancel.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10).min(deadline - std::time::Instant::now()));
    }
}

/// The last `lines` lines of a log file.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read(log)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let policy = RetryPolicy {
            backoff_duration: "1s".into(),
            backoff_factor: 2.0,
            backoff_max_duration: "3s".into(),
            max_retry_count: 3,
        };
        assert_eq!(backoff(&policy, 1), Duration::from_secs(1));
        assert_eq!(backoff(&policy, 2), Duration::from_secs(2));
        assert_eq!(backoff(&policy, 3), Duration::from_secs(3));
        assert_eq!(parse_duration("0.5s"), Some(0.5));
        assert_eq!(parse_duration("5m"), None);
    }

    #[test]
    fn binary_map_prefers_exact_mappings() {
        let map = BinaryMap::parse(&["/usr/bin/a=/tmp/a".into(), "/tmp/all".into()]).unwrap();
        assert_eq!(map.resolve("/usr/bin/a").unwrap(), PathBuf::from("/tmp/a"));
        assert_eq!(
            map.resolve("/usr/bin/b").unwrap(),
            PathBuf::from("/tmp/all")
        );
        let err = BinaryMap::default()
            .resolve("/no/such/kfp-binary-xyz")
            .unwrap_err();
        assert!(
            err.contains("pass --binary /no/such/kfp-binary-xyz=LOCAL_PATH"),
            "{err}"
        );
    }
}
