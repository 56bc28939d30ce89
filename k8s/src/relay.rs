//! Brings a distributed component's outputs from the job's rank-0 pod back to the pipeline
//! step's pod, where KFP's launcher expects them (it uploads the artifact paths and reads the
//! parameter files of its own pod when the step's command exits).
//!
//! The step's launcher listens on a TCP port ([`Receiver`]) and gives the job's pods
//! `KFP_OUTPUT_RELAY=IP:PORT` and a one-time `KFP_OUTPUT_RELAY_TOKEN`. After the component
//! finished in the Master pod, its node-level process sends every output file it wrote
//! ([`send`]); the receiver writes each under the same absolute path, which must be one of the
//! step's declared output paths or inside one, and renames them into place only once the
//! whole upload arrived.
//!
//! Wire format: `KFPRELAY1 <token>\n`, then per entry `F <path bytes> <size>\n<path><data>` for a
//! file or `D <path bytes> 0\n<path>` for a directory, then `E\n`; the receiver answers `OK\n` or
//! `ERR <reason>\n`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub const ADDRESS_ENV: &str = "KFP_OUTPUT_RELAY";
pub const TOKEN_ENV: &str = "KFP_OUTPUT_RELAY_TOKEN";
const MAGIC: &str = "KFPRELAY1";

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("output relay: cannot reach the pipeline step at {address}: {source}")]
    Connect { address: String, source: std::io::Error },
    #[error("output relay: {context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("output relay: the pipeline step refused the outputs: {0}")]
    Refused(String),
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RelayError {
    let context = context.into();
    move |source| RelayError::Io { context, source }
}

/// Sends `paths` (files, or directories with everything in them; missing ones are skipped, as
/// an output the component did not write) to the receiver at `address`. Returns the number of
/// files sent.
pub fn send(address: &str, token: &str, paths: &[PathBuf]) -> Result<usize, RelayError> {
    let stream = TcpStream::connect(address).map_err(|source| RelayError::Connect { address: address.into(), source })?;
    let mut writer = std::io::BufWriter::new(stream.try_clone().map_err(io("cannot clone the connection"))?);
    writeln!(writer, "{MAGIC} {token}").map_err(io("cannot send"))?;
    let mut files = 0;
    for path in paths {
        files += send_entry(&mut writer, path)?;
    }
    writer.write_all(b"E\n").and_then(|()| writer.flush()).map_err(io("cannot send"))?;
    drop(writer);
    // End of upload: lets a receiver that refused part of it read the rest before answering.
    stream.shutdown(std::net::Shutdown::Write).map_err(io("cannot send"))?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(io("no answer from the pipeline step"))?;
    match answer.trim_end().strip_prefix("ERR ") {
        Some(reason) => Err(RelayError::Refused(reason.to_owned())),
        None if answer.trim_end() == "OK" => Ok(files),
        None => Err(RelayError::Refused(format!("unexpected answer {answer:?}"))),
    }
}

fn send_entry(writer: &mut impl Write, path: &Path) -> Result<usize, RelayError> {
    let Ok(meta) = std::fs::metadata(path) else { return Ok(0) };
    let name = path.to_string_lossy();
    if meta.is_dir() {
        write!(writer, "D {} 0\n{name}", name.len()).map_err(io("cannot send"))?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io(format!("cannot list {name}")))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io(format!("cannot list {name}")))?;
        entries.sort();
        let mut files = 0;
        for entry in entries {
            files += send_entry(writer, &entry)?;
        }
        return Ok(files);
    }
    let mut file = std::fs::File::open(path).map_err(io(format!("cannot read {name}")))?;
    write!(writer, "F {} {}\n{name}", name.len(), meta.len()).map_err(io("cannot send"))?;
    let copied = std::io::copy(&mut file, writer).map_err(io(format!("cannot send {name}")))?;
    if copied != meta.len() {
        return Err(RelayError::Refused(format!("{name} changed size while it was sent")));
    }
    Ok(1)
}

/// Listens for one upload of outputs; see the module docs.
pub struct Receiver {
    port: u16,
    stop: Arc<AtomicBool>,
    result: Arc<Mutex<Option<Vec<PathBuf>>>>,
    thread: JoinHandle<()>,
}

impl Receiver {
    /// Listens on `bind` (port 0 picks one) for an upload authenticated by `token` whose paths
    /// are among `allowed` or inside one of them.
    pub fn start(bind: SocketAddr, token: String, allowed: Vec<PathBuf>) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let result = Arc::new(Mutex::new(None));
        let (stop_flag, slot) = (stop.clone(), result.clone());
        let thread = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) && slot.lock().unwrap().is_none() {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(written) = receive(stream, &token, &allowed) {
                            *slot.lock().unwrap() = Some(written);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Ok(Receiver { port, stop, result, thread })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening; returns the paths written by the upload, if one arrived.
    pub fn finish(self) -> Option<Vec<PathBuf>> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        self.result.lock().unwrap().take()
    }
}

/// Handles one connection; `Some(paths written)` after a complete, accepted upload.
fn receive(stream: TcpStream, token: &str, allowed: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
    let mut answer = stream.try_clone().ok()?;
    let mut staged = Vec::new();
    let mut reader = BufReader::new(stream);
    let outcome = read_upload(&mut reader, token, allowed, &mut staged);
    // Read what a refused upload still sends, so that closing the socket does not reset the
    // connection before the sender reads the answer.
    let _ = std::io::copy(&mut reader, &mut std::io::sink());
    let reply = match &outcome {
        Ok(()) => commit(&staged).map(|()| "OK".to_owned()).unwrap_or_else(|e| format!("ERR {e}")),
        Err(reason) => format!("ERR {reason}"),
    };
    if !reply.starts_with("OK") {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
    }
    let _ = writeln!(answer, "{reply}");
    reply.starts_with("OK").then(|| staged.into_iter().map(|(_, dest)| dest).collect())
}

fn read_upload(
    reader: &mut impl BufRead,
    token: &str,
    allowed: &[PathBuf],
    staged: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), String> {
    let mut line = String::new();
    reader.read_line(&mut line).map_err(|e| e.to_string())?;
    if line.trim_end() != format!("{MAGIC} {token}") {
        return Err("bad token".into());
    }
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(|e| e.to_string())?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (kind, path_len, size) = match fields[..] {
            ["E"] => return Ok(()),
            [kind @ ("F" | "D"), len, size] => (
                kind,
                len.parse::<usize>().map_err(|_| format!("bad header {line:?}"))?,
                size.parse::<u64>().map_err(|_| format!("bad header {line:?}"))?,
            ),
            _ => return Err(format!("bad header {line:?}")),
        };
        let mut name = vec![0; path_len];
        reader.read_exact(&mut name).map_err(|e| e.to_string())?;
        let path = PathBuf::from(String::from_utf8(name).map_err(|_| "a path is not UTF-8".to_owned())?);
        if !path.is_absolute()
            || path.components().any(|c| c == Component::ParentDir)
            || !allowed.iter().any(|a| path.starts_with(a))
        {
            return Err(format!("{} is not an output path of this step", path.display()));
        }
        if kind == "D" {
            std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let tmp = path.with_file_name(format!(
            ".{}.kfp-relay",
            path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
        ));
        let mut file = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        staged.push((tmp.clone(), path.clone()));
        let copied = std::io::copy(&mut reader.take(size), &mut file).map_err(|e| e.to_string())?;
        if copied != size {
            return Err(format!("{} was cut short ({copied} of {size} bytes)", path.display()));
        }
    }
}

fn commit(staged: &[(PathBuf, PathBuf)]) -> Result<(), String> {
    for (tmp, dest) in staged {
        std::fs::rename(tmp, dest).map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    }
    Ok(())
}

/// The address the job's pods reach this pod at: the local address of a route to the API
/// server's service (no packet is sent), or `KFP_OUTPUT_RELAY_HOST` when set.
pub fn pod_ip() -> Result<String, String> {
    if let Ok(host) = std::env::var("KFP_OUTPUT_RELAY_HOST") {
        return Ok(host);
    }
    let host = std::env::var("KUBERNETES_SERVICE_HOST")
        .map_err(|_| "KUBERNETES_SERVICE_HOST is not set (not in a pod?); set KFP_OUTPUT_RELAY_HOST".to_owned())?;
    let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
    let target = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let any = if host.contains(':') { "[::]:0" } else { "0.0.0.0:0" };
    let socket = std::net::UdpSocket::bind(any).map_err(|e| e.to_string())?;
    socket.connect(&target).map_err(|e| format!("no route to {target}: {e}"))?;
    Ok(socket.local_addr().map_err(|e| e.to_string())?.ip().to_string())
}

/// A one-time token: 128 random bits from the kernel.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
