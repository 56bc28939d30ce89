//! A fake KFP API server on 127.0.0.1 for tests. It implements the v2beta1 endpoints the client
//! uses, as kubeflow/pipelines defines them in backend/api/v2beta1/swagger/
//! (pipeline.upload.swagger.json, pipeline.swagger.json, experiment.swagger.json,
//! run.swagger.json), and checks every request's shape strictly: method, path, query names,
//! multipart part, JSON body fields and types, Authorization header. A request that breaks
//! the contract is answered 400 and recorded in `violations()`, which tests assert is empty.
//! Shared by client/tests and the root package's tests/cli_client.rs (via #[path]).
#![allow(dead_code)] // each test binary uses a different subset

use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub authorization: Option<String>,
}

/// One multipart upload as received.
#[derive(Debug, Clone)]
pub struct Upload {
    pub path: String,
    pub filename: String,
    pub content: Vec<u8>,
    pub query: Vec<(String, String)>,
}

struct Fault {
    method: String,
    path: String,
    status: u16,
    body: String,
}

struct StoredPipeline {
    id: String,
    name: String,
    description: String,
    namespace: String,
}

struct StoredVersion {
    pipeline_id: String,
    id: String,
    name: String,
    spec: Value,
}

struct StoredRun {
    id: String,
    experiment_id: String,
    display_name: String,
    state: &'static str,
    body: Value,
}

#[derive(Default)]
struct State {
    token: Option<String>,
    namespace: Option<String>,
    run_outcome: &'static str,
    requests: Vec<Recorded>,
    violations: Vec<String>,
    uploads: Vec<Upload>,
    run_bodies: Vec<Value>,
    faults: VecDeque<Fault>,
    pipelines: Vec<StoredPipeline>,
    versions: Vec<StoredVersion>,
    experiments: Vec<(String, String, String)>, // id, display name, namespace
    runs: Vec<StoredRun>,
    next_id: u32,
}

impl State {
    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}-{:04}", self.next_id)
    }
}

/// The running fake server; stops when dropped.
pub struct FakeKfp {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

type Reply = (u16, Value);

impl FakeKfp {
    /// Starts a server that requires `Authorization: Bearer <token>` when `token` is set and
    /// no Authorization header otherwise.
    pub fn start(token: Option<&str>) -> FakeKfp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            token: token.map(str::to_string),
            run_outcome: "SUCCEEDED",
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_state, thread_stop) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve_connection(stream, &thread_state);
                }
            }
        });
        FakeKfp {
            endpoint,
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Requests that carry a namespace must carry this one.
    pub fn expect_namespace(&self, namespace: &str) {
        self.lock().namespace = Some(namespace.to_string());
    }

    /// Final state of runs: "SUCCEEDED", "FAILED" or "CANCELED".
    pub fn set_run_outcome(&self, outcome: &'static str) {
        self.lock().run_outcome = outcome;
    }

    /// The next `times` requests to `method path` are answered with `status` and `body`.
    pub fn fail_next(&self, method: &str, path: &str, status: u16, body: &str, times: usize) {
        let mut state = self.lock();
        for _ in 0..times {
            state.faults.push_back(Fault {
                method: method.into(),
                path: path.into(),
                status,
                body: body.into(),
            });
        }
    }

    /// Seeds a pipeline with one version holding `spec`; returns (pipeline_id, version_id).
    pub fn add_pipeline(&self, name: &str, spec: Value) -> (String, String) {
        let mut state = self.lock();
        let id = state.id("pipeline");
        let version_id = state.id("version");
        state.pipelines.push(StoredPipeline {
            id: id.clone(),
            name: name.into(),
            description: String::new(),
            namespace: String::new(),
        });
        state.versions.push(StoredVersion {
            pipeline_id: id.clone(),
            id: version_id.clone(),
            name: name.into(),
            spec,
        });
        (id, version_id)
    }

    /// Seeds an experiment; returns its ID.
    pub fn add_experiment(&self, name: &str) -> String {
        let mut state = self.lock();
        let id = state.id("experiment");
        let namespace = state.namespace.clone().unwrap_or_default();
        state.experiments.push((id.clone(), name.into(), namespace));
        id
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// `METHOD path` of every request, in order.
    pub fn request_lines(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }

    pub fn uploads(&self) -> Vec<Upload> {
        self.lock().uploads.clone()
    }

    /// Bodies of accepted CreateRun requests.
    pub fn run_bodies(&self) -> Vec<Value> {
        self.lock().run_bodies.clone()
    }

    pub fn experiment_names(&self) -> Vec<String> {
        self.lock()
            .experiments
            .iter()
            .map(|e| e.1.clone())
            .collect()
    }

    pub fn pipeline_count(&self) -> usize {
        self.lock().pipelines.len()
    }

    pub fn version_count(&self) -> usize {
        self.lock().versions.len()
    }
}

impl Drop for FakeKfp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.endpoint.trim_start_matches("http://"));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn serve_connection(mut stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let Some(request) = read_request(&mut stream) else {
        return;
    };
    let (status, body) = handle(
        &request,
        &mut state.lock().unwrap_or_else(|e| e.into_inner()),
    );
    let text = body.to_string();
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn violation(state: &mut State, request: &Request, problem: String) -> Reply {
    let message = format!("{} {}: {problem}", request.method, request.path);
    state.violations.push(message.clone());
    (
        400,
        json!({"code": 3, "message": format!("fake-kfp contract violation: {message}")}),
    )
}

fn rpc_error(status: u16, code: i64, message: &str) -> Reply {
    (
        status,
        json!({"code": code, "message": message, "details": []}),
    )
}

fn handle(request: &Request, state: &mut State) -> Reply {
    state.requests.push(Recorded {
        method: request.method.clone(),
        path: request.path.clone(),
        query: request.query.clone(),
        authorization: request.header("authorization").map(str::to_string),
    });
    // securityDefinitions.Bearer: header "authorization", value "Bearer <token>".
    match (&state.token, request.header("authorization")) {
        (Some(token), Some(value)) if value == format!("Bearer {token}") => {}
        (Some(_), _) => {
            return rpc_error(401, 16, "Unauthenticated: invalid or missing bearer token");
        }
        (None, Some(_)) => {
            return violation(
                state,
                request,
                "Authorization header sent although no token was configured".into(),
            );
        }
        (None, None) => {}
    }
    if let Some(at) = state
        .faults
        .iter()
        .position(|f| f.method == request.method && f.path == request.path)
    {
        let fault = state.faults.remove(at).unwrap();
        let body = serde_json::from_str(&fault.body).unwrap_or(Value::String(fault.body));
        return (fault.status, body);
    }
    let segments: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("POST", ["apis", "v2beta1", "pipelines", "upload"]) => upload_pipeline(request, state),
        ("POST", ["apis", "v2beta1", "pipelines", "upload_version"]) => {
            upload_version(request, state)
        }
        ("GET", ["apis", "v2beta1", "pipelines"]) => list_pipelines(request, state),
        ("GET", ["apis", "v2beta1", "pipelines", id, "versions"]) => {
            list_versions(request, state, id)
        }
        ("GET", ["apis", "v2beta1", "pipelines", id, "versions", version]) => {
            get_version(request, state, id, version)
        }
        ("POST", ["apis", "v2beta1", "experiments"]) => create_experiment(request, state),
        ("GET", ["apis", "v2beta1", "experiments"]) => list_experiments(request, state),
        ("POST", ["apis", "v2beta1", "runs"]) => create_run(request, state),
        ("GET", ["apis", "v2beta1", "runs"]) => list_runs(request, state),
        ("GET", ["apis", "v2beta1", "runs", id]) => get_run(request, state, id),
        _ => violation(
            state,
            request,
            "no such endpoint in the v2beta1 swagger".into(),
        ),
    }
}

/// Every query name must be one the swagger lists for the endpoint, at most once; a namespace
/// must be the expected one.
fn check_query(request: &Request, state: &State, allowed: &[&str]) -> Result<(), String> {
    for (i, (name, value)) in request.query.iter().enumerate() {
        if !allowed.contains(&name.as_str()) {
            return Err(format!(
                "query parameter {name:?} is not in the swagger (allowed: {allowed:?})"
            ));
        }
        if request.query[..i].iter().any(|(k, _)| k == name) {
            return Err(format!("query parameter {name:?} repeated"));
        }
        if value.is_empty() {
            return Err(format!("query parameter {name:?} sent empty"));
        }
        if name == "page_size" && value.parse::<i32>().is_err() {
            return Err(format!("page_size {value:?} is not an int32"));
        }
    }
    if let Some(expected) = &state.namespace
        && allowed.contains(&"namespace")
        && request.query_value("namespace") != Some(expected)
    {
        return Err(format!(
            "namespace query should be {expected:?}, got {:?}",
            request.query_value("namespace")
        ));
    }
    Ok(())
}

/// The display_name equality filter of filter.proto, if any; other filters are violations.
fn display_name_filter(request: &Request) -> Result<Option<String>, String> {
    let Some(raw) = request.query_value("filter") else {
        return Ok(None);
    };
    let filter: Value =
        serde_json::from_str(raw).map_err(|e| format!("filter is not JSON: {e}"))?;
    let predicates = filter
        .get("predicates")
        .and_then(Value::as_array)
        .ok_or("filter has no predicates list")?;
    let [predicate] = predicates.as_slice() else {
        return Err("expected one predicate".into());
    };
    let object = predicate.as_object().ok_or("predicate is not an object")?;
    for key in object.keys() {
        if !["operation", "key", "string_value", "stringValue"].contains(&key.as_str()) {
            return Err(format!("predicate field {key:?} unexpected"));
        }
    }
    let operation_ok = matches!(object.get("operation"), Some(Value::String(s)) if s == "EQUALS")
        || object.get("operation") == Some(&json!(1));
    if !operation_ok || object.get("key") != Some(&json!("display_name")) {
        return Err(format!("predicate {predicate} is not display_name EQUALS"));
    }
    let value = object
        .get("string_value")
        .or_else(|| object.get("stringValue"))
        .and_then(Value::as_str)
        .ok_or("predicate has no string_value")?;
    Ok(Some(value.to_string()))
}

/// One file part named `uploadfile` with a filename (formData parameter of UploadPipeline).
fn multipart_file(request: &Request) -> Result<(String, Vec<u8>), String> {
    let content_type = request.header("content-type").ok_or("no Content-Type")?;
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .ok_or(format!(
            "Content-Type {content_type:?} is not multipart/form-data"
        ))?;
    let body = &request.body;
    let opening = format!("--{boundary}\r\n");
    let closing = format!("\r\n--{boundary}--\r\n");
    if !body.starts_with(opening.as_bytes()) || !body.ends_with(closing.as_bytes()) {
        return Err("multipart body does not open and close with the boundary".into());
    }
    let inner = &body[opening.len()..body.len() - closing.len()];
    let separator = format!("\r\n--{boundary}\r\n");
    if inner
        .windows(separator.len())
        .any(|w| w == separator.as_bytes())
    {
        return Err("more than one multipart part".into());
    }
    let split = inner
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("part has no header end")?;
    let headers = std::str::from_utf8(&inner[..split]).map_err(|_| "part headers not UTF-8")?;
    let content = inner[split + 4..].to_vec();
    let disposition = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Disposition: "))
        .ok_or("part has no Content-Disposition")?;
    let fields: Vec<&str> = disposition.split("; ").collect();
    if fields.first() != Some(&"form-data") || !fields.contains(&"name=\"uploadfile\"") {
        return Err(format!(
            "part is not form-data named \"uploadfile\": {disposition:?}"
        ));
    }
    let filename = fields
        .iter()
        .find_map(|f| f.strip_prefix("filename=\""))
        .and_then(|f| f.strip_suffix('"'))
        .ok_or("part has no filename")?;
    // The server picks the format from the extension (ReadPipelineFile).
    if ![".yaml", ".yml", ".json", ".zip", ".tar.gz", ".tgz"]
        .iter()
        .any(|e| filename.ends_with(e))
    {
        return Err(format!("filename {filename:?} has no pipeline extension"));
    }
    if content.is_empty() {
        return Err("uploaded file is empty".into());
    }
    Ok((filename.to_string(), content))
}

fn parse_spec(content: &[u8]) -> Result<Value, String> {
    let file =
        kfp_client::PipelineFile::parse(std::path::Path::new("upload.yaml"), content.to_vec())
            .map_err(|e| e.to_string())?;
    Ok(file.run_pipeline_spec())
}

fn pipeline_json(p: &StoredPipeline) -> Value {
    json!({"pipeline_id": p.id, "name": p.name, "display_name": p.name, "description": p.description,
           "created_at": "2026-01-01T00:00:00Z", "namespace": p.namespace})
}

fn version_json(v: &StoredVersion, with_spec: bool) -> Value {
    let mut value = json!({"pipeline_id": v.pipeline_id, "pipeline_version_id": v.id, "name": v.name, "display_name": v.name,
                           "created_at": "2026-01-01T00:00:00Z"});
    if with_spec {
        value["pipeline_spec"] = v.spec.clone();
    }
    value
}

fn upload_pipeline(request: &Request, state: &mut State) -> Reply {
    let checked = check_query(
        request,
        state,
        &[
            "name",
            "display_name",
            "description",
            "namespace",
            "tags",
            "code_source_url",
        ],
    )
    .and_then(|_| multipart_file(request))
    .and_then(|(filename, content)| parse_spec(&content).map(|spec| (filename, content, spec)));
    let (filename, content, spec) = match checked {
        Ok(parts) => parts,
        Err(problem) => return violation(state, request, problem),
    };
    state.uploads.push(Upload {
        path: request.path.clone(),
        filename: filename.clone(),
        content,
        query: request.query.clone(),
    });
    let name = request
        .query_value("display_name")
        .or(request.query_value("name"))
        .map(str::to_string)
        .unwrap_or_else(|| filename.split('.').next().unwrap_or_default().to_string());
    if state.pipelines.iter().any(|p| p.name == name) {
        // pipeline_upload_server.go answers AlreadyExists with 409 and an `error_message`.
        return (
            409,
            json!({"error_message": "Failed to create a pipeline and a pipeline version. The pipeline already exists.",
                            "error_details": "already exists"}),
        );
    }
    let id = state.id("pipeline");
    let version_id = state.id("version");
    let pipeline = StoredPipeline {
        id: id.clone(),
        name: name.clone(),
        description: request
            .query_value("description")
            .unwrap_or_default()
            .to_string(),
        namespace: request
            .query_value("namespace")
            .unwrap_or_default()
            .to_string(),
    };
    let reply = pipeline_json(&pipeline);
    state.pipelines.push(pipeline);
    state.versions.push(StoredVersion {
        pipeline_id: id,
        id: version_id,
        name,
        spec,
    });
    (200, reply)
}

fn upload_version(request: &Request, state: &mut State) -> Reply {
    let checked = check_query(
        request,
        state,
        &[
            "name",
            "display_name",
            "pipelineid",
            "description",
            "tags",
            "code_source_url",
        ],
    )
    .and_then(|_| multipart_file(request))
    .and_then(|(filename, content)| parse_spec(&content).map(|spec| (filename, content, spec)));
    let (filename, content, spec) = match checked {
        Ok(parts) => parts,
        Err(problem) => return violation(state, request, problem),
    };
    state.uploads.push(Upload {
        path: request.path.clone(),
        filename,
        content,
        query: request.query.clone(),
    });
    let Some(pipeline_id) = request.query_value("pipelineid").map(str::to_string) else {
        return violation(state, request, "pipelineid is required".into());
    };
    if !state.pipelines.iter().any(|p| p.id == pipeline_id) {
        return rpc_error(404, 5, &format!("Pipeline {pipeline_id} not found"));
    }
    let name = request
        .query_value("display_name")
        .or(request.query_value("name"))
        .unwrap_or("version")
        .to_string();
    if state
        .versions
        .iter()
        .any(|v| v.pipeline_id == pipeline_id && v.name == name)
    {
        return (
            409,
            json!({"error_message": "Failed to create a pipeline version. The pipeline version already exists."}),
        );
    }
    let id = state.id("version");
    let version = StoredVersion {
        pipeline_id,
        id,
        name,
        spec,
    };
    let reply = version_json(&version, false);
    state.versions.push(version);
    (200, reply)
}

fn list_pipelines(request: &Request, state: &mut State) -> Reply {
    let filter = check_query(
        request,
        state,
        &["namespace", "page_token", "page_size", "sort_by", "filter"],
    )
    .and_then(|_| display_name_filter(request));
    match filter {
        Err(problem) => violation(state, request, problem),
        Ok(name) => {
            let found: Vec<Value> = state
                .pipelines
                .iter()
                .filter(|p| name.as_ref().is_none_or(|n| &p.name == n))
                .map(pipeline_json)
                .collect();
            (200, json!({"pipelines": found, "total_size": found.len()}))
        }
    }
}

fn list_versions(request: &Request, state: &mut State, pipeline_id: &str) -> Reply {
    if let Err(problem) = check_query(
        request,
        state,
        &["page_token", "page_size", "sort_by", "filter"],
    ) {
        return violation(state, request, problem);
    }
    if !state.pipelines.iter().any(|p| p.id == pipeline_id) {
        return rpc_error(404, 5, &format!("Pipeline {pipeline_id} not found"));
    }
    let mut found: Vec<&StoredVersion> = state
        .versions
        .iter()
        .filter(|v| v.pipeline_id == pipeline_id)
        .collect();
    match request.query_value("sort_by") {
        None | Some("created_at") | Some("created_at asc") => {}
        Some("created_at desc") => found.reverse(),
        Some(other) => return violation(state, request, format!("sort_by {other:?} unsupported")),
    }
    let limit = request
        .query_value("page_size")
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = found
        .iter()
        .take(limit)
        .map(|v| version_json(v, false))
        .collect();
    (
        200,
        json!({"pipeline_versions": page, "total_size": found.len()}),
    )
}

fn get_version(request: &Request, state: &mut State, pipeline_id: &str, version_id: &str) -> Reply {
    if let Err(problem) = check_query(request, state, &[]) {
        return violation(state, request, problem);
    }
    match state
        .versions
        .iter()
        .find(|v| v.pipeline_id == pipeline_id && v.id == version_id)
    {
        Some(version) => (200, version_json(version, true)),
        None => rpc_error(404, 5, &format!("Pipeline version {version_id} not found")),
    }
}

/// A JSON object body with Content-Type application/json and only `allowed` fields.
fn json_body(request: &Request, allowed: &[&str]) -> Result<Map<String, Value>, String> {
    if request.header("content-type") != Some("application/json") {
        return Err(format!(
            "Content-Type {:?} is not application/json",
            request.header("content-type")
        ));
    }
    let body: Value =
        serde_json::from_slice(&request.body).map_err(|e| format!("body is not JSON: {e}"))?;
    let Value::Object(object) = body else {
        return Err("body is not a JSON object".into());
    };
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "body field {key:?} is not an input field (allowed: {allowed:?})"
            ));
        }
    }
    Ok(object)
}

fn string_field<'a>(
    object: &'a Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<&'a str>, String> {
    match object.get(key) {
        None if required => Err(format!("body field {key:?} is required")),
        None => Ok(None),
        Some(Value::String(s)) if required && s.is_empty() => {
            Err(format!("body field {key:?} is empty"))
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("body field {key:?} must be a string, got {other}")),
    }
}

fn create_experiment(request: &Request, state: &mut State) -> Reply {
    let checked = check_query(request, state, &[])
        .and_then(|_| json_body(request, &["display_name", "description", "namespace"]))
        .and_then(|body| {
            let name = string_field(&body, "display_name", true)?
                .unwrap_or_default()
                .to_string();
            string_field(&body, "description", false)?;
            let namespace = string_field(&body, "namespace", false)?.map(str::to_string);
            if let Some(expected) = &state.namespace
                && namespace.as_ref() != Some(expected)
            {
                return Err(format!(
                    "experiment namespace should be {expected:?}, got {namespace:?}"
                ));
            }
            Ok((name, namespace.unwrap_or_default()))
        });
    let (name, namespace) = match checked {
        Ok(parts) => parts,
        Err(problem) => return violation(state, request, problem),
    };
    if state.experiments.iter().any(|e| e.1 == name) {
        return rpc_error(
            409,
            6,
            &format!("Failed to create an experiment: experiment {name} already exists"),
        );
    }
    let id = state.id("experiment");
    state
        .experiments
        .push((id.clone(), name.clone(), namespace.clone()));
    (
        200,
        json!({"experiment_id": id, "display_name": name, "namespace": namespace, "created_at": "2026-01-01T00:00:00Z", "storage_state": "AVAILABLE"}),
    )
}

fn list_experiments(request: &Request, state: &mut State) -> Reply {
    let filter = check_query(
        request,
        state,
        &["page_token", "page_size", "sort_by", "filter", "namespace"],
    )
    .and_then(|_| display_name_filter(request));
    match filter {
        Err(problem) => violation(state, request, problem),
        Ok(name) => {
            let found: Vec<Value> = state
                .experiments
                .iter()
                .filter(|e| name.as_ref().is_none_or(|n| &e.1 == n))
                .map(|e| json!({"experiment_id": e.0, "display_name": e.1, "namespace": e.2, "created_at": "2026-01-01T00:00:00Z", "storage_state": "AVAILABLE"}))
                .collect();
            (
                200,
                json!({"experiments": found, "total_size": found.len()}),
            )
        }
    }
}

/// Checks a CreateRun body against v2beta1Run and the pipeline's declared inputs.
fn check_run_body(state: &State, body: &Map<String, Value>) -> Result<(), String> {
    string_field(body, "display_name", true)?;
    let experiment_id = string_field(body, "experiment_id", true)?.unwrap_or_default();
    if !state.experiments.iter().any(|e| e.0 == experiment_id) {
        return Err(format!("experiment_id {experiment_id:?} does not exist"));
    }
    let spec = match (
        body.get("pipeline_spec"),
        body.get("pipeline_version_reference"),
    ) {
        (Some(spec), None) => {
            let object = spec.as_object().ok_or("pipeline_spec is not an object")?;
            if object.contains_key("root") {
                spec.clone()
            } else {
                let keys: Vec<&str> = object.keys().map(String::as_str).collect();
                if keys != ["pipeline_spec", "platform_spec"]
                    && keys != ["platform_spec", "pipeline_spec"]
                {
                    return Err(format!(
                        "pipeline_spec is neither a spec with root nor {{pipeline_spec, platform_spec}}: keys {keys:?}"
                    ));
                }
                if !object["platform_spec"].is_object()
                    || object["pipeline_spec"].get("root").is_none()
                {
                    return Err("wrapped pipeline_spec/platform_spec have the wrong shape".into());
                }
                object["pipeline_spec"].clone()
            }
        }
        (None, Some(reference)) => {
            let reference = reference
                .as_object()
                .ok_or("pipeline_version_reference is not an object")?;
            for key in reference.keys() {
                if key != "pipeline_id" && key != "pipeline_version_id" {
                    return Err(format!(
                        "pipeline_version_reference field {key:?} unexpected"
                    ));
                }
            }
            let pipeline_id = string_field(reference, "pipeline_id", true)?.unwrap_or_default();
            let version_id =
                string_field(reference, "pipeline_version_id", true)?.unwrap_or_default();
            let version = state
                .versions
                .iter()
                .find(|v| v.pipeline_id == pipeline_id && v.id == version_id)
                .ok_or(format!(
                    "pipeline version {pipeline_id}/{version_id} does not exist"
                ))?;
            version
                .spec
                .get("pipeline_spec")
                .filter(|_| version.spec.get("root").is_none())
                .unwrap_or(&version.spec)
                .clone()
        }
        _ => {
            return Err(
                "exactly one of pipeline_spec and pipeline_version_reference must be set".into(),
            );
        }
    };
    let runtime = body
        .get("runtime_config")
        .and_then(Value::as_object)
        .ok_or("runtime_config missing or not an object")?;
    for key in runtime.keys() {
        if key != "parameters" && key != "pipeline_root" {
            return Err(format!("runtime_config field {key:?} unexpected"));
        }
    }
    let empty = Map::new();
    let given = match runtime.get("parameters") {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(format!(
                "runtime_config.parameters is not an object: {other}"
            ));
        }
    };
    let declared = spec
        .pointer("/root/inputDefinitions/parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, value) in given {
        let kind = declared
            .get(name)
            .and_then(|d| d.get("parameterType"))
            .and_then(Value::as_str)
            .ok_or(format!("parameter {name:?} is not declared"))?;
        let ok = match kind {
            "STRING" => value.is_string(),
            "NUMBER_INTEGER" => value.is_i64() || value.is_u64(),
            "NUMBER_DOUBLE" => value.is_number(),
            "BOOLEAN" => value.is_boolean(),
            "LIST" => value.is_array(),
            "STRUCT" => value.is_object(),
            _ => false,
        };
        if !ok {
            return Err(format!(
                "parameter {name:?} of type {kind} has the wrong JSON type: {value}"
            ));
        }
    }
    for (name, definition) in &declared {
        let optional = definition.get("defaultValue").is_some()
            || definition.get("isOptional") == Some(&json!(true));
        if !optional && !given.contains_key(name) {
            return Err(format!("required parameter {name:?} missing"));
        }
    }
    Ok(())
}

fn run_json(run: &StoredRun) -> Value {
    let mut value = run.body.clone();
    value["run_id"] = json!(run.id);
    value["experiment_id"] = json!(run.experiment_id);
    value["display_name"] = json!(run.display_name);
    value["state"] = json!(run.state);
    value["storage_state"] = json!("AVAILABLE");
    value["created_at"] = json!("2026-01-01T00:00:00Z");
    if matches!(run.state, "SUCCEEDED" | "FAILED" | "CANCELED") {
        value["finished_at"] = json!("2026-01-01T00:05:00Z");
    }
    if run.state == "FAILED" {
        value["error"] = json!({"code": 2, "message": "task train failed"});
    }
    value
}

fn create_run(request: &Request, state: &mut State) -> Reply {
    let body = check_query(request, state, &["experiment_id"])
        .and_then(|_| {
            json_body(
                request,
                &[
                    "experiment_id",
                    "display_name",
                    "description",
                    "pipeline_spec",
                    "pipeline_version_reference",
                    "runtime_config",
                    "service_account",
                ],
            )
        })
        .and_then(|body| check_run_body(state, &body).map(|_| body));
    let body = match body {
        Ok(body) => body,
        Err(problem) => return violation(state, request, problem),
    };
    let id = state.id("run");
    let run = StoredRun {
        id,
        experiment_id: body["experiment_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        display_name: body["display_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        state: "PENDING",
        body: Value::Object(body.clone()),
    };
    state.run_bodies.push(Value::Object(body));
    let reply = run_json(&run);
    state.runs.push(run);
    (200, reply)
}

/// Each GetRun moves a run one step: PENDING -> RUNNING -> the configured outcome.
fn get_run(request: &Request, state: &mut State, run_id: &str) -> Reply {
    if let Err(problem) = check_query(request, state, &["experiment_id"]) {
        return violation(state, request, problem);
    }
    let outcome = state.run_outcome;
    let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) else {
        return rpc_error(404, 5, &format!("Run {run_id} not found"));
    };
    let reply = run_json(run);
    run.state = match run.state {
        "PENDING" => "RUNNING",
        "RUNNING" => outcome,
        done => done,
    };
    (200, reply)
}

fn list_runs(request: &Request, state: &mut State) -> Reply {
    if let Err(problem) = check_query(
        request,
        state,
        &[
            "namespace",
            "experiment_id",
            "page_token",
            "page_size",
            "sort_by",
            "filter",
        ],
    ) {
        return violation(state, request, problem);
    }
    let experiment = request.query_value("experiment_id");
    let found: Vec<Value> = state
        .runs
        .iter()
        .filter(|r| experiment.is_none_or(|e| r.experiment_id == e))
        .map(run_json)
        .collect();
    (200, json!({"runs": found, "total_size": found.len()}))
}
