//! A fake Kubernetes API server on 127.0.0.1 for the PyTorchJob endpoints the launcher uses:
//! server-side apply (PATCH, checked against the CRD schema in strict mode), GET (each one moves
//! the job one step along its script, as the Training Operator would) and DELETE. HTTP/1.1, one
//! request per connection.

use super::schema::PyTorchJobSchema;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "fake-token-123";
pub const NAMESPACE: &str = "kubeflow-user";
const PREFIX: &str = "/apis/kubeflow.org/v1/namespaces/";

/// How the job ends.
#[derive(Clone, Copy, PartialEq)]
pub enum Script {
    Succeeds,
    Fails,
    /// Stays Running forever.
    Hangs,
    /// Stays Running until [`FakeApi::release`], then succeeds (a pod's work in between).
    SucceedsWhenReleased,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
}

#[derive(Default)]
struct State {
    requests: Vec<Request>,
    /// The job as applied, and how many times its status was read.
    job: Option<Value>,
    reads: usize,
    deleted: bool,
    released: bool,
}

#[derive(Clone)]
pub struct FakeApi {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FakeApi {
    pub fn start(script: Script) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let schema = Arc::new(PyTorchJobSchema::strict());
        // Detached: the listener lives until the test process exits.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve(stream, &shared, &schema, script);
            }
        });
        FakeApi { url, state }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn stored_job(&self) -> Option<Value> {
        self.state.lock().unwrap().job.clone()
    }

    /// Lets a [`Script::SucceedsWhenReleased`] job finish.
    pub fn release(&self) {
        self.state.lock().unwrap().released = true;
    }

    pub fn deleted(&self) -> bool {
        self.state.lock().unwrap().deleted
    }

    /// A kubeconfig for this server with a bearer token (as a user's would have).
    pub fn kubeconfig(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: {url}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: {NAMESPACE}\n\
             users:\n- name: fake\n  user:\n    token: {token}\n",
            url = self.url
        )
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, schema: &PyTorchJobSchema, script: Script) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let length: usize = header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let request = Request { method: method.clone(), path: path.to_owned(), query: query.to_owned() };
    let (code, response) = if header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        status(401, "Unauthorized", "no valid bearer token".into())
    } else {
        route(&request, header("content-type"), &body, &mut state.lock().unwrap(), schema, script)
    };
    state.lock().unwrap().requests.push(request);
    let text = response.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn route(
    request: &Request,
    content_type: Option<&str>,
    body: &[u8],
    state: &mut State,
    schema: &PyTorchJobSchema,
    script: Script,
) -> (u16, Value) {
    let Some(rest) = request.path.strip_prefix(PREFIX) else {
        return status(404, "NotFound", format!("no route for {}", request.path));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    let [namespace, "pytorchjobs", name] = segments[..] else {
        return status(404, "NotFound", format!("no route for {}", request.path));
    };
    match request.method.as_str() {
        "PATCH" => apply(request, content_type, body, namespace, name, state, schema),
        "GET" => match &mut state.job {
            Some(job) if !state.deleted => {
                state.reads += 1;
                let script = match script {
                    Script::SucceedsWhenReleased if state.released => Script::Succeeds,
                    Script::SucceedsWhenReleased => Script::Hangs,
                    other => other,
                };
                job["status"] = json!({ "conditions": conditions(state.reads, script) });
                (200, job.clone())
            }
            _ => status(404, "NotFound", format!("pytorchjobs.kubeflow.org \"{name}\" not found")),
        },
        "DELETE" if state.job.is_some() => {
            state.deleted = true;
            (200, json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}))
        }
        _ => status(405, "MethodNotAllowed", format!("{} {}", request.method, request.path)),
    }
}

/// Server-side apply: the query must ask for strict validation, and the object must pass the
/// CRD schema in strict mode and name the job in the URL.
fn apply(
    request: &Request,
    content_type: Option<&str>,
    body: &[u8],
    namespace: &str,
    name: &str,
    state: &mut State,
    schema: &PyTorchJobSchema,
) -> (u16, Value) {
    if content_type != Some("application/apply-patch+yaml") {
        return status(
            415,
            "UnsupportedMediaType",
            format!("apply needs application/apply-patch+yaml, got {content_type:?}"),
        );
    }
    for wanted in ["fieldManager=kfp-rs", "fieldValidation=Strict"] {
        if !request.query.split('&').any(|pair| pair == wanted) {
            return status(400, "BadRequest", format!("query {:?} lacks {wanted}", request.query));
        }
    }
    let Ok(object) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "body is not JSON".into());
    };
    let errors = schema.errors(&object);
    if !errors.is_empty() {
        return status(422, "Invalid", format!("PyTorchJob is invalid: {}", errors.join("; ")));
    }
    if object["metadata"]["name"] != name || object["metadata"]["namespace"] != namespace {
        return status(400, "BadRequest", "metadata.name/namespace do not match the URL".into());
    }
    if object["apiVersion"] != "kubeflow.org/v1" || object["kind"] != "PyTorchJob" {
        return status(400, "BadRequest", "not a kubeflow.org/v1 PyTorchJob".into());
    }
    // A second apply of the same job (a restarted launcher) keeps the job and its progress.
    let stored = state.job.get_or_insert_with(|| {
        let mut stored = object.clone();
        stored["metadata"]["uid"] = json!("0f0e0d0c-0000-4000-8000-000000000001");
        stored["metadata"]["resourceVersion"] = json!("1");
        stored
    });
    (200, stored.clone())
}

/// The operator's conditions after the `reads`-th status read.
fn conditions(reads: usize, script: Script) -> Value {
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
               "lastUpdateTime": "2026-11-28T23:00:00Z", "lastTransitionTime": "2026-11-28T23:00:00Z"})
    };
    let created = condition("Created", "True", "PyTorchJobCreated", "PyTorchJob is created.");
    let running = |status| condition("Running", status, "PyTorchJobRunning", "PyTorchJob is running.");
    match (reads, script) {
        (1, _) => json!([created]),
        (2, _) | (_, Script::Hangs | Script::SucceedsWhenReleased) => json!([created, running("True")]),
        (_, Script::Succeeds) => json!([
            created,
            running("False"),
            condition("Succeeded", "True", "PyTorchJobSucceeded", "PyTorchJob is successfully completed.")
        ]),
        (_, Script::Fails) => json!([
            created,
            running("False"),
            condition("Failed", "True", "PyTorchJobFailed", "PyTorchJob is failed because 1 Master replica(s) failed.")
        ]),
    }
}

fn status(code: u16, reason: &str, message: String) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}),
    )
}
