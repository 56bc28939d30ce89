//! The transport: blocking ureq over rustls, bearer auth, JSON and multipart bodies, and bounded
//! exponential backoff for GET calls only (a POST may have reached the server before it failed).

use crate::config::Config;
use crate::errors::{self, ApiError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{SystemTime, UNIX_EPOCH};

/// Responses larger than this are refused (pipeline specs are a few MB at most).
const MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;

/// A connected client for one KFP API server.
pub struct Client {
    agent: ureq::Agent,
    config: Config,
}

/// One file sent as a multipart/form-data part.
pub struct FilePart<'a> {
    pub field: &'a str,
    pub filename: &'a str,
    pub content: &'a [u8],
}

/// A POST body; requests without one are GETs.
struct Upload {
    content_type: String,
    bytes: Vec<u8>,
}

impl Client {
    pub fn new(config: Config) -> Client {
        let agent = ureq::Agent::config_builder()
            // Error statuses carry the server's message in the body: read them ourselves.
            .http_status_as_error(false)
            // A redirect usually means a login proxy; following it could carry the token away.
            .max_redirects(0)
            .timeout_global(Some(config.timeout))
            .user_agent(concat!("kfp-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Client { agent, config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// GET with retries on network errors and 502/503/504.
    pub fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, ApiError> {
        self.call(path, query, None)
    }

    /// POST of a JSON body; never retried.
    pub fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<T, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ApiError::Decode {
            request: format!("POST {path}"),
            reason: format!("cannot encode the request body: {e}"),
        })?;
        self.call(
            path,
            query,
            Some(Upload {
                content_type: "application/json".into(),
                bytes,
            }),
        )
    }

    /// POST of one file as multipart/form-data; never retried.
    pub fn post_multipart<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        part: &FilePart<'_>,
    ) -> Result<T, ApiError> {
        let (content_type, bytes) = encode_multipart(part);
        self.call(
            path,
            query,
            Some(Upload {
                content_type,
                bytes,
            }),
        )
    }

    fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        upload: Option<Upload>,
    ) -> Result<T, ApiError> {
        let method = if upload.is_some() { "POST" } else { "GET" };
        let request = format!("{method} {path}");
        let url = format!("{}{}{}", self.config.endpoint, path, encode_query(query));
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(&url, upload.as_ref());
            let transient = match &outcome {
                Err(error) => is_transient(error),
                Ok((status, _)) => matches!(status, 502..=504),
            };
            // Only GETs are retried: a POST may have reached the server before it failed.
            if upload.is_none() && transient && attempt < self.config.retry.max_attempts {
                std::thread::sleep(self.config.retry.backoff(attempt));
                attempt += 1;
                continue;
            }
            let (status, bytes) = outcome.map_err(|e| ApiError::Transport {
                request: request.clone(),
                reason: self.redact(&transport_reason(&e, attempt)),
            })?;
            if !(200..300).contains(&status) {
                return Err(ApiError::from_status(
                    request,
                    status,
                    &bytes,
                    self.secret(),
                ));
            }
            return serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode {
                request,
                reason: self.redact(&e.to_string()),
            });
        }
    }

    fn send_once(&self, url: &str, upload: Option<&Upload>) -> Result<(u16, Vec<u8>), ureq::Error> {
        let auth = self
            .config
            .token
            .as_ref()
            .map(|t| format!("Bearer {}", t.expose()));
        let response = match upload {
            None => {
                let mut builder = self.agent.get(url).header("Accept", "application/json");
                if let Some(auth) = &auth {
                    builder = builder.header("Authorization", auth);
                }
                builder.call()
            }
            Some(upload) => {
                let mut builder = self
                    .agent
                    .post(url)
                    .header("Accept", "application/json")
                    .header("Content-Type", &upload.content_type);
                if let Some(auth) = &auth {
                    builder = builder.header("Authorization", auth);
                }
                builder.send(&upload.bytes[..])
            }
        };
        let mut response = response?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()?;
        Ok((status, bytes))
    }

    fn secret(&self) -> Option<&str> {
        self.config.token.as_ref().map(|t| t.expose())
    }

    fn redact(&self, text: &str) -> String {
        match self.secret() {
            Some(secret) => text.replace(secret, "<redacted>"),
            None => text.to_string(),
        }
    }
}

/// Network failures that a later try may not meet; TLS, DNS and protocol errors are final.
fn is_transient(error: &ureq::Error) -> bool {
    match error {
        // rustls reports handshake and certificate failures as InvalidData.
        ureq::Error::Io(io) => io.kind() != std::io::ErrorKind::InvalidData,
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
        _ => false,
    }
}

fn transport_reason(error: &ureq::Error, attempts: u32) -> String {
    let tries = if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    };
    errors::one_line(&format!("{error}{tries}"))
}

/// `?a=b&c=d` with RFC 3986 percent-encoding; empty values are left out.
fn encode_query(query: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(key, value)| format!("{}={}", percent_encode(key), percent_encode(value)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Percent-encodes everything outside the RFC 3986 unreserved set.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Encodes one file part; the boundary is chosen so that it does not occur in the content.
fn encode_multipart(part: &FilePart<'_>) -> (String, Vec<u8>) {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut boundary = format!("kfp-rs-{seed:x}-{}", std::process::id());
    while contains(part.content, boundary.as_bytes()) {
        boundary.push('x');
    }
    let filename = part.filename.replace(['"', '\r', '\n'], "_");
    let mut bytes = Vec::with_capacity(part.content.len() + 256);
    bytes.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    bytes.extend_from_slice(
        format!(
            "Content-Disposition: form-data; name=\"{}\"; filename=\"{filename}\"\r\n",
            part.field
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    bytes.extend_from_slice(part.content);
    bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), bytes)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_percent_encoded_and_skips_empty_values() {
        assert_eq!(
            encode_query(&[("name", "my pipe/1"), ("namespace", ""), ("f", "{\"a\":1}")]),
            "?name=my%20pipe%2F1&f=%7B%22a%22%3A1%7D"
        );
        assert_eq!(encode_query(&[("namespace", "")]), "");
    }

    #[test]
    fn multipart_has_one_named_part_and_a_boundary_absent_from_the_content() {
        let part = FilePart {
            field: "uploadfile",
            filename: "p.yaml",
            content: b"a: 1\n",
        };
        let (content_type, bytes) = encode_multipart(&part);
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"p.yaml\"\r\n")));
        assert!(text.ends_with(&format!("\r\na: 1\n\r\n--{boundary}--\r\n")));
        assert_eq!(text.matches(boundary).count(), 2);
    }
}
