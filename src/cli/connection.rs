//! Flags shared by the commands that talk to a KFP API server.

use kfp_client::output::Format;
use kfp_client::{Client, Config, ConnectionOptions};

#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// KFP API endpoint, e.g. http://localhost:8888 (default: $KF_PIPELINES_ENDPOINT).
    #[arg(long, global = true, value_name = "URL")]
    endpoint: Option<String>,
    /// Kubernetes namespace of a multi-user installation.
    #[arg(long, global = true)]
    namespace: Option<String>,
    /// Bearer token (default: the file named by $KF_PIPELINES_SA_TOKEN_PATH, then the in-cluster token).
    #[arg(long, global = true, value_name = "TOKEN")]
    existing_token: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum OutputFormat {
    Table,
    Json,
}

impl Connection {
    /// Resolves endpoint, namespace and token (flags, then environment, then in-cluster files).
    pub fn client(&self) -> anyhow::Result<Client> {
        let options = ConnectionOptions {
            endpoint: self.endpoint.clone(),
            namespace: self.namespace.clone(),
            existing_token: self.existing_token.clone(),
        };
        Ok(Client::new(Config::resolve(options)?))
    }

    pub fn format(&self) -> Format {
        match self.output {
            OutputFormat::Table => Format::Table,
            OutputFormat::Json => Format::Json,
        }
    }
}

/// Paging flags of the list commands (names as in the Python `kfp` CLI).
#[derive(clap::Args, Debug, Clone)]
pub struct ListFlags {
    /// Page size.
    #[arg(long, short = 'm', default_value_t = 100)]
    max_size: u32,
    /// Token of the page to fetch, as printed after a truncated listing.
    #[arg(long)]
    page_token: Option<String>,
    /// Sort order, e.g. "created_at desc".
    #[arg(long, default_value = "created_at desc")]
    sort_by: String,
    /// A JSON filter (backend/api/v2beta1/filter.proto), e.g. '{"predicates":[...]}'.
    #[arg(long)]
    filter: Option<String>,
}

impl ListFlags {
    pub fn options(&self) -> kfp_client::api::ListOptions {
        kfp_client::api::ListOptions {
            page_size: Some(self.max_size),
            page_token: self.page_token.clone(),
            sort_by: Some(self.sort_by.clone()),
            filter: self.filter.clone(),
        }
    }
}

/// Tells a person where the next page starts; scripts read `next_page_token` from JSON.
pub fn note_next_page(format: Format, next_page_token: Option<&str>) {
    if let (Format::Table, Some(token)) = (format, next_page_token.filter(|t| !t.is_empty())) {
        eprintln!("more results: pass --page-token {token}");
    }
}
