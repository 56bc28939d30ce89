//! Crate-wide component defaults from `[package.metadata.kfp]` in the user's Cargo.toml:
//! `image` (used by components that name none) and `binary` (the path of the user's binary
//! inside the image; default `/usr/local/bin/<package name>`).

use std::path::PathBuf;

pub struct CrateDefaults {
    pub image: Option<String>,
    pub binary: String,
    /// The manifest read, so the expansion can depend on it (`include_bytes!`) and rebuild.
    pub manifest: Option<PathBuf>,
}

pub fn load() -> Result<CrateDefaults, String> {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "app".into());
    let mut defaults =
        CrateDefaults { image: None, binary: format!("/usr/local/bin/{package}"), manifest: None };
    let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") else { return Ok(defaults) };
    let path = PathBuf::from(dir).join("Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&path) else { return Ok(defaults) };
    let manifest: toml::Table = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let kfp = manifest.get("package").and_then(|p| p.get("metadata")).and_then(|m| m.get("kfp"));
    if let Some(kfp) = kfp {
        let field = |name: &str| -> Result<Option<String>, String> {
            match kfp.get(name) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("{}: [package.metadata.kfp] {name} must be a string", path.display())),
            }
        };
        defaults.image = field("image")?;
        if let Some(binary) = field("binary")? {
            defaults.binary = binary;
        }
        defaults.manifest = Some(path);
    }
    Ok(defaults)
}
