//! Moves a distributed component's files between the pipeline step's pod and the job's pods.
//! KFP's launcher downloads the step's input artifacts into the step's pod before the step's
//! command runs, and uploads its output artifacts (and reads its output parameter files) from
//! there when the command exits; the job's pods see neither.
//!
//! The step's launcher runs a [`Server`] on a TCP port and gives the job's pods
//! `KFP_OUTPUT_RELAY=IP:PORT` and a one-time `KFP_OUTPUT_RELAY_TOKEN`. Before the component
//! runs, each pod's node-level process [`fetch`]es the input artifacts; after it finished, the
//! Master pod's node-level process [`upload`]s every output file it wrote. Both sides write a
//! file under the same absolute path it had on the other side, only if that path is one of the
//! declared input (output) paths or inside one, and rename files into place only once a whole
//! transfer arrived.
//!
//! Wire format: the client sends `KFPRELAY1 <token> GET\n` or `KFPRELAY1 <token> PUT\n`. A
//! transfer is a sequence of `F <path bytes> <size>\n<path><data>` (a file) and
//! `D <path bytes> 0\n<path>` (a directory) ended by `E\n`. For GET the server answers `OK\n`
//! and a transfer of the inputs, or `ERR <reason>\n`; for PUT the client sends a transfer of
//! the outputs, shuts its side down, and the server answers `OK\n` or `ERR <reason>\n`.

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
/// an output the component did not write) to the server at `address`. Returns the number of
/// files sent.
pub fn upload(address: &str, token: &str, paths: &[PathBuf]) -> Result<usize, RelayError> {
    let stream =
        TcpStream::connect(address).map_err(|source| RelayError::Connect { address: address.into(), source })?;
    let mut writer = std::io::BufWriter::new(stream.try_clone().map_err(io("cannot clone the connection"))?);
    writeln!(writer, "{MAGIC} {token} PUT").map_err(io("cannot send"))?;
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

/// Receives the server's input files, each under its own path, which must be among `allowed`
/// or inside one. Returns the paths written.
pub fn fetch(address: &str, token: &str, allowed: &[PathBuf]) -> Result<Vec<PathBuf>, RelayError> {
    let mut stream =
        TcpStream::connect(address).map_err(|source| RelayError::Connect { address: address.into(), source })?;
    writeln!(stream, "{MAGIC} {token} GET").map_err(io("cannot send"))?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    reader.read_line(&mut answer).map_err(io("no answer from the pipeline step"))?;
    if let Some(reason) = answer.trim_end().strip_prefix("ERR ") {
        return Err(RelayError::Refused(reason.to_owned()));
    }
    let mut staged = Vec::new();
    let outcome = read_transfer(&mut reader, allowed, &mut staged).and_then(|()| commit(&staged));
    match outcome {
        Ok(()) => Ok(staged.into_iter().map(|(_, dest)| dest).collect()),
        Err(reason) => {
            discard(&staged);
            Err(RelayError::Refused(reason))
        }
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

/// Serves the step's inputs and takes one upload of its outputs; see the module docs.
pub struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    uploaded: Arc<Mutex<Option<Vec<PathBuf>>>>,
    thread: JoinHandle<()>,
}

impl Server {
    /// Listens on `bind` (port 0 picks one) for clients that present `token`: GET receives
    /// `inputs`, PUT may write within `outputs` (once).
    pub fn start(
        bind: SocketAddr,
        token: String,
        inputs: Vec<PathBuf>,
        outputs: Vec<PathBuf>,
    ) -> std::io::Result<Server> {
        let listener = TcpListener::bind(bind)?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let uploaded = Arc::new(Mutex::new(None));
        let (stop_flag, slot) = (stop.clone(), uploaded.clone());
        let shared = Arc::new((token, inputs, outputs));
        let thread = std::thread::spawn(move || {
            while !stop_flag.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                // One thread per connection: every pod fetches the inputs at the same time.
                let (shared, slot) = (shared.clone(), slot.clone());
                std::thread::spawn(move || {
                    let (token, inputs, outputs) = &*shared;
                    let writable: &[PathBuf] = if slot.lock().unwrap().is_some() { &[] } else { outputs };
                    serve(stream, token, inputs, writable, &slot);
                });
            }
        });
        Ok(Server { port, stop, uploaded, thread })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops listening; returns the paths the upload wrote, if one arrived.
    pub fn finish(self) -> Option<Vec<PathBuf>> {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.thread.join();
        self.uploaded.lock().unwrap().take()
    }
}

/// Handles one connection; a complete, accepted upload's paths go to `uploaded` before the
/// client is told OK.
fn serve(
    stream: TcpStream,
    token: &str,
    inputs: &[PathBuf],
    outputs: &[PathBuf],
    uploaded: &Mutex<Option<Vec<PathBuf>>>,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(600)));
    let Ok(clone) = stream.try_clone() else { return };
    let mut answer = std::io::BufWriter::new(clone);
    let mut reader = BufReader::new(stream);
    let mut hello = String::new();
    let _ = reader.read_line(&mut hello);
    let fields: Vec<&str> = hello.split_whitespace().collect();
    let (verb, authorized) = match fields[..] {
        [MAGIC, presented, verb] => (verb, presented == token),
        _ => ("", false),
    };
    let reply = match verb {
        _ if !authorized => {
            if verb == "PUT" {
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            }
            Err("bad token".to_owned())
        }
        "GET" => {
            let sent = writeln!(answer, "OK")
                .map_err(io("cannot send"))
                .and_then(|()| inputs.iter().try_for_each(|p| send_entry(&mut answer, p).map(drop)))
                .and_then(|()| answer.write_all(b"E\n").and_then(|()| answer.flush()).map_err(io("cannot send")));
            if let Err(error) = sent {
                eprintln!("{error}");
            }
            return;
        }
        "PUT" => {
            let mut staged = Vec::new();
            let outcome = read_transfer(&mut reader, outputs, &mut staged).and_then(|()| commit(&staged));
            // Read what a refused upload still sends, so that closing the socket does not reset
            // the connection before the client reads the answer.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            match outcome {
                Ok(()) => {
                    *uploaded.lock().unwrap() = Some(staged.into_iter().map(|(_, dest)| dest).collect());
                    Ok(())
                }
                Err(reason) => {
                    discard(&staged);
                    Err(reason)
                }
            }
        }
        _ => Err(format!("unknown request {verb:?}")),
    };
    let line = match &reply {
        Ok(()) => "OK".to_owned(),
        Err(reason) => format!("ERR {reason}"),
    };
    let _ = writeln!(answer, "{line}").and_then(|()| answer.flush());
}

/// Reads one transfer up to `E`, staging each file next to its destination.
fn read_transfer(
    reader: &mut impl BufRead,
    allowed: &[PathBuf],
    staged: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), String> {
    let mut line = String::new();
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
            return Err(format!("{} is not among the paths this transfer may write", path.display()));
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

fn discard(staged: &[(PathBuf, PathBuf)]) {
    for (tmp, _) in staged {
        let _ = std::fs::remove_file(tmp);
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
