//! Where the KFP API is and who we are: endpoint, namespace and bearer token, resolved with the
//! same precedence as the Python `kfp` client.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable naming the API endpoint when `--endpoint` is not given.
pub const ENDPOINT_ENV: &str = "KF_PIPELINES_ENDPOINT";
/// Environment variable naming a file that holds a service-account token.
pub const TOKEN_PATH_ENV: &str = "KF_PIPELINES_SA_TOKEN_PATH";
/// Where Kubeflow mounts the projected pipelines token inside a cluster pod.
pub const IN_CLUSTER_TOKEN_PATH: &str = "/var/run/secrets/kubeflow/pipelines/token";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no KFP endpoint: pass --endpoint or set {ENDPOINT_ENV}")]
    NoEndpoint,
    #[error("invalid KFP endpoint {endpoint:?}: {reason}")]
    BadEndpoint {
        endpoint: String,
        reason: &'static str,
    },
    #[error("cannot read the KFP token file {}: {cause}", path.display())]
    TokenFile {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the token from {origin} is {problem}")]
    BadToken {
        origin: String,
        problem: &'static str,
    },
}

/// A bearer token. Debug and Display print `<redacted>`, so it cannot leak through logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Trims surrounding whitespace (token files end with a newline) and rejects values that
    /// cannot travel in an HTTP header. `origin` names the source in the error, never the value.
    pub fn new(value: &str, origin: &str) -> Result<Token, ConfigError> {
        let trimmed = value.trim();
        let problem = if trimmed.is_empty() {
            Some("empty")
        } else if trimmed
            .bytes()
            .any(|b| b.is_ascii_control() || !b.is_ascii())
        {
            Some("not a printable ASCII string")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(ConfigError::BadToken {
                origin: origin.to_string(),
                problem,
            }),
            None => Ok(Token(trimmed.to_string())),
        }
    }

    /// The secret itself, for the Authorization header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Bounded exponential backoff for idempotent calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, the first one included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// Pause before retry number `retry` (1-based): initial * 2^(retry-1), capped.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Everything needed to talk to one KFP API server.
#[derive(Debug, Clone)]
pub struct Config {
    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    pub endpoint: String,
    /// Kubernetes namespace for multi-user installs.
    pub namespace: Option<String>,
    pub token: Option<Token>,
    pub retry: RetryPolicy,
    /// Upper bound for one HTTP exchange.
    pub timeout: Duration,
}

/// What the user said on the command line; the rest comes from the environment.
#[derive(Debug, Clone, Default)]
pub struct ConnectionOptions {
    pub endpoint: Option<String>,
    pub namespace: Option<String>,
    pub existing_token: Option<String>,
}

impl Config {
    /// A config for `endpoint` with no token, no namespace and default retries.
    pub fn new(endpoint: &str) -> Result<Config, ConfigError> {
        Ok(Config {
            endpoint: normalize_endpoint(endpoint)?,
            namespace: None,
            token: None,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(60),
        })
    }

    /// Resolves options against the process environment and the in-cluster token file.
    pub fn resolve(options: ConnectionOptions) -> Result<Config, ConfigError> {
        Config::resolve_with(
            options,
            |name| std::env::var(name).ok(),
            Path::new(IN_CLUSTER_TOKEN_PATH),
        )
    }

    /// Precedence: endpoint from the option, then `KF_PIPELINES_ENDPOINT`; token from the
    /// option, then the file named by `KF_PIPELINES_SA_TOKEN_PATH` (which must be readable when
    /// set), then the in-cluster file if it exists, else no token.
    pub fn resolve_with(
        options: ConnectionOptions,
        env: impl Fn(&str) -> Option<String>,
        in_cluster_token: &Path,
    ) -> Result<Config, ConfigError> {
        let endpoint = options
            .endpoint
            .or_else(|| env(ENDPOINT_ENV))
            .filter(|e| !e.trim().is_empty())
            .ok_or(ConfigError::NoEndpoint)?;
        let mut config = Config::new(&endpoint)?;
        config.namespace = options.namespace.filter(|n| !n.is_empty());
        config.token = if let Some(token) = options.existing_token {
            Some(Token::new(&token, "--existing-token")?)
        } else if let Some(path) = env(TOKEN_PATH_ENV).filter(|p| !p.is_empty()) {
            Some(read_token_file(Path::new(&path))?)
        } else if in_cluster_token.is_file() {
            Some(read_token_file(in_cluster_token)?)
        } else {
            None
        };
        Ok(config)
    }
}

fn read_token_file(path: &Path) -> Result<Token, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::TokenFile {
        path: path.to_path_buf(),
        cause,
    })?;
    Token::new(&text, &path.display().to_string())
}

/// Adds `https://` when no scheme is given (the Python client does the same) and drops
/// trailing slashes so paths can be appended.
fn normalize_endpoint(raw: &str) -> Result<String, ConfigError> {
    let bad = |reason| ConfigError::BadEndpoint {
        endpoint: raw.to_string(),
        reason,
    };
    let (scheme, rest) = raw
        .trim()
        .split_once("://")
        .unwrap_or(("https", raw.trim()));
    if scheme != "http" && scheme != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad("no host"));
    }
    let with_scheme = format!("{scheme}://{rest}");
    if with_scheme.contains(['?', '#', ' ']) {
        return Err(bad("must not contain a query, a fragment or spaces"));
    }
    Ok(with_scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn endpoint_flag_beats_environment_and_is_normalized() {
        let env = |name: &str| (name == ENDPOINT_ENV).then(|| "http://env:8888".to_string());
        let options = ConnectionOptions {
            endpoint: Some("kfp.example.com/".into()),
            ..Default::default()
        };
        let config = Config::resolve_with(options, env, Path::new("/nonexistent")).unwrap();
        assert_eq!(config.endpoint, "https://kfp.example.com");
        let config =
            Config::resolve_with(ConnectionOptions::default(), env, Path::new("/nonexistent"))
                .unwrap();
        assert_eq!(config.endpoint, "http://env:8888");
    }

    #[test]
    fn missing_or_bad_endpoint_is_an_error() {
        let err = Config::resolve_with(
            ConnectionOptions::default(),
            no_env,
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--endpoint"), "{err}");
        assert!(matches!(
            Config::new("ftp://x"),
            Err(ConfigError::BadEndpoint { .. })
        ));
        assert!(matches!(
            Config::new("http://"),
            Err(ConfigError::BadEndpoint { .. })
        ));
        assert!(matches!(
            Config::new("http://h/?a=b"),
            Err(ConfigError::BadEndpoint { .. })
        ));
    }

    #[test]
    fn token_precedence_flag_then_env_file_then_in_cluster() {
        let dir = std::env::temp_dir().join(format!("kfp-client-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let env_file = dir.join("env-token");
        let cluster_file = dir.join("cluster-token");
        std::fs::write(&env_file, "from-env-file\n").unwrap();
        std::fs::write(&cluster_file, "from-cluster\n").unwrap();
        let env_path = env_file.display().to_string();
        let env = |name: &str| match name {
            ENDPOINT_ENV => Some("http://h".to_string()),
            TOKEN_PATH_ENV => Some(env_path.clone()),
            _ => None,
        };
        let flag = ConnectionOptions {
            existing_token: Some("from-flag".into()),
            ..Default::default()
        };
        let token = |c: Config| c.token.map(|t| t.expose().to_string());
        assert_eq!(
            token(Config::resolve_with(flag, env, &cluster_file).unwrap()).as_deref(),
            Some("from-flag")
        );
        assert_eq!(
            token(Config::resolve_with(ConnectionOptions::default(), env, &cluster_file).unwrap())
                .as_deref(),
            Some("from-env-file")
        );
        let only_endpoint = |name: &str| (name == ENDPOINT_ENV).then(|| "http://h".to_string());
        assert_eq!(
            token(
                Config::resolve_with(ConnectionOptions::default(), only_endpoint, &cluster_file)
                    .unwrap()
            )
            .as_deref(),
            Some("from-cluster")
        );
        assert_eq!(
            token(
                Config::resolve_with(
                    ConnectionOptions::default(),
                    only_endpoint,
                    &dir.join("absent")
                )
                .unwrap()
            ),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_token_file_names_the_path() {
        let env = |name: &str| match name {
            ENDPOINT_ENV => Some("http://h".to_string()),
            TOKEN_PATH_ENV => Some("/nonexistent/kfp-token".to_string()),
            _ => None,
        };
        let err =
            Config::resolve_with(ConnectionOptions::default(), env, Path::new("/nonexistent"))
                .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/kfp-token"), "{err}");
    }

    #[test]
    fn token_is_redacted_and_validated() {
        let token = Token::new(" s3cr3t\n", "test").unwrap();
        assert_eq!(token.expose(), "s3cr3t");
        assert!(!format!("{token:?} {token}").contains("s3cr3t"));
        let err = Token::new("hunter\n2", "test").unwrap_err();
        assert!(!err.to_string().contains("hunter"), "{err}");
        assert!(matches!(
            Token::new("  ", "test"),
            Err(ConfigError::BadToken { .. })
        ));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.backoff(1), Duration::from_millis(250));
        assert_eq!(policy.backoff(2), Duration::from_millis(500));
        assert_eq!(policy.backoff(10), Duration::from_secs(4));
    }
}
