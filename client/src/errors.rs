//! One clear line per failure class of the KFP API.

/// A failed API call. `request` reads like `POST /apis/v2beta1/runs`; `detail` is the server's
/// own message (already on one line, token-free), prefixed with ": " when present.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(
        "{request}: authentication failed (401 Unauthorized){detail}; pass --existing-token or set KF_PIPELINES_SA_TOKEN_PATH"
    )]
    Unauthenticated { request: String, detail: String },
    #[error(
        "{request}: permission denied (403 Forbidden){detail}; check --namespace and the token's rights"
    )]
    PermissionDenied { request: String, detail: String },
    #[error("{request}: not found (404 Not Found){detail}")]
    NotFound { request: String, detail: String },
    #[error("{request}: name already taken (409 Conflict){detail}")]
    Conflict { request: String, detail: String },
    #[error("{request}: rejected as invalid (400 Bad Request){detail}")]
    BadRequest { request: String, detail: String },
    #[error("{request}: server error (HTTP {status}){detail}")]
    Server {
        request: String,
        status: u16,
        detail: String,
    },
    /// Redirects are not followed: they usually lead to a login page, and could carry the token away.
    #[error(
        "{request}: redirected (HTTP {status}), likely to a login page; pass --existing-token or point --endpoint at the API itself"
    )]
    Redirected { request: String, status: u16 },
    #[error("{request}: unexpected HTTP {status}{detail}")]
    UnexpectedStatus {
        request: String,
        status: u16,
        detail: String,
    },
    #[error("{request}: cannot reach the KFP API: {reason}")]
    Transport { request: String, reason: String },
    #[error("{request}: the response is not the expected JSON: {reason}")]
    Decode { request: String, reason: String },
}

impl ApiError {
    /// Maps a non-2xx response to its class; `body` is the raw response body.
    pub fn from_status(
        request: String,
        status: u16,
        body: &[u8],
        secret: Option<&str>,
    ) -> ApiError {
        let detail = server_message(body, secret)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        match status {
            400 => ApiError::BadRequest { request, detail },
            401 => ApiError::Unauthenticated { request, detail },
            403 => ApiError::PermissionDenied { request, detail },
            404 => ApiError::NotFound { request, detail },
            409 => ApiError::Conflict { request, detail },
            300..=399 => ApiError::Redirected { request, status },
            500..=599 => ApiError::Server {
                request,
                status,
                detail,
            },
            _ => ApiError::UnexpectedStatus {
                request,
                status,
                detail,
            },
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::BadRequest { .. } => Some(400),
            ApiError::Unauthenticated { .. } => Some(401),
            ApiError::PermissionDenied { .. } => Some(403),
            ApiError::NotFound { .. } => Some(404),
            ApiError::Conflict { .. } => Some(409),
            ApiError::Server { status, .. }
            | ApiError::UnexpectedStatus { status, .. }
            | ApiError::Redirected { status, .. } => Some(*status),
            ApiError::Transport { .. } | ApiError::Decode { .. } => None,
        }
    }
}

const MAX_MESSAGE_CHARS: usize = 300;

/// The server's message: `error_message` (upload handlers), `message` (grpc-gateway status,
/// googleRpcStatus in backend/api/v2beta1/swagger/*.swagger.json) or `error`; otherwise the
/// body itself when it is short text. Always one line, bounded, and with `secret` masked.
pub fn server_message(body: &[u8], secret: Option<&str>) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let message = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(json) => ["error_message", "message", "error"]
            .iter()
            .find_map(|key| {
                json.get(key)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.trim().is_empty())
            })
            .map(str::to_string)?,
        Err(_) if text.trim_start().starts_with('<') => return None, // an HTML error page says nothing useful
        Err(_) => text.into_owned(),
    };
    let one_line = one_line(&message);
    let masked = match secret {
        Some(secret) if !secret.is_empty() => one_line.replace(secret, "<redacted>"),
        _ => one_line,
    };
    (!masked.is_empty()).then_some(masked)
}

/// Collapses whitespace runs to single spaces and caps the length.
pub fn one_line(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= MAX_MESSAGE_CHARS {
        return collapsed;
    }
    let cut: String = collapsed.chars().take(MAX_MESSAGE_CHARS).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> String {
        "GET /apis/v2beta1/runs/r1".to_string()
    }

    #[test]
    fn status_classes_are_one_clear_line() {
        let body = br#"{"code": 5, "message": "run r1\nnot found", "details": []}"#;
        let err = ApiError::from_status(request(), 404, body, None);
        assert_eq!(
            err.to_string(),
            "GET /apis/v2beta1/runs/r1: not found (404 Not Found): run r1 not found"
        );
        assert_eq!(err.status(), Some(404));
        for (status, word) in [
            (400, "invalid"),
            (401, "authentication"),
            (403, "permission"),
            (409, "taken"),
            (503, "server error"),
            (302, "redirected"),
            (418, "unexpected"),
        ] {
            let text = ApiError::from_status(request(), status, b"", None).to_string();
            assert!(
                text.contains(word) && !text.contains('\n'),
                "{status}: {text}"
            );
        }
    }

    #[test]
    fn upload_error_body_and_plain_text_are_read() {
        let upload = br#"{"error_message":"Failed to read a pipeline spec file","error_details":"long trace"}"#;
        assert_eq!(
            server_message(upload, None).as_deref(),
            Some("Failed to read a pipeline spec file")
        );
        assert_eq!(
            server_message(b"namespace is required\n", None).as_deref(),
            Some("namespace is required")
        );
        assert_eq!(server_message(b"<html><body>502</body></html>", None), None);
        assert_eq!(server_message(b"", None), None);
    }

    #[test]
    fn secret_echoed_by_the_server_is_masked() {
        let body = br#"{"message": "bad token Bearer abc.def"}"#;
        assert_eq!(
            server_message(body, Some("abc.def")).as_deref(),
            Some("bad token Bearer <redacted>")
        );
    }

    #[test]
    fn long_messages_are_capped() {
        let long = "x".repeat(1000);
        assert_eq!(one_line(&long).chars().count(), MAX_MESSAGE_CHARS + 3);
    }
}
